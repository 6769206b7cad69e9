// Tensor handles: an at::Tensor boxed in a JS External.
// dispose() releases the storage at once; the GC finalizer only frees what was never disposed.
#pragma once
#include <ATen/ATen.h>
#include <napi.h>
#include <optional>
#include <string>
#include <vector>

namespace koclip {

struct TensorBox {
  at::Tensor tensor;
  int64_t accountedBytes = 0;  // what we told V8 about, so dispose/finalize can take it back
};

// Number of boxes holding a live tensor (created and not yet disposed or collected).
int64_t LiveTensorCount();

Napi::Value Wrap(Napi::Env env, at::Tensor tensor);
void Release(Napi::Env env, TensorBox* box);
TensorBox* UnwrapBox(const Napi::Value& value, const char* what);

// Argument readers used by hand-written and generated bindings; each throws a JS TypeError
// naming the argument position when the JS value has the wrong type.
const at::Tensor& ArgTensor(const Napi::CallbackInfo& info, size_t i);
c10::optional<at::Tensor> ArgOptTensor(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> ArgTensorList(const Napi::CallbackInfo& info, size_t i);
at::Scalar ArgScalar(const Napi::CallbackInfo& info, size_t i);
c10::optional<at::Scalar> ArgOptScalar(const Napi::CallbackInfo& info, size_t i);
int64_t ArgInt(const Napi::CallbackInfo& info, size_t i);
c10::optional<int64_t> ArgOptInt(const Napi::CallbackInfo& info, size_t i);
std::vector<int64_t> ArgIntList(const Napi::CallbackInfo& info, size_t i);
double ArgDouble(const Napi::CallbackInfo& info, size_t i);
c10::optional<double> ArgOptDouble(const Napi::CallbackInfo& info, size_t i);
bool ArgBool(const Napi::CallbackInfo& info, size_t i);
std::string ArgString(const Napi::CallbackInfo& info, size_t i);
at::ScalarType ArgDType(const Napi::CallbackInfo& info, size_t i);
c10::optional<at::ScalarType> ArgOptDType(const Napi::CallbackInfo& info, size_t i);
at::Device ArgDevice(const Napi::CallbackInfo& info, size_t i);

at::ScalarType ParseDType(const std::string& name);
std::string DTypeName(at::ScalarType t);

Napi::Value WrapTuple(Napi::Env env, const std::vector<at::Tensor>& tensors);

}  // namespace koclip
