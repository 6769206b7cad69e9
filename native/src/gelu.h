// GELU with erf on the addon's AVX-512 loops, forward and backward (see gelu.cc).
#pragma once
#include <ATen/ATen.h>

#include <string>

namespace koclip {

// GELU as at::gelu defines it; "none" (erf) on CPU float32 or bfloat16 contiguous tensors runs the addon's
// loops where the CPU has AVX-512, differentiable when autograd tracks `self` (not twice).
at::Tensor Gelu(const at::Tensor& self, const std::string& approximate);

// The same in place, for a fresh intermediate that autograd does not track.
void GeluInPlace(at::Tensor self, const std::string& approximate);

}  // namespace koclip
