// Ops whose libtorch form differs between the versions we build against (Debian's 1.13, pip 2.x).
#pragma once
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/version.h>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>

#include "blas.h"
#include "cpu_kernels.h"
#include "gelu.h"
#include "head_mask.h"
#include "onednn_linear.h"
#include "training_attention.h"

namespace koclip {

#if defined(KOCLIP_HEAD_GEMMS)
// 1.13's bmm on the CPU runs one BLAS call after another, one per batch×head, each too small for
// BLAS to share between threads: ViT-B/32's 50×64 heads used one core, and attention took 5.6 ms
// of a 53 ms layer at batch 16. Without autograd, the heads' products go to BLAS directly from a
// parallel loop instead (BLAS stays single-threaded inside it), with the masks and the softmax
// as one op over all heads between them: the same products, the same numbers.
inline bool UsePerHeadAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                const c10::optional<at::Tensor>& mask) {
  const bool maskNeedsGrad = mask.has_value() && mask->defined() && mask->requires_grad();
  return q.dim() == 4 && k.dim() == 4 && v.dim() == 4 && q.device().is_cpu() && q.scalar_type() == at::kFloat &&
         k.scalar_type() == at::kFloat && v.scalar_type() == at::kFloat &&
         !q.requires_grad() && !k.requires_grad() && !v.requires_grad() && !maskNeedsGrad &&
         q.size(0) == k.size(0) && q.size(0) == v.size(0) && q.size(1) == k.size(1) && q.size(1) == v.size(1) &&
         q.size(3) == k.size(3) && k.size(2) == v.size(2) && FitsHeadGemms(q) && FitsHeadGemms(k) && FitsHeadGemms(v) &&
         q.size(1) * v.size(3) <= INT32_MAX;
}

// q [B, H, Tq, D], k [B, H, Tk, D], v [B, H, Tk, Dv] → [B, H, Tq, Dv] (a transposed view of a
// [B, Tq, H, Dv] buffer, so merging the heads afterwards needs no copy).
inline at::Tensor PerHeadAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                   const c10::optional<at::Tensor>& mask, bool isCausal, double scale) {
  const int64_t batch = q.size(0), heads = q.size(1);
  const int tq = static_cast<int>(q.size(2)), tk = static_cast<int>(k.size(2));
  const int d = static_cast<int>(q.size(3)), dv = static_cast<int>(v.size(3));
  const float* qData = q.data_ptr<float>();
  const float* kData = k.data_ptr<float>();
  const float* vData = v.data_ptr<float>();
  auto scores = at::empty({batch, heads, tq, tk}, q.options());
  float* sData = scores.data_ptr<float>();
  at::parallel_for(0, batch * heads, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t b = i / heads, h = i % heads;
      RowMajorGemm(false, true, tq, tk, d, static_cast<float>(scale), qData + b * q.stride(0) + h * q.stride(1),
                   static_cast<int>(RowStride(q)), kData + b * k.stride(0) + h * k.stride(1),
                   static_cast<int>(RowStride(k)), 0.0f, sData + i * tq * tk, tk);
    }
  });
  if (isCausal) {
    scores.masked_fill_(at::ones({tq, tk}, q.options().dtype(at::kBool)).triu(1), -std::numeric_limits<double>::infinity());
  }
  if (mask.has_value() && mask->defined()) {
    if (mask->scalar_type() == at::kBool) scores.masked_fill_(mask->logical_not(), -std::numeric_limits<double>::infinity());
    else scores.add_(*mask);
  }
  const auto probs = at::softmax(scores, -1);
  const float* pData = probs.data_ptr<float>();
  auto out = at::empty({batch, tq, heads, dv}, v.options());
  float* oData = out.data_ptr<float>();
  at::parallel_for(0, batch * heads, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t b = i / heads, h = i % heads;
      RowMajorGemm(false, false, tq, dv, tk, 1.0f, pData + i * tq * tk, tk, vData + b * v.stride(0) + h * v.stride(1),
                   static_cast<int>(RowStride(v)), 0.0f, oData + (b * tq * heads + h) * dv, static_cast<int>(heads * dv));
    }
  });
  return out.transpose(1, 2);
}
#endif

#if defined(KOCLIP_AVX512_KERNELS) && !(TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1))
// Inference attention in one pass per head (avx512::AttendHead): scores, softmax and the weighted
// values of a query row stay in registers and L1, where the per-head BLAS route wrote every
// head's scores and probabilities to memory between three passes (ViT-B/32 at batch 16: 2.0 ms
// a layer). Float32 on the CPU without autograd, at most kMaxKeys keys, value heads a multiple
// of 16 wide, a boolean or float32 mask.
inline bool UseFusedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                              const c10::optional<at::Tensor>& mask) {
  if (!avx512::Available()) return false;
  const auto rowsFit = [](const at::Tensor& t) {
    return t.dim() == 4 && t.device().is_cpu() && t.scalar_type() == at::kFloat && !t.requires_grad() &&
           t.numel() > 0 && t.stride(3) == 1;
  };
  if (!rowsFit(q) || !rowsFit(k) || !rowsFit(v)) return false;
  if (mask.has_value() && mask->defined() &&
      (mask->requires_grad() || !mask->device().is_cpu() || (mask->scalar_type() != at::kBool && mask->scalar_type() != at::kFloat))) {
    return false;
  }
  return q.size(0) == k.size(0) && q.size(0) == v.size(0) && q.size(1) == k.size(1) && q.size(1) == v.size(1) &&
         q.size(3) == k.size(3) && k.size(2) == v.size(2) && k.size(2) <= avx512::kMaxKeys && v.size(3) % 16 == 0 &&
         (!mask.has_value() || !mask->defined() || mask->dim() == 0 || std::abs(mask->stride(-1)) <= INT32_MAX / 16) &&
         q.size(3) <= INT32_MAX && q.size(2) <= INT32_MAX && v.size(3) <= INT32_MAX;
}

