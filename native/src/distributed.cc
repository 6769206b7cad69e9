// c10d process groups for data-parallel training (src/torch/distributed.ts): a TCPStore for
// rendezvous and small strings, and a process group (Gloo on CPU; NCCL where libtorch was built
// with it) whose collectives run in place on tensor handles. Every collective waits for its Work
// with a timeout, so a dead peer becomes a thrown error instead of a hang. Handles and numbers
// only: which ranks must agree on what is decided in TypeScript.
#include <ATen/ATen.h>
#include <torch/version.h>
#include <napi.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "guard.h"
#include "handles.h"

#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace koclip {

#ifdef USE_C10D_GLOO
namespace {

// libtorch 1.13's ProcessGroupGloo is a c10d::ProcessGroup; 2.x made the backends c10d::Backend.
// Both declare the same collectives, so holding the base of this build serves either.
#if TORCH_VERSION_MAJOR >= 2
using Group = c10d::Backend;
#else
using Group = c10d::ProcessGroup;
#endif

struct StoreHandle {
  c10::intrusive_ptr<c10d::Store> store;
};

struct GroupHandle {
  c10::intrusive_ptr<Group> group;
  int size;
};

StoreHandle& ArgStore(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsExternal()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + ": expected a store");
  return *info[i].As<Napi::External<StoreHandle>>().Data();
}

GroupHandle& ArgGroup(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsExternal()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + ": expected a process group");
  auto& g = *info[i].As<Napi::External<GroupHandle>>().Data();
  if (!g.group) throw Napi::Error::New(info.Env(), "process group already released");
  return g;
}

std::chrono::milliseconds ArgMillis(const Napi::CallbackInfo& info, size_t i) {
  return std::chrono::milliseconds(ArgInt(info, i));
}

// Waits for one collective; Work::wait throws on timeout and rethrows a peer's failure.
void Finish(const c10::intrusive_ptr<c10d::Work>& work, std::chrono::milliseconds timeout) {
  work->wait(timeout);
}

// storeCreate(host, port, isServer, timeoutMs) -> External. The server (rank 0) listens on
// host:port; clients connect to it, retrying until the timeout. No worker count is given: which
// ranks joined is checked through the store itself (distributed.ts), with errors that name them.
Napi::Value StoreCreate(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    c10d::TCPStoreOptions opts;
    const int64_t port = ArgInt(info, 1);
    if (port < 1 || port > 65535) throw Napi::RangeError::New(info.Env(), "storeCreate: port out of range");
    opts.port = static_cast<std::uint16_t>(port);
    opts.isServer = ArgBool(info, 2);
    opts.waitWorkers = false;
    opts.timeout = ArgMillis(info, 3);
    auto* h = new StoreHandle{c10::make_intrusive<c10d::TCPStore>(ArgString(info, 0), opts)};
    return Napi::External<StoreHandle>::New(info.Env(), h, [](Napi::Env, StoreHandle* p) { delete p; });
  })
}

// storeSet(store, key, value): value is a UTF-8 string.
Napi::Value StoreSet(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    const std::string value = ArgString(info, 2);
    ArgStore(info, 0).store->set(ArgString(info, 1), std::vector<uint8_t>(value.begin(), value.end()));
    return info.Env().Undefined();
  })
}

// storeGet(store, key, timeoutMs) -> string, waiting up to the timeout for the key to be set.
Napi::Value StoreGet(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    auto& store = ArgStore(info, 0).store;
    const std::string key = ArgString(info, 1);
    store->wait({key}, ArgMillis(info, 2));
    const auto bytes = store->get(key);
    return Napi::String::New(info.Env(), std::string(bytes.begin(), bytes.end()));
  })
}

// storeAdd(store, key, delta) -> the counter's new value (atomic across ranks).
Napi::Value StoreAdd(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    return Napi::Number::New(info.Env(), static_cast<double>(ArgStore(info, 0).store->add(ArgString(info, 1), ArgInt(info, 2))));
  })
}

// processGroupCreate(store, backend "gloo" | "nccl", rank, size, timeoutMs, device) -> External.
// Gloo's device says where this rank listens for its peers: "iface:NAME" (a network interface),
// an address or host name, or "" for the address this machine's host name resolves to.
Napi::Value ProcessGroupCreate(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    auto& store = ArgStore(info, 0).store;
    const std::string backend = ArgString(info, 1);
    const int rank = static_cast<int>(ArgInt(info, 2));
    const int size = static_cast<int>(ArgInt(info, 3));
    const auto timeout = ArgMillis(info, 4);
    c10::intrusive_ptr<Group> group;
    if (backend == "gloo") {
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
      const std::string device = ArgString(info, 5);
      opts->devices.push_back(device.rfind("iface:", 0) == 0 ? c10d::ProcessGroupGloo::createDeviceForInterface(device.substr(6))
                              : device.empty()             ? c10d::ProcessGroupGloo::createDefaultDevice()
                                                           : c10d::ProcessGroupGloo::createDeviceForHostname(device));
      opts->threads = 2;
      group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, opts);
    } else if (backend == "nccl") {
#ifdef USE_C10D_NCCL
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = timeout;
      group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, opts);
#else
      throw Napi::Error::New(info.Env(), "this libtorch was built without NCCL; use the gloo backend");
