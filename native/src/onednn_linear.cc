// See onednn_linear.h. Compiled empty unless KOCLIP_ONEDNN.
#include "onednn_linear.h"

#if KOCLIP_ONEDNN
#include <ATen/autocast_mode.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <array>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "onednn_engine.h"
#endif

namespace koclip::onednn {

#if KOCLIP_ONEDNN

namespace {

using dt = dnnl::memory::data_type;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// A product C[m×n] = A[m×k]·B[k×n] (+ bias[n]), each operand with its own row and column strides,
// so that transposed operands (Wᵀ, dYᵀ) are read in place.
struct Product {
  int64_t m, k, n;
  std::array<int64_t, 2> aStrides, bStrides;
  bool bias;
  auto Key() const { return std::make_tuple(m, k, n, aStrides[0], aStrides[1], bStrides[0], bStrides[1], bias); }
};

// Primitives by product: a training step or a model's forward uses a few dozen shapes, built once
// each (a primitive's creation costs tens of microseconds; its run, milliseconds). Texts come in
// many lengths, so the map is emptied when it reaches kMaxShapes.
constexpr size_t kMaxShapes = 256;
std::mutex primitivesMutex;
std::map<decltype(std::declval<Product>().Key()), dnnl::matmul> primitives;

dnnl::memory::desc Desc(int64_t rows, int64_t cols, const std::array<int64_t, 2>& strides) {
  return dnnl::memory::desc({rows, cols}, dt::f32, dnnl::memory::dims{strides[0], strides[1]});
}

dnnl::matmul PrimitiveFor(const Product& p) {
  std::lock_guard<std::mutex> lock(primitivesMutex);
  auto found = primitives.find(p.Key());
  if (found != primitives.end()) return found->second;
  if (primitives.size() >= kMaxShapes) primitives.clear();
  const auto src = Desc(p.m, p.k, p.aStrides), weights = Desc(p.k, p.n, p.bStrides), dst = Desc(p.m, p.n, {p.n, 1});
  auto desc = p.bias ? dnnl::matmul::desc(src, weights, Desc(1, p.n, {p.n, 1}), dst) : dnnl::matmul::desc(src, weights, dst);
  dnnl::matmul made(dnnl::matmul::primitive_desc(desc, CpuEngine()));
  primitives.emplace(p.Key(), made);
  return made;
}

// out [m, n] (contiguous) = a · b (+ bias).
void Run(const Product& p, const float* a, const float* b, const float* bias, float* out) {
  auto& engine = CpuEngine();
  auto matmul = PrimitiveFor(p);
  dnnl::stream stream(engine);
  std::unordered_map<int, dnnl::memory> args = {
      {DNNL_ARG_SRC, dnnl::memory(Desc(p.m, p.k, p.aStrides), engine, const_cast<float*>(a))},
      {DNNL_ARG_WEIGHTS, dnnl::memory(Desc(p.k, p.n, p.bStrides), engine, const_cast<float*>(b))},
      {DNNL_ARG_DST, dnnl::memory(Desc(p.m, p.n, {p.n, 1}), engine, out)},
  };
  if (p.bias) args.emplace(DNNL_ARG_BIAS, dnnl::memory(Desc(1, p.n, {p.n, 1}), engine, const_cast<float*>(bias)));
  matmul.execute(stream, args);
  stream.wait();
}

// x [..., in] as [rows, in] with unit column stride (a view where possible).
at::Tensor Rows(const at::Tensor& x) {
  auto rows = x.reshape({-1, x.size(-1)});
  return rows.stride(1) == 1 && rows.stride(0) >= rows.size(1) ? rows : rows.contiguous();
}

at::Tensor Forward(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  const auto rows = Rows(x);
  const int64_t m = rows.size(0), k = rows.size(1), n = weight.size(0);
  auto outShape = x.sizes().vec();
  outShape.back() = n;
  auto y = at::empty({m, n}, x.options());
  // B = Wᵀ [in, out]: element (i, j) is W[j, i].
  Run({m, k, n, {rows.stride(0), 1}, {1, weight.stride(0)}, bias.defined()}, rows.data_ptr<float>(), weight.data_ptr<float>(),
      bias.defined() ? bias.data_ptr<float>() : nullptr, y.data_ptr<float>());
  return y.view(outShape);
}

struct LinearFunction : public torch::autograd::Function<LinearFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight, const c10::optional<at::Tensor>& bias) {
    ctx->save_for_backward({x, weight});
    ctx->saved_data["bias"] = bias.has_value() && bias->defined();
    return Forward(x, weight, bias.has_value() ? *bias : at::Tensor());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &weight = saved[1];
    const auto gradRows = Rows(grads[0]);  // dY [m, n]
    const int64_t m = gradRows.size(0), n = gradRows.size(1), k = weight.size(1);
    at::Tensor gradX, gradWeight, gradBias;
    if (ctx->needs_input_grad(0)) {  // dX [m, k] = dY · W
      gradX = at::empty({m, k}, x.options());
      Run({m, n, k, {gradRows.stride(0), 1}, {weight.stride(0), 1}, false}, gradRows.data_ptr<float>(), weight.data_ptr<float>(),
          nullptr, gradX.data_ptr<float>());
      gradX = gradX.view(x.sizes());
    }
    if (ctx->needs_input_grad(1)) {  // dW [n, k] = dYᵀ · X
      const auto rows = Rows(x);
      gradWeight = at::empty({n, k}, weight.options());
      Run({n, m, k, {1, gradRows.stride(0)}, {rows.stride(0), 1}, false}, gradRows.data_ptr<float>(), rows.data_ptr<float>(),
          nullptr, gradWeight.data_ptr<float>());
    }
    if (ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2)) gradBias = gradRows.sum(0);
    return {gradX, gradWeight, gradBias};
  }
};

}  // namespace

