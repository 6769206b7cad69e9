// See onednn_int8.h. Compiled empty unless KOCLIP_ONEDNN (native/find-libtorch.mjs sets it when
// libtorch is Debian's and libdnnl-dev's headers are present).
#include "onednn_int8.h"

#include <stdexcept>

#if KOCLIP_ONEDNN
#include <ATen/Parallel.h>

#include <cmath>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cpu_kernels.h"
#include "onednn_engine.h"
#endif

namespace koclip::onednn {

#if KOCLIP_ONEDNN

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// The activation quantisation PyTorch's linear_dynamic uses (ChooseQuantizationParams, uint8,
// no reduce_range): the range widened to include 0, scale = range / 255 kept as a float, zero
// point = -min / scale rounded; inputs are multiplied by 1 / scale and rounded, as its oneDNN
// reorder does.
struct ActivationQuant {
  float scale;
  float inverseScale;
  int32_t zeroPoint;
};

ActivationQuant ChooseActivationQuant(float lo, float hi) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  double scale = (static_cast<double>(hi) - lo) / 255.0;
  // A constant-zero (or non-finite) input: any scale represents it; PyTorch picks 0.1.
  if (!std::isfinite(scale) || static_cast<float>(scale) == 0.0f || std::isinf(1.0f / static_cast<float>(scale))) scale = 0.1;
  const double zero = std::nearbyint(-lo / scale);
  const float scaleF = static_cast<float>(scale);
  return {scaleF, static_cast<float>(1.0 / scaleF), static_cast<int32_t>(std::min(255.0, std::max(0.0, std::isfinite(zero) ? zero : 0.0)))};
}

}  // namespace

struct Int8Linear {
  int64_t in = 0, out = 0;
  at::Tensor weight;  // int8 [in, out], transposed once at packing (ideep stores it so too)
  std::vector<float> weightScales;
  at::Tensor bias;  // float32 [out], or undefined
  // Primitives by row count (batch × tokens): built once, reused by every input of that shape.
  // Texts come in many lengths, so the map is emptied when it reaches kMaxShapes (rebuilding
  // then hits oneDNN's own primitive cache, a few microseconds a call).
  static constexpr size_t kMaxShapes = 16;
  struct Primitives {
    dnnl::reorder quantize;  // float32 rows -> uint8, runtime scale and zero point (without AVX-512)
    dnnl::matmul matmul;
  };
  std::mutex mutex;
  std::unordered_map<int64_t, Primitives> byRows;

  // A copy (primitives are reference-counted handles): the map may be emptied by another call.
  Primitives PrimitivesFor(int64_t rows) {
    std::lock_guard<std::mutex> lock(mutex);
    auto found = byRows.find(rows);
    if (found != byRows.end()) return found->second;
    if (byRows.size() >= kMaxShapes) byRows.clear();
    auto& engine = CpuEngine();
    dnnl::primitive_attr quantizeAttr;
    quantizeAttr.set_output_scales(0, {DNNL_RUNTIME_F32_VAL});
    quantizeAttr.set_zero_points(DNNL_ARG_DST, 0, {DNNL_RUNTIME_S32_VAL});
    dnnl::memory::desc rowsF32({rows, in}, dt::f32, tag::ab);
    dnnl::memory::desc src({rows, in}, dt::u8, tag::ab);
    dnnl::memory::desc wei({in, out}, dt::s8, tag::ab);
    dnnl::memory::desc dst({rows, out}, dt::f32, tag::ab);
    dnnl::primitive_attr attr;
    attr.set_output_scales(1 << 1, {DNNL_RUNTIME_F32_VAL});      // per output channel, given at each call
    attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});  // one, given at each call
    auto desc = bias.defined() ? dnnl::matmul::desc(src, wei, dnnl::memory::desc({1, out}, dt::f32, tag::ab), dst)
                               : dnnl::matmul::desc(src, wei, dst);
    Primitives made{dnnl::reorder(dnnl::reorder::primitive_desc(engine, rowsF32, engine, src, quantizeAttr)),
                    dnnl::matmul(dnnl::matmul::primitive_desc(desc, attr, engine))};
    return byRows.emplace(rows, std::move(made)).first->second;
  }
};

// Quantises `rows` (float32, contiguous) into `dst` (uint8, same shape), returning the scale and zero point:
// two passes over the rows (range, then quantise) on the addon's AVX-512 kernels, split across
// the threads; otherwise at::aminmax and the oneDNN reorder `quantize`. For the 800×3072 input
// of ViT-B/32's fc2 at batch 16 the kernels take about 0.6 ms, aminmax and the reorder 1.2.
ActivationQuant QuantizeRows(const at::Tensor& rows, dnnl::memory& dst, dnnl::reorder& quantize, dnnl::stream& stream) {
  const float* x = rows.data_ptr<float>();
  const int64_t n = rows.numel();
#if KOCLIP_AVX512_KERNELS
  if (avx512::Available()) {
    constexpr int64_t kGrain = 1 << 15;
    // Starting at 0 is harmless: the range always includes 0 (ChooseActivationQuant).
    std::vector<float> los(at::get_num_threads(), 0.0f), his(at::get_num_threads(), 0.0f);
    at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
      float lo, hi;
      avx512::MinMax(x + begin, end - begin, &lo, &hi);
      auto& slotLo = los[at::get_thread_num()];
      auto& slotHi = his[at::get_thread_num()];
      slotLo = std::min(slotLo, lo);
      slotHi = std::max(slotHi, hi);
    });
    const auto quant = ChooseActivationQuant(*std::min_element(los.begin(), los.end()), *std::max_element(his.begin(), his.end()));
    auto* q = static_cast<uint8_t*>(dst.get_data_handle());
    at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) { avx512::QuantizeU8(x + begin, end - begin, quant.inverseScale, quant.zeroPoint, q + begin); });
    return quant;
  }
