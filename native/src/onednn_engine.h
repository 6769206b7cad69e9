// The one oneDNN CPU engine the addon's direct oneDNN calls share (onednn_int8.cc,
// onednn_linear.cc). Only where this build calls oneDNN (KOCLIP_ONEDNN).
#pragma once

#if KOCLIP_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>

namespace koclip::onednn {

inline dnnl::engine& CpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

}  // namespace koclip::onednn
#endif