bool UseFloatLinear(const at::Tensor& x, const at::Tensor& weight, const c10::optional<at::Tensor>& bias) {
  // KOCLIP_ONEDNN_LINEAR=0 keeps libtorch's route, to compare the two.
  static const bool enabled = [] {
    const char* setting = std::getenv("KOCLIP_ONEDNN_LINEAR");
    return !(setting != nullptr && std::string(setting) == "0");
  }();
  if (!enabled) return false;
  const bool biasFits = !bias.has_value() || !bias->defined() ||
                        (bias->dim() == 1 && bias->size(0) == weight.size(0) && bias->device().is_cpu() &&
                         bias->scalar_type() == at::kFloat && bias->stride(0) == 1);
  return biasFits && !at::autocast::is_cpu_enabled() && x.device().is_cpu() && weight.device().is_cpu() &&
         x.scalar_type() == at::kFloat && weight.scalar_type() == at::kFloat && weight.dim() == 2 && x.dim() >= 1 &&
         x.size(-1) == weight.size(1) && x.numel() > 0 && weight.numel() > 0 && weight.stride(1) == 1 &&
         weight.stride(0) >= weight.size(1);
}

at::Tensor FloatLinear(const at::Tensor& x, const at::Tensor& weight, const c10::optional<at::Tensor>& bias) {
  const bool tracked = at::GradMode::is_enabled() &&
                       (x.requires_grad() || weight.requires_grad() || (bias.has_value() && bias->defined() && bias->requires_grad()));
  if (tracked) return LinearFunction::apply(x, weight, bias);
  return Forward(x, weight, bias.has_value() && bias->defined() ? *bias : at::Tensor());
}

#else

bool UseFloatLinear(const at::Tensor&, const at::Tensor&, const c10::optional<at::Tensor>&) { return false; }

at::Tensor FloatLinear(const at::Tensor& x, const at::Tensor& weight, const c10::optional<at::Tensor>& bias) {
  return at::linear(x, weight, bias);
}

#endif

}  // namespace koclip::onednn
