// Entry point of koclip.node: the thin libtorch binding. No model knowledge lives here.
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <malloc.h>
#include <napi.h>

#include <cstdlib>
#include <thread>

namespace koclip {
void RegisterCore(Napi::Env env, Napi::Object exports);
void InitTensorTable(Napi::Env env);
void RegisterGeneratedOps(Napi::Env env, Napi::Object exports);
}  // namespace koclip

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // glibc raises its mmap threshold each time a large block is freed, after which tensor-sized
  // blocks come from the heap and fragment it: a training loop grew to gigabytes. A fixed
  // threshold keeps big tensors in mmap'd blocks that go back to the OS on free.
  // Per-thread arenas (OpenMP and BLAS workers) fragment the same way, so keep one arena.
  // This is the fallback for processes started without bin/koclip-node, which preloads jemalloc
  // (flat RSS in the 5,000-step test); under jemalloc these settings would be meaningless.
  if (dlsym(RTLD_DEFAULT, "mallctl") == nullptr) {
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
    mallopt(M_ARENA_MAX, 1);
  }

  // libtorch 1.13 defaults to half the cores for intra-op work; use them all unless told otherwise.
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  if (const char* env_threads = std::getenv("KOCLIP_NUM_THREADS")) threads = std::atoi(env_threads);
  if (threads > 0) at::set_num_threads(threads);

  koclip::InitTensorTable(env);
  koclip::RegisterCore(env, exports);
  koclip::RegisterGeneratedOps(env, exports);
  return exports;
}

NODE_API_MODULE(koclip, Init)
