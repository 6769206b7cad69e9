// Hand-written bindings: moving bytes in and out, handle lifetime, autograd, RNG, threads.
// Everything that is a plain ATen op lives in the generated file instead.
#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/version.h>
#include <napi.h>

#include <cstring>
#include <dlfcn.h>

#include "bytes.h"
#include "cpu_kernels.h"
#include "guard.h"
#include "handles.h"
#include "onednn_int8.h"
#include "training_attention.h"

#ifdef KOCLIP_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace koclip {

// fromBytes(bytes: Uint8Array, dtype, shape, device) -> handle. Copies: JS may reuse its buffer.
static Napi::Value FromBytes(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    if (!info[0].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "fromBytes: expected a Uint8Array");
    auto bytes = info[0].As<Napi::Uint8Array>();
    auto dtype = ArgDType(info, 1);
    auto shape = ArgIntList(info, 2);
    auto device = ArgDevice(info, 3);
    int64_t numel = 1;
    for (auto d : shape) {
      if (d < 0) throw Napi::RangeError::New(info.Env(), "fromBytes: negative dimension");
      numel *= d;
    }
    auto expected = numel * static_cast<int64_t>(c10::elementSize(dtype));
    if (static_cast<int64_t>(bytes.ByteLength()) != expected) {
      throw Napi::RangeError::New(info.Env(), "fromBytes: " + std::to_string(bytes.ByteLength()) + " bytes given, shape needs " +
                                                 std::to_string(expected));
    }
    auto t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (expected) std::memcpy(t.data_ptr(), bytes.Data(), expected);
    return Wrap(info.Env(), device.is_cpu() ? t : t.to(device));
  })
}

// toBytes(handle) -> Uint8Array holding a contiguous CPU copy.
static Napi::Value ToBytes(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    auto t = ArgTensor(info, 0).detach().to(at::kCPU).contiguous();
    auto n = static_cast<size_t>(t.numel() * t.element_size());
    auto out = UninitializedBytes(info.Env(), n);
    if (n) std::memcpy(out.Data(), t.data_ptr(), n);
    return out;
  })
}

static Napi::Value Dispose(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Release(info.Env(), info[0]));
}

static Napi::Value Shape(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    auto sizes = ArgTensor(info, 0).sizes();
    auto arr = Napi::Array::New(info.Env(), sizes.size());
    for (size_t i = 0; i < sizes.size(); i++) arr.Set(static_cast<uint32_t>(i), static_cast<double>(sizes[i]));
    return arr;
  })
}

static Napi::Value DType(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({ return Napi::String::New(info.Env(), DTypeName(ArgTensor(info, 0).scalar_type())); })
}

static Napi::Value DeviceOf(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({ return Napi::String::New(info.Env(), ArgTensor(info, 0).device().str()); })
}

static Napi::Value ToDevice(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({ return Wrap(info.Env(), ArgTensor(info, 0).to(ArgDevice(info, 1))); })
}

static Napi::Value RequiresGrad(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({ return Napi::Boolean::New(info.Env(), ArgTensor(info, 0).requires_grad()); })
}

static Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    ArgTensor(info, 0).set_requires_grad(ArgBool(info, 1));
    return info.Env().Undefined();
  })
}

static Napi::Value IsLeaf(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({ return Napi::Boolean::New(info.Env(), ArgTensor(info, 0).is_leaf()); })
}

// grad(handle) -> handle | null. The returned handle aliases the stored gradient.
static Napi::Value Grad(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    const auto& g = ArgTensor(info, 0).grad();
    if (!g.defined()) return info.Env().Null();
    return Wrap(info.Env(), g);
  })
}

// Drops the stored gradient (set_to_none), which both 1.13 and 2.x treat as "no gradient yet".
static Napi::Value ClearGrad(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    ArgTensor(info, 0).mutable_grad().reset();
    return info.Env().Undefined();
  })
}

// setGrad(handle, grad | null): installs a gradient, e.g. one computed elsewhere or restored.
static Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    auto g = ArgOptTensor(info, 1);
    ArgTensor(info, 0).mutable_grad() = g.has_value() ? *g : at::Tensor();
    return info.Env().Undefined();
  })
}

