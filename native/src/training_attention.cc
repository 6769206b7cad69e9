// Attention for training on the CPU, forward and backward, one head at a time from a parallel
// loop over batch×heads. Debian's libtorch 1.13 composes it from bmm, which runs the heads' small
// products one after another on one core, and from softmax and its backward as separate passes
// over every head's scores: at the koclip-emoji shapes (batch 256, 65 tokens, 3 heads of 64) the
// bmm calls alone were 12% of a training step in PyTorch's profile. Here each head's products go
// to BLAS (single-threaded inside the loop), the mask and softmax run on the head's scores while
// they are in cache, and the gradients are written in the [B, T, H, D] layout the heads were
// split from, so merging them back needs no copy.
//
//   forward:   P = softmax(scale·Q Kᵀ + mask),  O = P V          (P is kept for the backward)
//   backward:  dV = Pᵀ dO,  dS = P ⊙ (dO Vᵀ − rowsum(P ⊙ dO Vᵀ)),  dQ = scale·dS K,  dK = scale·dSᵀ Q
#include "training_attention.h"

#if defined(KOCLIP_TRAINING_ATTENTION)
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <climits>
#include <vector>

#include "head_mask.h"

namespace koclip {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

bool RowsFit(const at::Tensor& t) {
  return t.dim() == 4 && t.device().is_cpu() && t.scalar_type() == at::kFloat && FitsHeadGemms(t);
}

// Pointer to head (b, h) of a [B, H, T, D] operand.
template <typename T>
T* Head(const at::Tensor& t, int64_t b, int64_t h) {
  return t.data_ptr<T>() + b * t.stride(0) + h * t.stride(1);
}

// A [B, T, H, D] buffer seen as [B, H, T, D]: what the heads are split from and merged into.
at::Tensor HeadsBuffer(int64_t batch, int64_t heads, int64_t t, int64_t d, const at::TensorOptions& options) {
  return at::empty({batch, t, heads, d}, options).transpose(1, 2);
}

struct AttentionFunction : public torch::autograd::Function<AttentionFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const c10::optional<at::Tensor>& mask, bool isCausal, double scale) {
    const int64_t batch = q.size(0), heads = q.size(1);
    const int tq = static_cast<int>(q.size(2)), tk = static_cast<int>(k.size(2));
    const int d = static_cast<int>(q.size(3)), dv = static_cast<int>(v.size(3));
    at::Tensor fullMask;  // [B, H, Tq, Tk] view, stride 0 where broadcast
    if (mask.has_value() && mask->defined()) fullMask = mask->expand({batch, heads, tq, tk});
    auto probs = at::empty({batch, heads, tq, tk}, q.options());
    auto out = HeadsBuffer(batch, heads, tq, dv, v.options());
    at::parallel_for(0, batch * heads, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const int64_t b = i / heads, h = i % heads;
        float* p = probs.data_ptr<float>() + i * tq * tk;
        RowMajorGemm(false, true, tq, tk, d, static_cast<float>(scale), Head<float>(q, b, h), static_cast<int>(RowStride(q)),
                     Head<float>(k, b, h), static_cast<int>(RowStride(k)), 0.0f, p, tk);
        avx512::SoftmaxRows(p, tq, tk, HeadMaskAt(fullMask, b, h), isCausal);
        RowMajorGemm(false, false, tq, dv, tk, 1.0f, p, tk, Head<float>(v, b, h), static_cast<int>(RowStride(v)), 0.0f,
                     Head<float>(out, b, h), static_cast<int>(RowStride(out)));
      }
    });
    ctx->save_for_backward({q, k, v, probs});
    ctx->saved_data["scale"] = scale;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &probs = saved[3];
    const float scale = static_cast<float>(ctx->saved_data["scale"].toDouble());
    at::Tensor gradOut = grads[0];
    if (!RowsFit(gradOut)) gradOut = gradOut.contiguous();
    const int64_t batch = q.size(0), heads = q.size(1);
    const int tq = static_cast<int>(q.size(2)), tk = static_cast<int>(k.size(2));
    const int d = static_cast<int>(q.size(3)), dv = static_cast<int>(v.size(3));
    auto gradQ = HeadsBuffer(batch, heads, tq, d, q.options());
    auto gradK = HeadsBuffer(batch, heads, tk, d, k.options());
    auto gradV = HeadsBuffer(batch, heads, tk, dv, v.options());
    at::parallel_for(0, batch * heads, 1, [&](int64_t begin, int64_t end) {
      thread_local std::vector<float> gradScores;
      gradScores.resize(static_cast<size_t>(tq) * tk);
      float* ds = gradScores.data();
      for (int64_t i = begin; i < end; ++i) {
        const int64_t b = i / heads, h = i % heads;
        const float* p = probs.data_ptr<float>() + i * tq * tk;
        const float* dOut = Head<float>(gradOut, b, h);
        const int dOutRow = static_cast<int>(RowStride(gradOut));
        RowMajorGemm(true, false, tk, dv, tq, 1.0f, p, tk, dOut, dOutRow, 0.0f, Head<float>(gradV, b, h),
                     static_cast<int>(RowStride(gradV)));
        RowMajorGemm(false, true, tq, tk, dv, 1.0f, dOut, dOutRow, Head<float>(v, b, h), static_cast<int>(RowStride(v)),
                     0.0f, ds, tk);
        avx512::SoftmaxBackwardRows(p, ds, tq, tk);
        RowMajorGemm(false, false, tq, d, tk, scale, ds, tk, Head<float>(k, b, h), static_cast<int>(RowStride(k)), 0.0f,
                     Head<float>(gradQ, b, h), static_cast<int>(RowStride(gradQ)));
        RowMajorGemm(true, false, tk, d, tq, scale, ds, tk, Head<float>(q, b, h), static_cast<int>(RowStride(q)), 0.0f,
                     Head<float>(gradK, b, h), static_cast<int>(RowStride(gradK)));
      }
    });
    // One gradient per forward input: q, k, v, then none for the mask, causality and scale.
    return {gradQ, gradK, gradV, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

bool UseTrainingAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                          const c10::optional<at::Tensor>& mask) {
  if (!avx512::Available()) return false;
  if (!(q.requires_grad() || k.requires_grad() || v.requires_grad())) return false;
  if (!RowsFit(q) || !RowsFit(k) || !RowsFit(v)) return false;
  if (mask.has_value() && mask->defined() &&
      (mask->requires_grad() || !mask->device().is_cpu() || (mask->scalar_type() != at::kBool && mask->scalar_type() != at::kFloat) ||
       mask->dim() > 4 || std::abs(mask->stride(-1)) > INT32_MAX / 16)) {
    return false;
  }
  return q.size(0) == k.size(0) && q.size(0) == v.size(0) && q.size(1) == k.size(1) && q.size(1) == v.size(1) &&
         q.size(3) == k.size(3) && k.size(2) == v.size(2) && q.size(1) * std::max(q.size(3), v.size(3)) <= INT32_MAX &&
         q.size(2) * k.size(2) <= INT32_MAX;
}

at::Tensor TrainingAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                             const c10::optional<at::Tensor>& mask, bool isCausal, double scale) {
  return AttentionFunction::apply(q, k, v, mask, isCausal, scale);
}

}  // namespace koclip

#endif
