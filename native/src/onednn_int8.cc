// See onednn_int8.h. Compiled empty unless KOCLIP_ONEDNN (native/find-libtorch.mjs sets it when
// libtorch is Debian's and libdnnl-dev's headers are present).
#include "onednn_int8.h"

#include <stdexcept>

#if KOCLIP_ONEDNN
#include <ATen/Parallel.h>

#include <algorithm>
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

// One row's activation quantisation, as PyTorch's linear_dynamic chooses it for a whole tensor
// (ChooseQuantizationParams, uint8, no reduce_range): the range widened to include 0, scale =
// range / 255 kept as a float, zero point = -min / scale rounded; inputs are multiplied by
// 1 / scale and rounded half to even.
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

// Rows of at least this many floats are one task of a parallel loop.
constexpr int64_t kGrainFloats = 1 << 15;

// Quantises each row of `rows` [m, k] into `q` [m, k] on that row's own range; returns the rows'
// scales and zero points. On the addon's AVX-512 kernels (one pass for the range, one to
// quantise), otherwise with libtorch's ops.
std::vector<ActivationQuant> QuantizeEachRow(const at::Tensor& rows, uint8_t* q) {
  const int64_t m = rows.size(0), k = rows.size(1);
  std::vector<ActivationQuant> quants(m);
#if KOCLIP_AVX512_KERNELS
  if (avx512::Available()) {
    const float* x = rows.data_ptr<float>();
    at::parallel_for(0, m, std::max<int64_t>(1, kGrainFloats / k), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; r++) {
        float lo, hi;
        avx512::MinMax(x + r * k, k, &lo, &hi);
        quants[r] = ChooseActivationQuant(lo, hi);
        avx512::QuantizeU8(x + r * k, k, quants[r].inverseScale, quants[r].zeroPoint, q + r * k);
      }
    });
    return quants;
  }
#endif
  auto [lo, hi] = at::aminmax(rows, 1);
  auto loC = lo.contiguous(), hiC = hi.contiguous();
  std::vector<float> inverse(m), zero(m);
  for (int64_t r = 0; r < m; r++) {
    quants[r] = ChooseActivationQuant(loC.data_ptr<float>()[r], hiC.data_ptr<float>()[r]);
    inverse[r] = quants[r].inverseScale;
    zero[r] = static_cast<float>(quants[r].zeroPoint);
  }
  auto column = [&](std::vector<float>& v) { return at::from_blob(v.data(), {m, 1}, rows.options()); };
  auto quantised = rows.mul(column(inverse)).round_().add_(column(zero)).clamp_(0, 255).to(at::kByte);
  at::from_blob(q, {m, k}, rows.options().dtype(at::kByte)).copy_(quantised);
  return quants;
}

// The GEMM gave y[r][n] = weightScales[n] · Σ_k q[r][k] · weight[k][n]; the layer's output is
// scale_r · (that − zero_r · scaledColumnSums[n]) + bias[n].
void DequantizeRows(float* y, int64_t m, int64_t out, const std::vector<ActivationQuant>& quants, const float* scaledColumnSums, const float* bias) {
  at::parallel_for(0, m, std::max<int64_t>(1, kGrainFloats / out), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) {
      const float scale = quants[r].scale, shift = -quants[r].scale * static_cast<float>(quants[r].zeroPoint);
      float* row = y + r * out;
#if KOCLIP_AVX512_KERNELS
      if (avx512::Available()) {
        avx512::AffineRow(row, out, scale, shift, scaledColumnSums, bias);
        continue;
      }
#endif
      for (int64_t n = 0; n < out; n++) row[n] = scale * row[n] + shift * scaledColumnSums[n] + (bias ? bias[n] : 0.0f);
    }
  });
}

}  // namespace

struct Int8Linear {
  int64_t in = 0, out = 0;
  at::Tensor weight;  // int8 [in, out], transposed once at packing (ideep stores it so too)
  std::vector<float> weightScales;
  // weightScales[n] · Σ_k weight[k][n]: what one unit of an activation zero point adds to output n.
  std::vector<float> scaledColumnSums;
  at::Tensor bias;  // float32 [out], or undefined
  // GEMMs by row count (batch × tokens): built once, reused by every input of that shape.
  // Texts come in many lengths, so the map is emptied when it reaches kMaxShapes (rebuilding
  // then hits oneDNN's own primitive cache, a few microseconds a call).
  static constexpr size_t kMaxShapes = 16;
  std::mutex mutex;
  std::unordered_map<int64_t, dnnl::matmul> byRows;

  // A copy (primitives are reference-counted handles): the map may be emptied by another call.
  dnnl::matmul MatmulFor(int64_t rows) {
    std::lock_guard<std::mutex> lock(mutex);
    auto found = byRows.find(rows);
    if (found != byRows.end()) return found->second;
    if (byRows.size() >= kMaxShapes) byRows.clear();
    dnnl::primitive_attr attr;
    attr.set_output_scales(1 << 1, {DNNL_RUNTIME_F32_VAL});  // the weights' scales, per output channel
    dnnl::matmul::desc desc({{rows, in}, dt::u8, tag::ab}, {{in, out}, dt::s8, tag::ab}, {{rows, out}, dt::f32, tag::ab});
    return byRows.emplace(rows, dnnl::matmul(dnnl::matmul::primitive_desc(desc, attr, CpuEngine()))).first->second;
  }
};

bool Available() { return true; }

std::shared_ptr<Int8Linear> Pack(const at::Tensor& weight, const at::Tensor& scales, const at::Tensor& bias) {
  auto layer = std::make_shared<Int8Linear>();
  layer->out = weight.size(0);
  layer->in = weight.size(1);
  layer->weight = weight.div(scales.unsqueeze(1)).round_().clamp_(-127, 127).to(at::kChar).t().contiguous();
  auto s = scales.contiguous();
  layer->weightScales.assign(s.data_ptr<float>(), s.data_ptr<float>() + layer->out);
  auto sums = layer->weight.sum(0, false, at::kInt).to(at::kFloat).mul_(s).contiguous();
  layer->scaledColumnSums.assign(sums.data_ptr<float>(), sums.data_ptr<float>() + layer->out);
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
  const auto quants = QuantizeEachRow(rows, xq.data_ptr<uint8_t>());
  auto& engine = CpuEngine();
  dnnl::stream stream(engine);
  layer.MatmulFor(m).execute(stream, {
      {DNNL_ARG_SRC, dnnl::memory({{m, layer.in}, dt::u8, tag::ab}, engine, xq.data_ptr())},
      {DNNL_ARG_WEIGHTS, dnnl::memory({{layer.in, layer.out}, dt::s8, tag::ab}, engine, layer.weight.data_ptr())},
      {DNNL_ARG_DST, dnnl::memory({{m, layer.out}, dt::f32, tag::ab}, engine, y.data_ptr())},
      {DNNL_ARG_ATTR_OUTPUT_SCALES, dnnl::memory({{layer.out}, dt::f32, tag::a}, engine, layer.weightScales.data())},
  });
  stream.wait();
  DequantizeRows(y.data_ptr<float>(), m, layer.out, quants, layer.scaledColumnSums.data(), layer.bias.defined() ? layer.bias.data_ptr<float>() : nullptr);
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