#endif
  auto [lo, hi] = at::aminmax(rows);
  const auto quant = ChooseActivationQuant(lo.item<float>(), hi.item<float>());
  float inverseScale = quant.inverseScale;
  int32_t zeroPoint = quant.zeroPoint;
  auto& engine = CpuEngine();
  quantize.execute(stream, {
      {DNNL_ARG_FROM, dnnl::memory({{rows.size(0), rows.size(1)}, dt::f32, tag::ab}, engine, const_cast<float*>(x))},
      {DNNL_ARG_TO, dst},
      {DNNL_ARG_ATTR_OUTPUT_SCALES, dnnl::memory({{1}, dt::f32, tag::a}, engine, &inverseScale)},
      {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST, dnnl::memory({{1}, dt::s32, tag::a}, engine, &zeroPoint)},
  });
  return quant;
}

bool Available() { return true; }

std::shared_ptr<Int8Linear> Pack(const at::Tensor& weight, const at::Tensor& scales, const at::Tensor& bias) {
  auto layer = std::make_shared<Int8Linear>();
  layer->out = weight.size(0);
  layer->in = weight.size(1);
  layer->weight = weight.div(scales.unsqueeze(1)).round_().clamp_(-127, 127).to(at::kChar).t().contiguous();
  auto s = scales.contiguous();
  layer->weightScales.assign(s.data_ptr<float>(), s.data_ptr<float>() + layer->out);
  if (bias.defined()) layer->bias = bias.detach().to(at::kFloat).contiguous();
  return layer;
}

at::Tensor Forward(Int8Linear& layer, const at::Tensor& x) {
  if (x.dim() < 1 || x.size(-1) != layer.in) {
    throw std::invalid_argument("int8 linear: input's last dimension is " + std::to_string(x.dim() ? x.size(-1) : 0) +
                                ", the layer takes " + std::to_string(layer.in));
  }
  auto outShape = x.sizes().vec();
  outShape.back() = layer.out;
  auto rows = x.reshape({-1, layer.in}).to(at::kFloat).contiguous();
  const int64_t m = rows.size(0);
  auto y = at::empty({m, layer.out}, rows.options());
  if (m == 0) return y.view(outShape);

  auto xq = at::empty({m, layer.in}, rows.options().dtype(at::kByte));
  auto& engine = CpuEngine();
  auto primitives = layer.PrimitivesFor(m);
  dnnl::stream stream(engine);
  dnnl::memory src({{m, layer.in}, dt::u8, tag::ab}, engine, xq.data_ptr());
  const ActivationQuant quant = QuantizeRows(rows, src, primitives.quantize, stream);
  std::vector<float> outputScales(layer.out);
  for (int64_t n = 0; n < layer.out; n++) outputScales[n] = quant.scale * layer.weightScales[n];
  int32_t zeroPoint = quant.zeroPoint;
  std::unordered_map<int, dnnl::memory> args = {
      {DNNL_ARG_SRC, src},
      {DNNL_ARG_WEIGHTS, dnnl::memory({{layer.in, layer.out}, dt::s8, tag::ab}, engine, layer.weight.data_ptr())},
      {DNNL_ARG_DST, dnnl::memory({{m, layer.out}, dt::f32, tag::ab}, engine, y.data_ptr())},
      {DNNL_ARG_ATTR_OUTPUT_SCALES, dnnl::memory({{layer.out}, dt::f32, tag::a}, engine, outputScales.data())},
      {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, dnnl::memory({{1}, dt::s32, tag::a}, engine, &zeroPoint)},
  };
  std::vector<float> scaledBias;
  if (layer.bias.defined()) {
    const float* b = layer.bias.data_ptr<float>();
    scaledBias.resize(layer.out);
    for (int64_t n = 0; n < layer.out; n++) scaledBias[n] = b[n] / outputScales[n];
    args.emplace(DNNL_ARG_BIAS, dnnl::memory({{1, layer.out}, dt::f32, tag::ab}, engine, scaledBias.data()));
  }
  primitives.matmul.execute(stream, args);
  stream.wait();
  return y.view(outShape);
}

#else

struct Int8Linear {};

bool Available() { return false; }

std::shared_ptr<Int8Linear> Pack(const at::Tensor&, const at::Tensor&, const at::Tensor&) {
  throw std::logic_error("this build calls oneDNN through libtorch only (KOCLIP_ONEDNN is off)");
}

at::Tensor Forward(Int8Linear&, const at::Tensor&) {
  throw std::logic_error("this build calls oneDNN through libtorch only (KOCLIP_ONEDNN is off)");
}

#endif

}  // namespace koclip::onednn
