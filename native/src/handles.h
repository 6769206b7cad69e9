// Tensor handles: small integers indexing a per-environment table of at::Tensors.
// A number costs nothing to create and leaves nothing behind after dispose(). (JS Externals with
// finalizers did: Node runs napi finalizers only when the event loop turns, so a synchronous
// training loop piled up ~200 bytes of finalizer records per op.) The JS Tensor registers each
// handle with a FinalizationRegistry as the GC backstop and unregisters it on dispose().
#pragma once
#include <ATen/ATen.h>
#include <napi.h>
#include <optional>
#include <string>
#include <vector>

namespace koclip {

// The table of one JS environment (main thread or a worker): slots, bytes reported to V8, free list.
struct TensorTable {
  std::vector<at::Tensor> tensors;
  std::vector<int64_t> accountedBytes;  // what we told V8 about, so dispose can take it back
  std::vector<uint32_t> freeSlots;
  int64_t live = 0;
  int64_t accountedTotal = 0;
  bool inScope = false;  // a tidy scope is open on the JS side: it owns new tensors (see Account)
};

TensorTable& TableOf(Napi::Env env);
void InitTensorTable(Napi::Env env);

Napi::Value Wrap(Napi::Env env, at::Tensor tensor);
// Frees the slot a handle names; returns false if it was already free.
bool Release(Napi::Env env, const Napi::Value& handle);
// Reports a tensor's CPU bytes to V8 as external memory (once; Release takes them back), so that
// V8 collects sooner when such tensors are left to the GC. Only tensors no tidy scope owns are
// reported: Wrap reports new tensors while no scope is open, and the JS side reports tensors that
// leave their scopes (scope.ts). Reporting every tensor made V8 run a full collection about twice
// per ViT-B/32 forward pass, each one's marking threads stalling libtorch's.
void Account(Napi::Env env, uint32_t slot);
void Account(Napi::Env env, const Napi::Value& handle);
at::Tensor& Unwrap(const Napi::Value& handle, const std::string& what);

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
