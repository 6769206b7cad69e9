// Dynamically quantised int8 Linear layers (PyTorch's quantize_dynamic, by hand): weights are
// quantised once per output channel and packed for the quantised engine; each call quantises
// its activations on the fly and runs an int8 GEMM (oneDNN with AVX-512 VNNI/AMX on Debian's
// 1.13, fbgemm/x86 on pip builds), giving float32 back.
//
// The packed weight is a TorchScript custom class, not a tensor, so it lives in a JS External
// (created once per layer, never per op) with an explicit release for deterministic freeing.
// Where the addon can call oneDNN itself (onednn_int8.h) it packs and runs the layer there
// instead: libtorch 1.13's oneDNN path compiles new primitives for every new input range.
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>
#include <c10/core/QEngine.h>
#include <torch/version.h>
#include <napi.h>

#include <algorithm>
#include <string>
#include <vector>

#include "guard.h"
#include "handles.h"
#include "onednn_int8.h"

namespace koclip {

namespace {

struct PackedLinear {
  c10::IValue params;  // LinearPackedParamsBase; None once released or when `direct` is used
  bool reduceRange;    // fbgemm's u8·s8 products can saturate int16 without VNNI: use 7-bit activations there
  std::shared_ptr<onednn::Int8Linear> direct;  // the layer packed for oneDNN itself, or null

  bool Released() const { return params.isNone() && !direct; }
};

// The fastest quantised engine this libtorch has, chosen once: x86 (2.x) or oneDNN, else fbgemm,
// else QNNPACK (ARM). The packed format depends on the engine, so it must not change afterwards.
at::QEngine ChooseEngine() {
  static const at::QEngine engine = [] {
    const auto& supported = at::globalContext().supportedQEngines();
    auto has = [&](at::QEngine e) { return std::find(supported.begin(), supported.end(), e) != supported.end(); };
    std::vector<at::QEngine> preference;
#if TORCH_VERSION_MAJOR >= 2
    preference.push_back(at::QEngine::X86);
#endif
    preference.insert(preference.end(), {at::QEngine::ONEDNN, at::QEngine::FBGEMM, at::QEngine::QNNPACK});
    for (auto e : preference) {
      if (has(e)) {
        at::globalContext().setQEngine(e);
        return e;
      }
    }
    throw std::runtime_error("this libtorch has no quantised engine (int8 precision unavailable)");
  }();
  return engine;
}

c10::OperatorHandle Op(const char* name) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, "");
}

PackedLinear* ArgPacked(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsExternal()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + ": expected a packed int8 linear");
  auto* p = info[i].As<Napi::External<PackedLinear>>().Data();
  if (p->Released()) throw Napi::Error::New(info.Env(), "packed int8 linear was released");
  return p;
}

}  // namespace

// linearInt8Pack(weight [out, in] float, bias [out] float | null, viaLibtorch?: boolean) -> External.
// Symmetric per-output-channel int8 weights: scale = max|w_row| / 127, zero point 0. On the oneDNN
// engine the addon packs the layer for oneDNN itself unless viaLibtorch (kept for comparisons).
static Napi::Value LinearInt8Pack(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    auto engine = ChooseEngine();
    auto w = ArgTensor(info, 0).detach().to(at::kFloat).contiguous();
    if (w.dim() != 2) throw Napi::RangeError::New(info.Env(), "linearInt8Pack: weight must be 2-D [out, in]");
    auto bias = ArgOptTensor(info, 1);
    auto scales = w.abs().amax({1}).div(127.0).clamp_min(1e-12);
    bool viaLibtorch = info.Length() > 2 && info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
    if (engine == at::QEngine::ONEDNN && onednn::Available() && !viaLibtorch) {
      auto* packed = new PackedLinear();
      packed->reduceRange = false;
      packed->direct = onednn::Pack(w, scales, bias.has_value() ? *bias : at::Tensor());
      return Napi::External<PackedLinear>::New(info.Env(), packed, [](Napi::Env, PackedLinear* p) { delete p; });
    }
    auto zeroPoints = at::zeros({w.size(0)}, at::kLong);
    auto wq = at::quantize_per_channel(w, scales.to(at::kDouble), zeroPoints, 0, at::kQInt8);
    torch::jit::Stack stack;
    stack.push_back(wq);
    stack.push_back(bias.has_value() ? c10::IValue(bias->detach().to(at::kFloat).contiguous()) : c10::IValue());
    static const auto prepack = Op("quantized::linear_prepack");
    prepack.callBoxed(&stack);
    bool reduceRange = engine == at::QEngine::FBGEMM;
#if TORCH_VERSION_MAJOR >= 2
    reduceRange = reduceRange || engine == at::QEngine::X86;
#endif
    auto* packed = new PackedLinear();
    packed->params = std::move(stack.at(0));
    packed->reduceRange = reduceRange;
    return Napi::External<PackedLinear>::New(info.Env(), packed, [](Napi::Env, PackedLinear* p) { delete p; });
  })
}

// linearInt8(x [..., in] float, packed) -> [..., out] float32.
static Napi::Value LinearInt8(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    auto x = ArgTensor(info, 0);
    auto* packed = ArgPacked(info, 1);
    if (packed->direct) return Wrap(info.Env(), onednn::Forward(*packed->direct, x));
    torch::jit::Stack stack;
    stack.push_back(x.scalar_type() == at::kFloat ? x : x.to(at::kFloat));
    stack.push_back(packed->params);
    stack.push_back(packed->reduceRange);
    static const auto linearDynamic = Op("quantized::linear_dynamic");
    linearDynamic.callBoxed(&stack);
    return Wrap(info.Env(), stack.at(0).toTensor());
  })
}

// linearInt8Release(packed): frees the packed weight now (the External itself goes with the GC).
static Napi::Value LinearInt8Release(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "linearInt8Release: expected a packed int8 linear");
    auto* packed = info[0].As<Napi::External<PackedLinear>>().Data();
    packed->params = c10::IValue();
    packed->direct.reset();
    return info.Env().Undefined();
  })
}

// quantizedEngine() -> the engine int8 layers use ("ONEDNN", "X86", "FBGEMM", "QNNPACK"), or "none".
static Napi::Value QuantizedEngine(const Napi::CallbackInfo& info) {
  try {
    return Napi::String::New(info.Env(), c10::toString(ChooseEngine()));
  } catch (const std::exception&) {
    return Napi::String::New(info.Env(), "none");
  }
}

void RegisterQuantized(Napi::Env env, Napi::Object exports) {
  exports.Set("linearInt8Pack", Napi::Function::New(env, LinearInt8Pack, "linearInt8Pack"));
  exports.Set("linearInt8", Napi::Function::New(env, LinearInt8, "linearInt8"));
  exports.Set("linearInt8Release", Napi::Function::New(env, LinearInt8Release, "linearInt8Release"));
  exports.Set("quantizedEngine", Napi::Function::New(env, QuantizedEngine, "quantizedEngine"));
}

}  // namespace koclip
