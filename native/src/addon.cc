// Entry point of koclip.node: the thin libtorch binding (plus Pillow's resampling loops,
// resample.cc). No model knowledge lives here.
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <malloc.h>
#include <napi.h>

#include <cstdlib>
#include <string>
#include <thread>

namespace koclip {
void RegisterCore(Napi::Env env, Napi::Object exports);
void InitTensorTable(Napi::Env env);
void RegisterDistributed(Napi::Env env, Napi::Object exports);
void RegisterGeneratedOps(Napi::Env env, Napi::Object exports);
void RegisterQuantized(Napi::Env env, Napi::Object exports);
void RegisterResample(Napi::Env env, Napi::Object exports);
}  // namespace koclip

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // For processes started without bin/koclip-node (which preloads jemalloc): glibc's defaults let
  // freed tensor memory fragment across per-thread arenas (a training loop's RSS kept growing),
  // while mmap'ing big blocks makes every step page-fault them in again (3x slower training
  // here). One arena and a high fixed mmap threshold keep RSS flat and reuse pages.
  // KOCLIP_MALLOPT=0 keeps glibc's defaults (for comparisons).
  const char* tune = std::getenv("KOCLIP_MALLOPT");
  if (dlsym(RTLD_DEFAULT, "mallctl") == nullptr && !(tune && std::string(tune) == "0")) {
    mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
    mallopt(M_ARENA_MAX, 1);
  }

  // libtorch 1.13 defaults to half the cores for intra-op work; use them all unless told otherwise.
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  if (const char* env_threads = std::getenv("KOCLIP_NUM_THREADS")) threads = std::atoi(env_threads);
  if (threads > 0) at::set_num_threads(threads);

  koclip::InitTensorTable(env);
  koclip::RegisterCore(env, exports);
  koclip::RegisterDistributed(env, exports);
  koclip::RegisterGeneratedOps(env, exports);
  koclip::RegisterQuantized(env, exports);
  koclip::RegisterResample(env, exports);
  return exports;
}

NODE_API_MODULE(koclip, Init)
