// Hand-vectorised CPU loops for inference, where Debian's libtorch 1.13 is slow: it was built for
// AVX2 at most, and runs attention as one small BLAS call per head and softmax as a separate
// pass over memory. These use AVX-512 when the CPU has it (checked once at run time); callers
// fall back to the composed libtorch ops when avx512::Available() is false (or, on other
// architectures, KOCLIP_AVX512_KERNELS is undefined).
#pragma once
#include <cstdint>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KOCLIP_AVX512_KERNELS 1

namespace koclip::avx512 {

// True when this CPU has AVX-512F and KOCLIP_AVX512 is not "0" (checked once; the variable is
// there to compare both routes).
bool Available();

// softmax(q kᵀ · scale + mask) v for one head. Rows are `*Row` floats apart, elements contiguous.
// q [tq, d], k [tk, d], v [tk, dv] → out [tq, dv]. The mask (optional) is an additive float mask
// or a boolean one (true = may attend), element (i, j) at i·rowStride + j·keyStride (a stride is
// 0 where it is broadcast); `causal` also masks j > i. Requires tk <= kMaxKeys, dv % 16 == 0.
struct HeadMask {
  const float* additive = nullptr;  // exactly one of these or neither
  const bool* allowed = nullptr;
  int64_t rowStride = 0;  // between query rows (0: one row for all)
  int64_t keyStride = 1;  // between keys
};
constexpr int kMaxKeys = 128;
void AttendHead(const float* q, int64_t qRow, const float* k, int64_t kRow, const float* v, int64_t vRow, float* out,
                int64_t outRow, int tq, int tk, int d, int dv, float scale, const HeadMask& mask, bool causal);

// Softmax over each of tq rows of tk scores in place (row i at s + i·tk), the head's mask and
// causality applied first as in AttendHead; a row whose every key is masked becomes NaN, as
// libtorch's softmax makes it. The forward of training attention (training_attention.cc).
void SoftmaxRows(float* s, int tq, int tk, const HeadMask& mask, bool causal);

// Softmax's backward in place, row by row: dp ← p ⊙ (dp − Σ_j dp_j·p_j), for tq rows of tk.
void SoftmaxBackwardRows(const float* p, float* dp, int tq, int tk);

// x ← x·σ(1.702x), OpenAI CLIP's quick_gelu, in one pass over n contiguous floats.
void QuickGeluInPlace(float* x, int64_t n);

// GELU with erf (Hugging Face's "gelu"), x·Φ(x) = x·(1 + erf(x/√2))/2, over n contiguous floats,
// from `x` into `out` (the same pointer for in place). erf as libtorch's vectorised one computes it
// (Abramowitz and Stegun 7.1.26, absolute error < 1.5e-7).
void Gelu(const float* x, float* out, int64_t n);

// GELU's backward: out = grad·(Φ(x) + x·φ(x)), φ the standard normal density, over n floats.
void GeluBackward(const float* x, const float* grad, float* out, int64_t n);

// The same on bfloat16 tensors (bits as uint16_t): computed in float32, rounded to nearest even,
// as libtorch's bfloat16 gelu and gelu_backward do.
void GeluBf16(const uint16_t* x, uint16_t* out, int64_t n);
void GeluBackwardBf16(const uint16_t* x, const uint16_t* grad, uint16_t* out, int64_t n);

// The smallest and largest of n contiguous floats (n >= 1), in one pass; NaNs are skipped.
void MinMax(const float* x, int64_t n, float* lo, float* hi);

// out[i] = clamp(round(x[i] · inverseScale) + zeroPoint, 0, 255), rounding half to even: the
// uint8 activation quantisation of dynamic int8 layers, in one pass.
void QuantizeU8(const float* x, int64_t n, float inverseScale, int32_t zeroPoint, uint8_t* out);

// One output line of Pillow's 8-bit resampling (resample.cc): out[i] = clamp((2^(bits-1) +
// Σ_k line[k·inner + i] · w[k]) >> bits, 0, 255) for i < inner, with int32 sums that wrap as
// Pillow's do. The sums stay in registers across the taps.
void ResampleLineU8(const uint8_t* line, int64_t inner, const int32_t* w, int taps, int bits, uint8_t* out);

// y[i] ← scale · y[i] + shift · columns[i] + bias[i] (bias may be null: 0), over n floats: the
// dequantisation of one row of an int8 GEMM whose activations had their own scale and zero point.
void AffineRow(float* y, int64_t n, float scale, float shift, const float* columns, const float* bias);

}  // namespace koclip::avx512

#endif