#endif
    } else {
      throw Napi::TypeError::New(info.Env(), "processGroupCreate: unknown backend '" + backend + "' (gloo or nccl)");
    }
    auto* h = new GroupHandle();  // (not brace-initialised: the guard macro would split its comma)
    h->group = group;
    h->size = size;
    return Napi::External<GroupHandle>::New(info.Env(), h, [](Napi::Env, GroupHandle* p) { delete p; });
  })
}

// processGroupRelease(group): closes its connections now (the External goes with the GC).
Napi::Value ProcessGroupRelease(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "processGroupRelease: expected a process group");
    info[0].As<Napi::External<GroupHandle>>().Data()->group.reset();
    return info.Env().Undefined();
  })
}

// allReduce(group, handles[], op "sum" | "max", timeoutMs): in place, every rank ends with the
// same values. (An average is a sum divided on the TS side: Gloo has no AVG.)
Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    auto& g = ArgGroup(info, 0);
    auto tensors = ArgTensorList(info, 1);
    const std::string op = ArgString(info, 2);
    c10d::AllreduceOptions opts;
    if (op == "sum") opts.reduceOp = c10d::ReduceOp::SUM;
    else if (op == "max") opts.reduceOp = c10d::ReduceOp::MAX;
    else throw Napi::TypeError::New(info.Env(), "allReduce: unknown op '" + op + "' (sum or max)");
    // Gloo reduces one list entry per device; several tensors go as one flat buffer.
    at::Tensor flat = tensors.size() == 1 && tensors[0].is_contiguous() ? tensors[0] : at::cat(c10::fmap(tensors, [](const at::Tensor& t) { return t.reshape({-1}); }));
    std::vector<at::Tensor> list{flat};
    Finish(g.group->allreduce(list, opts), ArgMillis(info, 3));
    if (!flat.is_same(tensors[0])) {
      int64_t offset = 0;
      for (auto& t : tensors) {
        t.copy_(flat.narrow(0, offset, t.numel()).view(t.sizes()));
        offset += t.numel();
      }
    }
    return info.Env().Undefined();
  })
}

// allGather(group, handle, timeoutMs) -> one new handle per rank, in rank order.
Napi::Value AllGather(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    auto& g = ArgGroup(info, 0);
    std::vector<at::Tensor> input{ArgTensor(info, 1).contiguous()};
    std::vector<std::vector<at::Tensor>> outputs(1);
    for (int r = 0; r < g.size; r++) outputs[0].push_back(at::empty_like(input[0]));
    Finish(g.group->allgather(outputs, input), ArgMillis(info, 2));
    return WrapTuple(info.Env(), outputs[0]);
  })
}

// broadcast(group, handle, root, timeoutMs): in place, from rank `root` to all.
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    auto& g = ArgGroup(info, 0);
    std::vector<at::Tensor> list{ArgTensor(info, 1)};
    if (!list[0].is_contiguous()) throw Napi::Error::New(info.Env(), "broadcast: tensor must be contiguous");
    c10d::BroadcastOptions opts;
    opts.rootRank = static_cast<int>(ArgInt(info, 2));
    Finish(g.group->broadcast(list, opts), ArgMillis(info, 3));
    return info.Env().Undefined();
  })
}

// barrier(group, timeoutMs).
Napi::Value Barrier(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    auto& g = ArgGroup(info, 0);
    Finish(g.group->barrier(c10d::BarrierOptions()), ArgMillis(info, 1));
    return info.Env().Undefined();
  })
}

}  // namespace
#endif

// Backends this build can create: ["gloo"] and "nccl" where libtorch has it; [] without c10d.
static Napi::Value DistributedBackends(const Napi::CallbackInfo& info) {
  auto out = Napi::Array::New(info.Env());
#ifdef USE_C10D_GLOO
  out.Set(out.Length(), "gloo");
#endif
#ifdef USE_C10D_NCCL
  out.Set(out.Length(), "nccl");
#endif
  return out;
}

void RegisterDistributed(Napi::Env env, Napi::Object exports) {
  exports.Set("distributedBackends", Napi::Function::New(env, DistributedBackends, "distributedBackends"));
#ifdef USE_C10D_GLOO
  exports.Set("storeCreate", Napi::Function::New(env, StoreCreate, "storeCreate"));
  exports.Set("storeSet", Napi::Function::New(env, StoreSet, "storeSet"));
  exports.Set("storeGet", Napi::Function::New(env, StoreGet, "storeGet"));
  exports.Set("storeAdd", Napi::Function::New(env, StoreAdd, "storeAdd"));
  exports.Set("processGroupCreate", Napi::Function::New(env, ProcessGroupCreate, "processGroupCreate"));
  exports.Set("processGroupRelease", Napi::Function::New(env, ProcessGroupRelease, "processGroupRelease"));
  exports.Set("allReduce", Napi::Function::New(env, AllReduce, "allReduce"));
  exports.Set("allGather", Napi::Function::New(env, AllGather, "allGather"));
  exports.Set("broadcast", Napi::Function::New(env, Broadcast, "broadcast"));
  exports.Set("barrier", Napi::Function::New(env, Barrier, "barrier"));
#endif
}

}  // namespace koclip
