// Dynamically quantised int8 Linear layers called straight on oneDNN (Debian's libtorch 1.13 links
// the system libdnnl.so.2; built only when its headers, libdnnl-dev, are installed: KOCLIP_ONEDNN).
//
// Why not libtorch's quantized::linear_dynamic on its oneDNN engine: it bakes each call's
// activation scale and zero point into the oneDNN primitives it creates, so every input with a
// new range (every new image or text) creates and JIT-compiles its GEMM and reorder again, 0.2–0.7
// ms a layer (ViT-B/32 int8 at batch 16: about 20 of 185 ms). Repeating one input hid this: the
// primitive cache then hits. Here the scales and zero point are runtime arguments, so one
// primitive per layer and row count serves every input; and activations are quantised per row.
#pragma once
#include <ATen/ATen.h>

#include <memory>

namespace koclip::onednn {

struct Int8Linear;

// Whether this build calls oneDNN directly (KOCLIP_ONEDNN); otherwise Pack throws.
bool Available();

// weight [out, in] float32 contiguous, scales [out] float32 (one per output channel, chosen by
// the caller: quantized.cc), bias [out] float or undefined: symmetric int8 weights, round(w / scale).
std::shared_ptr<Int8Linear> Pack(const at::Tensor& weight, const at::Tensor& scales, const at::Tensor& bias);

// x [..., in] float32 -> [..., out] float32. Each row of activations (a token, a patch) is
// quantised to uint8 from its own min/max (0 always representable), as linear_dynamic quantises
// a whole tensor without reduce_range. Per row, an output's error is the 8-bit rounding floor of
// that row rather than of the tensor's widest one (a [512, 1024] · [1024, 1024] layer on Gaussian
// inputs: 1.08% against 1.31% per tensor), and the GEMM needs no zero point: the rows' zero
// points are taken out afterwards with the weights' column sums, in the same pass that applies
// the rows' scales and the bias.
at::Tensor Forward(Int8Linear& layer, const at::Tensor& x);

}  // namespace koclip::onednn