// backward(handle, gradOutput | null, retainGraph)
static Napi::Value Backward(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    const auto& t = ArgTensor(info, 0);
    auto g = ArgOptTensor(info, 1);
    bool retain = info.Length() > 2 && info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
    t.backward(g.has_value() ? *g : at::Tensor(), retain);
    return info.Env().Undefined();
  })
}

static Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    c10::GradMode::set_enabled(ArgBool(info, 0));
    return info.Env().Undefined();
  })
}

static Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled());
}

// Autocast: ops listed by libtorch run in the lower precision dtype while enabled.
static Napi::Value SetAutocast(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    auto deviceType = ArgDevice(info, 0).type();
    bool enabled = ArgBool(info, 1);
    auto dtype = ArgDType(info, 2);
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(deviceType, enabled);
    at::autocast::set_autocast_dtype(deviceType, dtype);
#else
    if (deviceType == at::kCPU) {
      at::autocast::set_cpu_enabled(enabled);
      at::autocast::set_autocast_cpu_dtype(dtype);
    } else {
      at::autocast::set_enabled(enabled);
      at::autocast::set_autocast_gpu_dtype(dtype);
    }
#endif
    // Cached casts of weights are only valid inside one autocast region.
    if (!enabled) at::autocast::clear_cache();
    return info.Env().Undefined();
  })
}

static Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    auto seed = static_cast<uint64_t>(ArgInt(info, 0));
    at::manual_seed(seed);
    return info.Env().Undefined();
  })
}

// randn/rand(shape, dtype, device, seed | null): with a seed, a private CPU generator so the
// values do not depend on what else used the global one (then moved to the device).
static Napi::Value Random(const Napi::CallbackInfo& info, bool normal) {
  KOCLIP_GUARD({
    auto shape = ArgIntList(info, 0);
    auto dtype = ArgDType(info, 1);
    auto device = ArgDevice(info, 2);
    auto seed = ArgOptInt(info, 3);
    at::Tensor t;
    auto opts = at::TensorOptions().dtype(dtype);
    if (seed.has_value()) {
      auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(*seed));
      t = normal ? at::randn(shape, gen, opts) : at::rand(shape, gen, opts);
      if (!device.is_cpu()) t = t.to(device);
    } else {
      t = normal ? at::randn(shape, opts.device(device)) : at::rand(shape, opts.device(device));
    }
    return Wrap(info.Env(), t);
  })
}
static Napi::Value Randn(const Napi::CallbackInfo& info) { return Random(info, true); }
static Napi::Value Rand(const Napi::CallbackInfo& info) { return Random(info, false); }

static Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    at::set_num_threads(static_cast<int>(ArgInt(info, 0)));
    return info.Env().Undefined();
  })
}

static Napi::Value NumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

static Napi::Value LiveTensors(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(TableOf(info.Env()).live));
}

static Napi::Value AccountTensor(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    Account(info.Env(), info[0]);
    return info.Env().Undefined();
  })
}

static Napi::Value SetScoped(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    TableOf(info.Env()).inScope = ArgBool(info, 0);
    return info.Env().Undefined();
  })
}

static Napi::Value ExternalBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(TableOf(info.Env()).accountedTotal));
}

static Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
  out.Set("torchVersion", TORCH_VERSION);
  out.Set("config", at::show_config());
  out.Set("parallel", at::get_parallel_info());
  out.Set("allocator", dlsym(RTLD_DEFAULT, "mallctl") != nullptr ? "jemalloc" : "glibc");
  // OpenBLAS's kernel set (e.g. "Haswell", "Cooperlake"): it depends on the CPU and on
  // OPENBLAS_CORETYPE, and decides fp32 GEMM speed. Empty when the BLAS is not OpenBLAS.
  // Its file says which build: openblas-openmp shares libtorch's OpenMP threads, openblas-pthread
  // brings its own (see native/find-libtorch.mjs).
  std::string blasCore, blasFile;
  if (void* openblas = dlopen("libopenblas.so.0", RTLD_LAZY | RTLD_NOLOAD)) {
    if (auto corename = reinterpret_cast<char* (*)()>(dlsym(openblas, "openblas_get_corename"))) {
      blasCore = corename();
      Dl_info where;
      if (dladdr(reinterpret_cast<void*>(corename), &where) && where.dli_fname) blasFile = where.dli_fname;
    }
    dlclose(openblas);
  }
  out.Set("openblasCore", blasCore);
  out.Set("openblasLibrary", blasFile);
