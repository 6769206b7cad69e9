// The inner loops of Pillow's 8-bit resampling (libImaging/Resample.c), for src/image/resample.ts,
// which computes the filter weights and calls this once per pass. Not a libtorch op: it lives in
// the addon because it is our one native library, and in JavaScript these loops were the largest
// single cost of preparing a photo for the model (5 of 13 ms for a 640x480 JPEG to a 224 crop).
#include <napi.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <string>
#include <vector>

#include "bytes.h"
#include "cpu_kernels.h"
#include "guard.h"
#include "handles.h"

namespace koclip {

namespace {

// One output line: acc[i] = half + sum_k line[k * inner + i] * w[k], then clipped to a byte
// after dropping `bits` fractional bits. Sums are int32 as in Pillow, whose weights leave two
// bits of headroom so they cannot overflow; unsigned adds keep that well defined regardless.
// The i loops are what vectorise (on x86-64 built for AVX2 and the baseline, picked at load
// time), so callers make `inner` long: see ResampleAxisU8.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("O3"), target_clones("avx2", "default")))
#endif
void ResampleLine(const uint8_t* line, int inner, const int32_t* w, int taps, int bits, int32_t* acc, uint8_t* out) {
  const int32_t half = int32_t{1} << (bits - 1);
  for (int i = 0; i < inner; i++) acc[i] = half;
  for (int k = 0; k < taps; k++) {
    const uint8_t* p = line + static_cast<size_t>(k) * inner;
    const uint32_t wk = static_cast<uint32_t>(w[k]);
    for (int i = 0; i < inner; i++) acc[i] = static_cast<int32_t>(static_cast<uint32_t>(acc[i]) + p[i] * wk);
  }
  for (int i = 0; i < inner; i++) {
    const int32_t v = acc[i] >> bits;  // arithmetic shift floors, as Pillow's clip8
    out[i] = static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
  }
}

// [outer, axis, inner] -> [axis, outer, inner] (and back, with the roles swapped), in tiles
// so that both sides stay in cache: row by row, every write landed on a new cache line.
void SwapOuterAxis(const uint8_t* src, int outer, int axis, int inner, uint8_t* dst) {
  constexpr int kTile = 32;
  for (int o0 = 0; o0 < outer; o0 += kTile) {
    for (int a0 = 0; a0 < axis; a0 += kTile) {
      const int o1 = std::min(outer, o0 + kTile), a1 = std::min(axis, a0 + kTile);
      for (int o = o0; o < o1; o++) {
        for (int a = a0; a < a1; a++) {
          std::memcpy(dst + (static_cast<size_t>(a) * outer + o) * inner, src + (static_cast<size_t>(o) * axis + a) * inner, inner);
        }
      }
    }
  }
}

// The same for RGB pixels (inner = 3), which is most of the time of a horizontal pass: each
// pixel moves as one 4-byte load and store (a 3-byte copy is two of each). Pixels are written
// in order along `outer`, so the store's fourth byte lands on the next pixel, written right
// after; the last pixel of each output line (o = outer - 1) moves as 3 bytes.
void SwapOuterAxisRgb(const uint8_t* src, int outer, int axis, uint8_t* dst) {
  constexpr int kTile = 32;
  for (int a0 = 0; a0 < axis; a0 += kTile) {
    const int a1 = std::min(axis, a0 + kTile);
    for (int o0 = 0; o0 < outer; o0 += kTile) {
      const int o1 = std::min(outer, o0 + kTile);
      for (int a = a0; a < a1; a++) {
        uint8_t* line = dst + static_cast<size_t>(a) * outer * 3;
        for (int o = o0; o < o1; o++) {
          const uint8_t* pixel = src + (static_cast<size_t>(o) * axis + a) * 3;
          if (o + 1 < outer) {
            uint32_t v;
            std::memcpy(&v, pixel, 4);  // o + 1 < outer: the next row is there to read into
            std::memcpy(line + o * 3, &v, 4);
          } else {
            std::memcpy(line + o * 3, pixel, 3);
          }
        }
      }
    }
  }
}

// The pass over [1, axis, inner]: one ResampleLine per output index.
void ResampleAxis(const uint8_t* src, int inner, const int32_t* first, const int32_t* count, const int32_t* weights, int ksize, int bits, size_t n, uint8_t* out) {
  // Scratch reused across calls: a fresh allocation here was page-faulted in on every call
  // under jemalloc (bin/koclip-node), which made the whole resize 4x slower.
#if KOCLIP_AVX512_KERNELS
  if (avx512::Available()) {
    for (size_t j = 0; j < n; j++) avx512::ResampleLineU8(src + static_cast<size_t>(first[j]) * inner, inner, weights + j * ksize, count[j], bits, out + j * inner);
    return;
  }
#endif
  thread_local std::vector<int32_t> acc;
  acc.resize(inner);
  for (size_t j = 0; j < n; j++) {
    ResampleLine(src + static_cast<size_t>(first[j]) * inner, inner, weights + j * ksize, count[j], bits, acc.data(), out + j * inner);
  }
}

// The binding's integer argument (handles.h: a TypeError unless an integer), kept to int32, the
// loops' index type.
int32_t ArgInt32(const Napi::CallbackInfo& info, size_t i) {
  const int64_t v = ArgInt(info, i);
  if (v < INT32_MIN || v > INT32_MAX) throw Napi::RangeError::New(info.Env(), "resampleAxisU8: argument " + std::to_string(i) + " out of range");
  return static_cast<int32_t>(v);
}

}  // namespace

// resampleAxisU8(src: Uint8Array [outer, axis, inner], outer, axis, inner,
//                first: Int32Array [n], count: Int32Array [n], weights: Int32Array [n * ksize], ksize, bits)
//   -> Uint8Array [outer, n, inner]:
//   out[o][j][i] = clip8(2^(bits-1) + sum_{k < count[j]} src[o][first[j] + k][i] * weights[j * ksize + k])
// A horizontal pass over RGB rows is (rows, width, 3); a vertical pass is (1, height, width * 3).
static Napi::Value ResampleAxisU8(const Napi::CallbackInfo& info) {
  KOCLIP_GUARD({
    Napi::Env env = info.Env();
    auto isArray = [&](size_t i, napi_typedarray_type type) {
      return info[i].IsTypedArray() && info[i].As<Napi::TypedArray>().TypedArrayType() == type;
    };
    if (info.Length() != 9 || !(isArray(0, napi_uint8_array) || isArray(0, napi_uint8_clamped_array)) || !isArray(4, napi_int32_array) || !isArray(5, napi_int32_array) || !isArray(6, napi_int32_array)) {
      throw Napi::TypeError::New(env, "resampleAxisU8(src: Uint8Array, outer, axis, inner, first: Int32Array, count: Int32Array, weights: Int32Array, ksize, bits): wrong arguments");
    }
    auto srcArray = info[0].As<Napi::TypedArray>();  // Uint8Array or Uint8ClampedArray (canvas pixels)
    const int32_t outer = ArgInt32(info, 1), axis = ArgInt32(info, 2), inner = ArgInt32(info, 3);
    auto first = info[4].As<Napi::Int32Array>(), count = info[5].As<Napi::Int32Array>(), weights = info[6].As<Napi::Int32Array>();
    const int32_t ksize = ArgInt32(info, 7), bits = ArgInt32(info, 8);
    const size_t n = first.ElementLength();
    if (outer < 0 || axis < 0 || inner < 1 || ksize < 1 || bits < 1 || bits > 30) throw Napi::RangeError::New(env, "resampleAxisU8: bad sizes");
    if (srcArray.ElementLength() != static_cast<size_t>(outer) * axis * inner) throw Napi::RangeError::New(env, "resampleAxisU8: src length is not outer * axis * inner");
    if (count.ElementLength() != n || weights.ElementLength() != n * ksize) throw Napi::RangeError::New(env, "resampleAxisU8: first, count and weights disagree in length");
    for (size_t j = 0; j < n; j++) {
      if (first[j] < 0 || count[j] < 0 || count[j] > ksize || first[j] + count[j] > axis) {
        throw Napi::RangeError::New(env, "resampleAxisU8: taps of output " + std::to_string(j) + " fall outside the input");
      }
    }
    const uint8_t* src = static_cast<const uint8_t*>(srcArray.ArrayBuffer().Data()) + srcArray.ByteOffset();
    auto out = UninitializedBytes(env, static_cast<size_t>(outer) * n * inner);
    if (outer == 0 || n == 0) return out;
    if (outer == 1) {
      ResampleAxis(src, inner, first.Data(), count.Data(), weights.Data(), ksize, bits, n, out.Data());
      return out;
    }
    // A horizontal pass has inner = 3: too short a line to vectorise. Each strip of rows is
    // resampled as a vertical pass of [axis, rows * inner] between two transposes instead: 3x
    // faster for 640x480 -> 224, and the strip's buffers stay in cache.
    constexpr int kStripRows = 32;
    thread_local std::vector<uint8_t> swapped, result;
    auto swap = [inner](const uint8_t* from, int o, int a, uint8_t* to) { inner == 3 ? SwapOuterAxisRgb(from, o, a, to) : SwapOuterAxis(from, o, a, inner, to); };
    for (int32_t r0 = 0; r0 < outer; r0 += kStripRows) {
      const int rows = std::min(kStripRows, outer - r0);
      swapped.resize(static_cast<size_t>(rows) * axis * inner);
      result.resize(static_cast<size_t>(rows) * n * inner);
      swap(src + static_cast<size_t>(r0) * axis * inner, rows, axis, swapped.data());
      ResampleAxis(swapped.data(), rows * inner, first.Data(), count.Data(), weights.Data(), ksize, bits, n, result.data());
      swap(result.data(), static_cast<int>(n), rows, out.Data() + static_cast<size_t>(r0) * n * inner);
    }
    return out;
  })
}

void RegisterResample(Napi::Env env, Napi::Object exports) {
  exports.Set("resampleAxisU8", Napi::Function::New(env, ResampleAxisU8, "resampleAxisU8"));
}

}  // namespace koclip
