// GELU with erf (BERT's and RoBERTa's "gelu"), forward and backward in one AVX-512 pass each,
// on float32 and on bfloat16 (what it gets under bf16 autocast, computed in float32 per lane).
// Debian's libtorch 1.13 has AVX2 kernels at most: at the koclip-emoji training shapes (16,640
// rows of 768) its gelu and gelu_backward were 7.5% of a training step in PyTorch's profile.
#include "gelu.h"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/custom_function.h>

#include "cpu_kernels.h"

namespace koclip {
namespace {

constexpr int64_t kGrain = 16384;

bool UseKernel(const at::Tensor& t, const std::string& approximate) {
#if defined(KOCLIP_AVX512_KERNELS)
  return approximate == "none" && avx512::Available() && t.device().is_cpu() &&
         (t.scalar_type() == at::kFloat || t.scalar_type() == at::kBFloat16) && t.is_contiguous();
#else
  return false;
#endif
}

#if defined(KOCLIP_AVX512_KERNELS)
// bfloat16 data as the kernels take it.
const uint16_t* Bf16Bits(const at::Tensor& t) { return reinterpret_cast<const uint16_t*>(t.data_ptr<at::BFloat16>()); }
uint16_t* Bf16Bits(at::Tensor& t) { return reinterpret_cast<uint16_t*>(t.data_ptr<at::BFloat16>()); }

at::Tensor Forward(const at::Tensor& x, at::Tensor out) {
  if (x.scalar_type() == at::kBFloat16) {
    const uint16_t* in = Bf16Bits(x);
    uint16_t* o = Bf16Bits(out);
    at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) { avx512::GeluBf16(in + begin, o + begin, end - begin); });
    return out;
  }
  const float* in = x.data_ptr<float>();
  float* o = out.data_ptr<float>();
  at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) { avx512::Gelu(in + begin, o + begin, end - begin); });
  return out;
}

struct GeluFunction : public torch::autograd::Function<GeluFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x) {
    ctx->save_for_backward({x});
    return Forward(x, at::empty_like(x));
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto x = ctx->get_saved_variables()[0];
    const auto grad = grads[0].to(x.scalar_type()).contiguous();
    auto out = at::empty_like(x);
    if (x.scalar_type() == at::kBFloat16) {
      const uint16_t* xs = Bf16Bits(x);
      const uint16_t* g = Bf16Bits(grad);
      uint16_t* o = Bf16Bits(out);
      at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) { avx512::GeluBackwardBf16(xs + begin, g + begin, o + begin, end - begin); });
      return {out};
    }
    const float* xs = x.data_ptr<float>();
    const float* g = grad.data_ptr<float>();
    float* o = out.data_ptr<float>();
    at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) { avx512::GeluBackward(xs + begin, g + begin, o + begin, end - begin); });
    return {out};
  }
};
#endif

}  // namespace

at::Tensor Gelu(const at::Tensor& self, const std::string& approximate) {
#if defined(KOCLIP_AVX512_KERNELS)
  if (UseKernel(self, approximate)) {
    if (self.requires_grad() && at::GradMode::is_enabled()) return GeluFunction::apply(self);
    return Forward(self, at::empty_like(self));
  }
#endif
  return at::gelu(self, approximate);
}

void GeluInPlace(at::Tensor self, const std::string& approximate) {
#if defined(KOCLIP_AVX512_KERNELS)
  // The kernel writes the data directly, which autograd would not see.
  if (UseKernel(self, approximate) && !(self.requires_grad() && at::GradMode::is_enabled())) {
    Forward(self, self);
    return;
  }
#endif
  at::gelu_(self, approximate);
}

}  // namespace koclip