#if defined(KOCLIP_AVX512_KERNELS)
  out.Set("avx512Kernels", avx512::Available());
#else
  out.Set("avx512Kernels", false);
#endif
  out.Set("onednnMatmul", onednn::Available());
#if defined(KOCLIP_TRAINING_ATTENTION)
  out.Set("trainingAttention", avx512::Available());
#else
  out.Set("trainingAttention", false);
#endif
#ifdef KOCLIP_CUDA
  out.Set("cuda", true);
#else
  out.Set("cuda", false);
#endif
  return out;
}

static Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
#ifdef KOCLIP_CUDA
  return Napi::Number::New(info.Env(), at::cuda::is_available() ? at::cuda::device_count() : 0);
#else
  return Napi::Number::New(info.Env(), 0);
#endif
}

static Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
#ifdef KOCLIP_CUDA
  KOCLIP_GUARD({ if (at::cuda::is_available()) at::cuda::device_synchronize(); })
#endif
  return info.Env().Undefined();
}

void RegisterCore(Napi::Env env, Napi::Object exports) {
  exports.Set("fromBytes", Napi::Function::New(env, FromBytes, "fromBytes"));
  exports.Set("toBytes", Napi::Function::New(env, ToBytes, "toBytes"));
  exports.Set("dispose", Napi::Function::New(env, Dispose, "dispose"));
  exports.Set("shape", Napi::Function::New(env, Shape, "shape"));
  exports.Set("dtype", Napi::Function::New(env, DType, "dtype"));
  exports.Set("device", Napi::Function::New(env, DeviceOf, "device"));
  exports.Set("toDevice", Napi::Function::New(env, ToDevice, "toDevice"));
  exports.Set("requiresGrad", Napi::Function::New(env, RequiresGrad, "requiresGrad"));
  exports.Set("setRequiresGrad", Napi::Function::New(env, SetRequiresGrad, "setRequiresGrad"));
  exports.Set("isLeaf", Napi::Function::New(env, IsLeaf, "isLeaf"));
  exports.Set("grad", Napi::Function::New(env, Grad, "grad"));
  exports.Set("clearGrad", Napi::Function::New(env, ClearGrad, "clearGrad"));
  exports.Set("setGrad", Napi::Function::New(env, SetGrad, "setGrad"));
  exports.Set("backward", Napi::Function::New(env, Backward, "backward"));
  exports.Set("setGradEnabled", Napi::Function::New(env, SetGradEnabled, "setGradEnabled"));
  exports.Set("isGradEnabled", Napi::Function::New(env, IsGradEnabled, "isGradEnabled"));
  exports.Set("setAutocast", Napi::Function::New(env, SetAutocast, "setAutocast"));
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed, "manualSeed"));
  exports.Set("randn", Napi::Function::New(env, Randn, "randn"));
  exports.Set("rand", Napi::Function::New(env, Rand, "rand"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("numThreads", Napi::Function::New(env, NumThreads, "numThreads"));
  exports.Set("liveTensors", Napi::Function::New(env, LiveTensors, "liveTensors"));
  exports.Set("accountTensor", Napi::Function::New(env, AccountTensor, "accountTensor"));
  exports.Set("setScoped", Napi::Function::New(env, SetScoped, "setScoped"));
  exports.Set("externalBytes", Napi::Function::New(env, ExternalBytes, "externalBytes"));
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo, "buildInfo"));
  exports.Set("cudaDeviceCount", Napi::Function::New(env, CudaDeviceCount, "cudaDeviceCount"));
  exports.Set("cudaSynchronize", Napi::Function::New(env, CudaSynchronize, "cudaSynchronize"));
}

}  // namespace koclip
