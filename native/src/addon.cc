// Entry point of koclip.node: the thin libtorch binding. No model knowledge lives here.
#include <ATen/Parallel.h>
#include <malloc.h>
#include <napi.h>

#include <cstdlib>
#include <thread>

namespace koclip {
void RegisterCore(Napi::Env env, Napi::Object exports);
void RegisterGeneratedOps(Napi::Env env, Napi::Object exports);
}  // namespace koclip

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // glibc raises its mmap threshold each time a large block is freed, after which tensor-sized
  // blocks come from the heap and fragment it: a training loop grew to gigabytes. A fixed
  // threshold keeps big tensors in mmap'd blocks that go back to the OS on free.
  // (Under jemalloc, LD_PRELOADed by the CLI, mallopt is a no-op.)
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024);

  // libtorch 1.13 defaults to half the cores for intra-op work; use them all unless told otherwise.
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  if (const char* env_threads = std::getenv("KOCLIP_NUM_THREADS")) threads = std::atoi(env_threads);
  if (threads > 0) at::set_num_threads(threads);

  koclip::RegisterCore(env, exports);
  koclip::RegisterGeneratedOps(env, exports);
  return exports;
}

NODE_API_MODULE(koclip, Init)
