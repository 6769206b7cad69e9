// An attention mask, expanded to [B, H, Tq, Tk] (broadcast dimensions with stride 0), as the
// per-head kernels take it: the inference kernel (composite.h) and training's softmax
// (training_attention.cc).
#pragma once
#include <ATen/ATen.h>

#include "cpu_kernels.h"

#if defined(KOCLIP_AVX512_KERNELS)
namespace koclip {

// Head (b, h) of `fullMask` (undefined: no mask).
inline avx512::HeadMask HeadMaskAt(const at::Tensor& fullMask, int64_t b, int64_t h) {
  avx512::HeadMask headMask;
  if (fullMask.defined()) {
    const int64_t offset = b * fullMask.stride(0) + h * fullMask.stride(1);
    if (fullMask.scalar_type() == at::kBool) headMask.allowed = fullMask.data_ptr<bool>() + offset;
    else headMask.additive = fullMask.data_ptr<float>() + offset;
    headMask.rowStride = fullMask.stride(2);
    headMask.keyStride = fullMask.stride(3);
  }
  return headMask;
}

}  // namespace koclip
#endif
