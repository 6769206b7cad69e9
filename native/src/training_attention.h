// Attention with autograd on the CPU for Debian's libtorch 1.13 (see training_attention.cc).
#pragma once
#include <ATen/ATen.h>

#include "blas.h"
#include "cpu_kernels.h"

#if defined(KOCLIP_HEAD_GEMMS) && defined(KOCLIP_AVX512_KERNELS)
#define KOCLIP_TRAINING_ATTENTION 1

namespace koclip {

// Whether TrainingAttention takes these operands: float32 on the CPU, q/k/v [B, H, T, D] with
// contiguous rows, at least one of them requiring grad, a mask (if any) that does not.
bool UseTrainingAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                          const c10::optional<at::Tensor>& mask);

// softmax(q kᵀ · scale + mask) v, differentiable in q, k and v: [B, H, Tq, Dv], a transposed view
// of a [B, Tq, H, Dv] buffer. Not twice differentiable.
at::Tensor TrainingAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                             const c10::optional<at::Tensor>& mask, bool isCausal, double scale);

}  // namespace koclip

#endif
