// Byte arrays for results the caller fills completely. Napi::Uint8Array::New zero-fills with
// calloc, and jemalloc (preloaded by bin/koclip-node) zeroes large blocks by giving their pages
// back to the kernel, so every page faulted in again on first write: a 1 MB result cost 3.4 ms
// here instead of 0.13. node::Buffer allocations skip the zero-fill.
#pragma once
#include <napi.h>

#include <cstddef>

namespace koclip {

// A plain Uint8Array (not a Buffer, whose slice() would share memory) of n uninitialised bytes.
inline Napi::Uint8Array UninitializedBytes(Napi::Env env, size_t n) {
  auto buffer = Napi::Buffer<uint8_t>::New(env, n);
  return Napi::Uint8Array::New(env, n, buffer.ArrayBuffer(), buffer.ByteOffset());
}

}  // namespace koclip