// q [B, H, Tq, D], k [B, H, Tk, D], v [B, H, Tk, Dv] → [B, H, Tq, Dv] (a transposed view of a
// [B, Tq, H, Dv] buffer, so merging the heads afterwards needs no copy).
inline at::Tensor FusedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                 const c10::optional<at::Tensor>& mask, bool isCausal, double scale) {
  const int64_t batch = q.size(0), heads = q.size(1);
  const int tq = static_cast<int>(q.size(2)), tk = static_cast<int>(k.size(2));
  const int d = static_cast<int>(q.size(3)), dv = static_cast<int>(v.size(3));
  at::Tensor fullMask;  // the mask as a [B, H, Tq, Tk] view (broadcast dimensions have stride 0)
  if (mask.has_value() && mask->defined()) fullMask = mask->expand({batch, heads, tq, tk});
  auto out = at::empty({batch, tq, heads, dv}, v.options());
  const float* qData = q.data_ptr<float>();
  const float* kData = k.data_ptr<float>();
  const float* vData = v.data_ptr<float>();
  float* oData = out.data_ptr<float>();
  at::parallel_for(0, batch * heads, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t b = i / heads, h = i % heads;
      avx512::AttendHead(qData + b * q.stride(0) + h * q.stride(1), q.stride(2), kData + b * k.stride(0) + h * k.stride(1),
                         k.stride(2), vData + b * v.stride(0) + h * v.stride(1), v.stride(2),
                         oData + (b * tq * heads + h) * dv, heads * dv, tq, tk, d, dv, static_cast<float>(scale),
                         HeadMaskAt(fullMask, b, h), isCausal);
    }
  });
  return out.transpose(1, 2);
}
#endif

// y = x Wᵀ + b: float32 on oneDNN where this build calls it (onednn_linear.h), else libtorch's.
inline at::Tensor Linear(const at::Tensor& x, const at::Tensor& weight, const c10::optional<at::Tensor>& bias) {
  if (onednn::UseFloatLinear(x, weight, bias)) return onednn::FloatLinear(x, weight, bias);
  return at::linear(x, weight, bias);
}

// x·σ(1.702x) in place (OpenAI CLIP's quick_gelu): one vectorised pass where
// silu(1.702x)/1.702 made three (ViT-B/32 at batch 16: 1.4 → 0.5 ms a layer). Not on a
// tensor autograd tracks: the kernel writes the data directly, which autograd would not see
// (there the composed in-place ops run, which it does see).
inline void QuickGeluInPlace(at::Tensor self) {
#if defined(KOCLIP_AVX512_KERNELS)
  if (avx512::Available() && self.device().is_cpu() && self.scalar_type() == at::kFloat && self.is_contiguous() &&
      !(self.requires_grad() && at::GradMode::is_enabled())) {
    float* data = self.data_ptr<float>();
    at::parallel_for(0, self.numel(), 16384, [&](int64_t begin, int64_t end) { avx512::QuickGeluInPlace(data + begin, end - begin); });
    return;
  }
#endif
  self.mul_(1.702);
  at::silu_(self);
  self.mul_(1 / 1.702);
}

// at::silu_ is a function-only op taking a mutable reference; the binding holds tensors as const
// references to shared handles, so it updates the tensor through a copy of it (GeluInPlace too, gelu.h).
inline void SiluInPlace(at::Tensor self) { at::silu_(self); }

// Attention as torch.nn.functional.scaled_dot_product_attention defines it. libtorch >= 2.1 has
// the fused kernel (flash / memory-efficient on CUDA); 1.13 gets the same maths composed.
// A boolean mask marks positions that may be attended to; a float mask is added to the scores.
inline at::Tensor ScaledDotProductAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                            const c10::optional<at::Tensor>& mask, double dropoutP, bool isCausal,
                                            c10::optional<double> scale) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  return at::scaled_dot_product_attention(q, k, v, mask, dropoutP, isCausal, scale);
#else
  const double s = scale.has_value() ? *scale : 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
#if defined(KOCLIP_TRAINING_ATTENTION)
  if (dropoutP == 0 && at::GradMode::is_enabled() && UseTrainingAttention(q, k, v, mask)) {
    return TrainingAttention(q, k, v, mask, isCausal, s);
  }
#endif
#if defined(KOCLIP_AVX512_KERNELS)
  if (dropoutP == 0 && UseFusedAttention(q, k, v, mask)) return FusedAttention(q, k, v, mask, isCausal, s);
#endif
#if defined(KOCLIP_OPENMP_BLAS)
  if (UsePerHeadAttention(q, k, v, mask)) return PerHeadAttention(q, k, v, mask, isCausal, s);
#endif
  auto scores = at::matmul(q, k.transpose(-2, -1)).mul(s);  // [..., Tq, Tk]
  if (isCausal) {
    auto keep = at::ones({q.size(-2), k.size(-2)}, q.options().dtype(at::kBool)).tril();
    scores = scores.masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity());
  }
  if (mask.has_value() && mask->defined()) {
    if (mask->scalar_type() == at::kBool) {
      scores = scores.masked_fill(mask->logical_not(), -std::numeric_limits<double>::infinity());
    } else {
      scores = scores.add(*mask);
    }
  }
  auto probs = at::softmax(scores, -1);
  if (dropoutP > 0) probs = at::dropout(probs, dropoutP, true);
  return at::matmul(probs, v);
#endif
}

}  // namespace koclip
