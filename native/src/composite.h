// Ops whose libtorch form differs between the versions we build against (Debian's 1.13, pip 2.x).
#pragma once
#include <ATen/ATen.h>
#include <torch/version.h>
#include <cmath>

namespace koclip {

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
