// Float32 Linear layers on oneDNN's matmul, forward and backward (Debian's libtorch 1.13 with
// libdnnl-dev's headers: KOCLIP_ONEDNN, as onednn_int8.h).
//
// Why: libtorch 1.13 runs y = x Wᵀ + b and its gradients on OpenBLAS 0.3.21's sgemm, whose
// packing of both operands on every call weighs on the narrow shapes of these models. oneDNN's
// brgemm kernels ran the same products 1.04–1.43× faster on AVX-512 (ViT-B/32's 800×768·768×3072
// 1.04×, its 800×3072·3072×768 1.23×; the koclip-emoji training shapes, 16,640 rows of width 192
// and 768, 1.1–1.4× in all three of forward, input gradient and weight gradient; docs/bench.md).
#pragma once
#include <ATen/ATen.h>

namespace koclip::onednn {

// Whether FloatLinear takes these operands: this build calls oneDNN (KOCLIP_ONEDNN), CPU float32
// throughout, autocast off (under it libtorch's own bfloat16 route runs), weight [out, in] with
// unit column stride, bias [out] or undefined, x [..., in] not empty; KOCLIP_ONEDNN_LINEAR is
// not "0" (checked once; the variable is there to compare both routes).
bool UseFloatLinear(const at::Tensor& x, const at::Tensor& weight, const c10::optional<at::Tensor>& bias);

// x Wᵀ + b, differentiable in all three when autograd asks (not twice).
at::Tensor FloatLinear(const at::Tensor& x, const at::Tensor& weight, const c10::optional<at::Tensor>& bias);

}  // namespace koclip::onednn
