#include "handles.h"


namespace koclip {

void InitTensorTable(Napi::Env env) { env.SetInstanceData<TensorTable>(new TensorTable()); }

TensorTable& TableOf(Napi::Env env) { return *env.GetInstanceData<TensorTable>(); }

static int64_t StorageBytes(const at::Tensor& t) {
  if (!t.defined() || !t.has_storage() || !t.device().is_cpu()) return 0;
  return static_cast<int64_t>(t.numel() * t.element_size());
}

Napi::Value Wrap(Napi::Env env, at::Tensor tensor) {
  auto& table = TableOf(env);
  uint32_t slot;
  if (!table.freeSlots.empty()) {
    slot = table.freeSlots.back();
    table.freeSlots.pop_back();
  } else {
    slot = static_cast<uint32_t>(table.tensors.size());
    table.tensors.emplace_back();
    table.accountedBytes.push_back(0);
  }
  table.tensors[slot] = std::move(tensor);
  table.accountedBytes[slot] = 0;
  table.live++;
  if (!table.inScope) Account(env, slot);
  return Napi::Number::New(env, slot);
}

static uint32_t SlotOf(const Napi::Value& handle, const std::string& what) {
  if (!handle.IsNumber()) throw Napi::TypeError::New(handle.Env(), what + ": expected a tensor handle");
  double v = handle.As<Napi::Number>().DoubleValue();
  auto& table = TableOf(handle.Env());
  if (v < 0 || v != std::trunc(v) || v >= static_cast<double>(table.tensors.size())) {
    throw Napi::TypeError::New(handle.Env(), what + ": not a tensor handle");
  }
  return static_cast<uint32_t>(v);
}

bool Release(Napi::Env env, const Napi::Value& handle) {
  uint32_t slot = SlotOf(handle, "dispose");
  auto& table = TableOf(env);
  if (!table.tensors[slot].defined()) return false;
  table.tensors[slot] = at::Tensor();
  if (table.accountedBytes[slot]) Napi::MemoryManagement::AdjustExternalMemory(env, -table.accountedBytes[slot]);
  table.accountedTotal -= table.accountedBytes[slot];
  table.accountedBytes[slot] = 0;
  table.freeSlots.push_back(slot);
  table.live--;
  return true;
}

void Account(Napi::Env env, const Napi::Value& handle) { Account(env, SlotOf(handle, "accountTensor")); }

void Account(Napi::Env env, uint32_t slot) {
  auto& table = TableOf(env);
  if (!table.tensors[slot].defined() || table.accountedBytes[slot]) return;
  // Only CPU memory counts: GPU memory puts no pressure on V8's heap.
  const int64_t bytes = StorageBytes(table.tensors[slot]);
  if (!bytes) return;
  Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
  table.accountedBytes[slot] = bytes;
  table.accountedTotal += bytes;
}

at::Tensor& Unwrap(const Napi::Value& handle, const std::string& what) {
  uint32_t slot = SlotOf(handle, what);
  auto& t = TableOf(handle.Env()).tensors[slot];
  if (!t.defined()) throw Napi::Error::New(handle.Env(), what + ": tensor was disposed");
  return t;
}

static std::string ArgName(size_t i) { return "argument " + std::to_string(i); }

const at::Tensor& ArgTensor(const Napi::CallbackInfo& info, size_t i) { return Unwrap(info[i], ArgName(i)); }

c10::optional<at::Tensor> ArgOptTensor(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  return ArgTensor(info, i);
}

std::vector<at::Tensor> ArgTensorList(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), ArgName(i) + ": expected an array of tensors");
  auto arr = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) {
    out.push_back(Unwrap(arr.Get(k), ArgName(i)));
  }
  return out;
}

// JS numbers that are integers become integer scalars, as Python ints do in PyTorch, so that
// type promotion matches (int64 tensor * 2 stays int64; float tensor * 2 stays float).
at::Scalar ArgScalar(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsBoolean()) return at::Scalar(info[i].As<Napi::Boolean>().Value());
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), ArgName(i) + ": expected a number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (std::isfinite(v) && v == std::trunc(v) && std::abs(v) < 9.007199254740992e15) return at::Scalar(static_cast<int64_t>(v));
  return at::Scalar(v);
}

c10::optional<at::Scalar> ArgOptScalar(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  return ArgScalar(info, i);
}

int64_t ArgInt(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), ArgName(i) + ": expected an integer");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (v != std::trunc(v)) throw Napi::TypeError::New(info.Env(), ArgName(i) + ": expected an integer, got " + std::to_string(v));
  return static_cast<int64_t>(v);
}

c10::optional<int64_t> ArgOptInt(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  return ArgInt(info, i);
}

std::vector<int64_t> ArgIntList(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), ArgName(i) + ": expected an array of integers");
  auto arr = info[i].As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) {
    Napi::Value v = arr.Get(k);
    if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), ArgName(i) + ": expected an array of integers");
    out[k] = v.As<Napi::Number>().Int64Value();
  }
  return out;
}

double ArgDouble(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), ArgName(i) + ": expected a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

c10::optional<double> ArgOptDouble(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  return ArgDouble(info, i);
}

bool ArgBool(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsBoolean()) throw Napi::TypeError::New(info.Env(), ArgName(i) + ": expected a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

std::string ArgString(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsString()) throw Napi::TypeError::New(info.Env(), ArgName(i) + ": expected a string");
  return info[i].As<Napi::String>().Utf8Value();
}

at::ScalarType ParseDType(const std::string& name) {
  if (name == "float32") return at::kFloat;
  if (name == "float16") return at::kHalf;
  if (name == "bfloat16") return at::kBFloat16;
  if (name == "float64") return at::kDouble;
  if (name == "int64") return at::kLong;
  if (name == "int32") return at::kInt;
  if (name == "int16") return at::kShort;
  if (name == "int8") return at::kChar;
  if (name == "uint8") return at::kByte;
  if (name == "bool") return at::kBool;
  throw std::invalid_argument("unknown dtype '" + name + "'");
}

std::string DTypeName(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return std::string(c10::toString(t));
  }
}

at::ScalarType ArgDType(const Napi::CallbackInfo& info, size_t i) { return ParseDType(ArgString(info, i)); }

c10::optional<at::ScalarType> ArgOptDType(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  return ArgDType(info, i);
}

at::Device ArgDevice(const Napi::CallbackInfo& info, size_t i) { return at::Device(ArgString(info, i)); }

Napi::Value WrapTuple(Napi::Env env, const std::vector<at::Tensor>& tensors) {
  auto arr = Napi::Array::New(env, tensors.size());
  for (size_t k = 0; k < tensors.size(); k++) arr.Set(static_cast<uint32_t>(k), Wrap(env, tensors[k]));
  return arr;
}

}  // namespace koclip
