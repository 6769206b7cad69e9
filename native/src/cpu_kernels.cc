#include "cpu_kernels.h"

#if defined(KOCLIP_AVX512_KERNELS)
// GCC 12's reduce intrinsics start from _mm512_undefined_ps(), which it then reports as (maybe)
// uninitialised (a false positive of the header, not of this file).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#define KOCLIP_AVX512 __attribute__((target("avx512f")))

namespace koclip::avx512 {

bool Available() {
  static const bool available = [] {
    const char* setting = std::getenv("KOCLIP_AVX512");
    return __builtin_cpu_supports("avx512f") && !(setting != nullptr && std::string(setting) == "0");
  }();
  return available;
}

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// The lanes of a 16-float vector that hold data when `left` elements remain (all 16 when >= 16).
inline __mmask16 Live(int64_t left) { return left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1); }

// e^x, and exactly 0 for x <= -103 (so for -inf, a masked score): x = n·ln2 + r with |r| <= ln2/2,
// e^r from its Taylor polynomial to r^7 (relative error < 2e-8 before rounding), times 2^n.
// Callers keep x <= 88 (e^88 is finite). NaN gives 0 here; the caller's own arithmetic keeps it.
KOCLIP_AVX512 inline __m512 Exp(__m512 x) {
  const __m512 floor = _mm512_set1_ps(-103.0f);
  const __mmask16 live = _mm512_cmp_ps_mask(x, floor, _CMP_GT_OQ);
  x = _mm512_max_ps(floor, x);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);  // ln2 in two parts: n·ln2 exactly
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
  // Horner's rule spelled out: as a loop over an initializer list, GCC stored the coefficients
  // to the stack and looped over them on every call.
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(1.0f / 5040), r, _mm512_set1_ps(1.0f / 720));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_maskz_mov_ps(live, _mm512_scalef_ps(p, n));
}

// Transposes 16 rows of 16 floats in registers (unpack pairs, then 2×2 blocks, then 4×4 blocks
// of four-float lanes).
KOCLIP_AVX512 inline void Transpose16x16(__m512 r[16]) {
  __m512 t[16];
  for (int x = 0; x < 16; x += 2) {
    t[x] = _mm512_unpacklo_ps(r[x], r[x + 1]);
    t[x + 1] = _mm512_unpackhi_ps(r[x], r[x + 1]);
  }
  for (int x = 0; x < 16; x += 4) {
    r[x] = _mm512_shuffle_ps(t[x], t[x + 2], 0x44);
    r[x + 1] = _mm512_shuffle_ps(t[x], t[x + 2], 0xEE);
    r[x + 2] = _mm512_shuffle_ps(t[x + 1], t[x + 3], 0x44);
    r[x + 3] = _mm512_shuffle_ps(t[x + 1], t[x + 3], 0xEE);
  }
  for (int x = 0; x < 4; x++) {
    t[x] = _mm512_shuffle_f32x4(r[x], r[x + 4], 0x88);
    t[x + 4] = _mm512_shuffle_f32x4(r[x], r[x + 4], 0xDD);
    t[x + 8] = _mm512_shuffle_f32x4(r[x + 8], r[x + 12], 0x88);
    t[x + 12] = _mm512_shuffle_f32x4(r[x + 8], r[x + 12], 0xDD);
  }
  for (int x = 0; x < 8; x++) {
    r[x] = _mm512_shuffle_f32x4(t[x], t[x + 8], 0x88);
    r[x + 8] = _mm512_shuffle_f32x4(t[x], t[x + 8], 0xDD);
  }
}

// The head's keys transposed, [d][nb·16], so that one query row's scores are nb vectors
// accumulated over d broadcasts. Keys past tk are zero. 16×16 tiles through registers: a gather
// per column took a quarter of the attention's time.
KOCLIP_AVX512 void TransposeKeys(const float* k, int64_t kRow, int tk, int d, int nb, float* kt) {
  __m512 tile[16];
  for (int b = 0; b < nb; b++) {
    const int keys = std::min(16, tk - 16 * b);
    for (int c = 0; c < d; c += 16) {
      const int dims = std::min(16, d - c);
      const __mmask16 present = dims == 16 ? 0xFFFF : static_cast<__mmask16>((1u << dims) - 1);
#pragma GCC unroll 16
      for (int x = 0; x < 16; x++) {
        tile[x] = x < keys ? _mm512_maskz_loadu_ps(present, k + (16 * b + x) * kRow + c) : _mm512_setzero_ps();
      }
      Transpose16x16(tile);
      for (int x = 0; x < dims; x++) _mm512_storeu_ps(kt + (static_cast<int64_t>(c + x) * nb + b) * 16, tile[x]);
    }
  }
}

// scores[0, nb·16) = q_i · kᵀ · scale, two accumulators per block (even and odd d) so that the
// FMAs' latency overlaps.
template <int NB>
KOCLIP_AVX512 void RowScores(const float* qi, const float* kt, int d, float scale, float* scores) {
  __m512 even[NB], odd[NB];  // every loop over b is unrolled, so that these stay in registers
#pragma GCC unroll 8
  for (int b = 0; b < NB; b++) even[b] = odd[b] = _mm512_setzero_ps();
  int dd = 0;
  for (; dd + 1 < d; dd += 2) {
    const __m512 q0 = _mm512_set1_ps(qi[dd]), q1 = _mm512_set1_ps(qi[dd + 1]);
    const float* k0 = kt + static_cast<int64_t>(dd) * NB * 16;
#pragma GCC unroll 8
    for (int b = 0; b < NB; b++) {
      even[b] = _mm512_fmadd_ps(q0, _mm512_loadu_ps(k0 + 16 * b), even[b]);
      odd[b] = _mm512_fmadd_ps(q1, _mm512_loadu_ps(k0 + NB * 16 + 16 * b), odd[b]);
    }
  }
  if (dd < d) {
    const __m512 q0 = _mm512_set1_ps(qi[dd]);
#pragma GCC unroll 8
    for (int b = 0; b < NB; b++) even[b] = _mm512_fmadd_ps(q0, _mm512_loadu_ps(kt + static_cast<int64_t>(dd) * NB * 16 + 16 * b), even[b]);
  }
  const __m512 s = _mm512_set1_ps(scale);
#pragma GCC unroll 8
  for (int b = 0; b < NB; b++) _mm512_storeu_ps(scores + 16 * b, _mm512_mul_ps(_mm512_add_ps(even[b], odd[b]), s));
}

using RowScoresFn = void (*)(const float*, const float*, int, float, float*);
constexpr RowScoresFn kRowScores[] = {RowScores<1>, RowScores<2>, RowScores<3>, RowScores<4>,
                                      RowScores<5>, RowScores<6>, RowScores<7>, RowScores<8>};
static_assert(sizeof(kRowScores) / sizeof(kRowScores[0]) * 16 == kMaxKeys, "one RowScores per block count");

// out_i = Σ_j p_j v_j / total, 64 columns at a time with the keys split even/odd (8 chains, held
// in registers: spelled out, as GCC spills arrays of them), then 16 at a time.
KOCLIP_AVX512 void WeightedValues(const float* p, int tk, const float* v, int64_t vRow, int dv, float inv, float* out) {
  const __m512 scale = _mm512_set1_ps(inv);
  int c = 0;
  for (; c + 64 <= dv; c += 64) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    const float* row = v + c;
    int j = 0;
    for (; j + 1 < tk; j += 2, row += 2 * vRow) {
      const __m512 p0 = _mm512_set1_ps(p[j]), p1 = _mm512_set1_ps(p[j + 1]);
      a0 = _mm512_fmadd_ps(p0, _mm512_loadu_ps(row), a0);
      a1 = _mm512_fmadd_ps(p0, _mm512_loadu_ps(row + 16), a1);
      a2 = _mm512_fmadd_ps(p0, _mm512_loadu_ps(row + 32), a2);
      a3 = _mm512_fmadd_ps(p0, _mm512_loadu_ps(row + 48), a3);
      b0 = _mm512_fmadd_ps(p1, _mm512_loadu_ps(row + vRow), b0);
      b1 = _mm512_fmadd_ps(p1, _mm512_loadu_ps(row + vRow + 16), b1);
      b2 = _mm512_fmadd_ps(p1, _mm512_loadu_ps(row + vRow + 32), b2);
      b3 = _mm512_fmadd_ps(p1, _mm512_loadu_ps(row + vRow + 48), b3);
    }
    if (j < tk) {
      const __m512 p0 = _mm512_set1_ps(p[j]);
      a0 = _mm512_fmadd_ps(p0, _mm512_loadu_ps(row), a0);
      a1 = _mm512_fmadd_ps(p0, _mm512_loadu_ps(row + 16), a1);
      a2 = _mm512_fmadd_ps(p0, _mm512_loadu_ps(row + 32), a2);
      a3 = _mm512_fmadd_ps(p0, _mm512_loadu_ps(row + 48), a3);
    }
    _mm512_storeu_ps(out + c, _mm512_mul_ps(_mm512_add_ps(a0, b0), scale));
    _mm512_storeu_ps(out + c + 16, _mm512_mul_ps(_mm512_add_ps(a1, b1), scale));
    _mm512_storeu_ps(out + c + 32, _mm512_mul_ps(_mm512_add_ps(a2, b2), scale));
    _mm512_storeu_ps(out + c + 48, _mm512_mul_ps(_mm512_add_ps(a3, b3), scale));
  }
  for (; c < dv; c += 16) {
    __m512 a = _mm512_setzero_ps(), b = _mm512_setzero_ps();
    int j = 0;
    for (; j + 1 < tk; j += 2) {
      a = _mm512_fmadd_ps(_mm512_set1_ps(p[j]), _mm512_loadu_ps(v + j * vRow + c), a);
      b = _mm512_fmadd_ps(_mm512_set1_ps(p[j + 1]), _mm512_loadu_ps(v + (j + 1) * vRow + c), b);
    }
    if (j < tk) a = _mm512_fmadd_ps(_mm512_set1_ps(p[j]), _mm512_loadu_ps(v + j * vRow + c), a);
    _mm512_storeu_ps(out + c, _mm512_mul_ps(_mm512_add_ps(a, b), scale));
  }
}

// Offsets of 16 consecutive keys in a mask row whose keys lie `keyStride` floats apart.
KOCLIP_AVX512 inline __m512i KeyOffsets(const HeadMask& mask) {
  return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(static_cast<int>(mask.keyStride)));
}

// Scores x of keys j0..j0+15 of query row i with the head's mask applied: keys at or past
// `visible` (the row's end, or causality) and keys the mask hides become -inf, in registers
// (scalar stores into the row would stall the vector loads that follow: store forwarding).
KOCLIP_AVX512 inline __m512 MaskKeys(__m512 x, const HeadMask& mask, int i, int j0, int visible, __m512i keyOffsets) {
  const int keys = std::min(16, visible - j0);
  __mmask16 live = keys <= 0 ? 0 : Live(keys);
  if (mask.additive != nullptr) {
    const float* additive = mask.additive + i * mask.rowStride + j0 * mask.keyStride;
    x = _mm512_add_ps(x, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), live, keyOffsets, additive, 4));
  } else if (mask.allowed != nullptr) {
    const bool* allowed = mask.allowed + i * mask.rowStride + j0 * mask.keyStride;
    for (int t = 0; t < keys; t++) {
      if (!allowed[t * mask.keyStride]) live &= static_cast<__mmask16>(~(1u << t));
    }
  }
  return _mm512_mask_mov_ps(_mm512_set1_ps(kNegInf), live, x);
}

}  // namespace

KOCLIP_AVX512 void AttendHead(const float* q, int64_t qRow, const float* k, int64_t kRow, const float* v, int64_t vRow,
                              float* out, int64_t outRow, int tq, int tk, int d, int dv, float scale, const HeadMask& mask,
                              bool causal) {
  const int nb = (tk + 15) / 16;
  thread_local std::vector<float> kt, vHead;
  kt.resize(static_cast<size_t>(d) * nb * 16);
  TransposeKeys(k, kRow, tk, d, nb, kt.data());
  // The head's values packed together: rows of a [B, T, 3·H·D] projection lie 9 KB apart for
  // ViT-B/32, so all of them fall into a quarter of L1's sets and evict each other between the
  // query rows that reread them.
  if (vRow != dv) {
    vHead.resize(static_cast<size_t>(tk) * dv);
    for (int j = 0; j < tk; j++) std::copy(v + j * vRow, v + j * vRow + dv, vHead.data() + static_cast<size_t>(j) * dv);
    v = vHead.data();
    vRow = dv;
  }
  alignas(64) float scores[kMaxKeys];
  const RowScoresFn rowScores = kRowScores[nb - 1];
  const __m512i keyOffsets = KeyOffsets(mask);
  for (int i = 0; i < tq; i++) {
    rowScores(q + i * qRow, kt.data(), d, scale, scores);
    // Masked keys (and the padding past tk) become -inf.
    const int visible = causal ? std::min(tk, i + 1) : tk;
    __m512 top = _mm512_set1_ps(kNegInf);
    for (int b = 0; b < nb; b++) {
      const int j0 = 16 * b;
      const __m512 row = MaskKeys(_mm512_loadu_ps(scores + j0), mask, i, j0, visible, keyOffsets);
      _mm512_storeu_ps(scores + j0, row);
      top = _mm512_max_ps(top, row);
    }
    const float max = _mm512_reduce_max_ps(top);
    float* outRowPtr = out + i * outRow;
    if (max == kNegInf) {  // every key masked: softmax is 0/0, as libtorch's
      std::fill(outRowPtr, outRowPtr + dv, std::numeric_limits<float>::quiet_NaN());
      continue;
    }
    const __m512 shift = _mm512_set1_ps(max);
    __m512 total = _mm512_setzero_ps();
    for (int b = 0; b < nb; b++) {
      const __m512 e = Exp(_mm512_sub_ps(_mm512_loadu_ps(scores + 16 * b), shift));
      _mm512_storeu_ps(scores + 16 * b, e);
      total = _mm512_add_ps(total, e);
    }
    WeightedValues(scores, tk, v, vRow, dv, 1.0f / _mm512_reduce_add_ps(total), outRowPtr);
  }
}

KOCLIP_AVX512 void SoftmaxRows(float* s, int tq, int tk, const HeadMask& mask, bool causal) {
  const __m512i keyOffsets = KeyOffsets(mask);
  for (int i = 0; i < tq; i++) {
    float* row = s + static_cast<int64_t>(i) * tk;
    const int visible = causal ? std::min(tk, i + 1) : tk;
    __m512 top = _mm512_set1_ps(kNegInf);
    for (int j0 = 0; j0 < tk; j0 += 16) {
      const __mmask16 inRow = Live(tk - j0);
      const __m512 x = MaskKeys(_mm512_maskz_loadu_ps(inRow, row + j0), mask, i, j0, visible, keyOffsets);
      _mm512_mask_storeu_ps(row + j0, inRow, x);
      top = _mm512_max_ps(top, x);
    }
    const float max = _mm512_reduce_max_ps(top);
    if (max == kNegInf) {  // every key masked: 0/0
      std::fill(row, row + tk, std::numeric_limits<float>::quiet_NaN());
      continue;
    }
    const __m512 shift = _mm512_set1_ps(max);
    __m512 total = _mm512_setzero_ps();
    for (int j0 = 0; j0 < tk; j0 += 16) {
      const __mmask16 inRow = Live(tk - j0);
      const __m512 e = _mm512_maskz_mov_ps(inRow, Exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(inRow, row + j0), shift)));
      _mm512_mask_storeu_ps(row + j0, inRow, e);
      total = _mm512_add_ps(total, e);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(total));
    for (int j0 = 0; j0 < tk; j0 += 16) {
      const __mmask16 inRow = Live(tk - j0);
      _mm512_mask_storeu_ps(row + j0, inRow, _mm512_mul_ps(_mm512_maskz_loadu_ps(inRow, row + j0), inv));
    }
  }
}

KOCLIP_AVX512 void SoftmaxBackwardRows(const float* p, float* dp, int tq, int tk) {
  for (int i = 0; i < tq; i++) {
    const float* pRow = p + static_cast<int64_t>(i) * tk;
    float* dRow = dp + static_cast<int64_t>(i) * tk;
    __m512 dot = _mm512_setzero_ps();
    for (int j0 = 0; j0 < tk; j0 += 16) {
      const __mmask16 inRow = Live(tk - j0);
      dot = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(inRow, pRow + j0), _mm512_maskz_loadu_ps(inRow, dRow + j0), dot);
    }
    const __m512 centre = _mm512_set1_ps(_mm512_reduce_add_ps(dot));
    for (int j0 = 0; j0 < tk; j0 += 16) {
      const __mmask16 inRow = Live(tk - j0);
      const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(inRow, dRow + j0), centre);
      _mm512_mask_storeu_ps(dRow + j0, inRow, _mm512_mul_ps(_mm512_maskz_loadu_ps(inRow, pRow + j0), d));
    }
  }
}

namespace {

// v·σ(1.702 v) = v / (1 + e^(-1.702 v)); the exponent is capped at 88, where the quotient is ~0.
KOCLIP_AVX512 inline __m512 QuickGelu(__m512 v) {
  const __m512 exponent = _mm512_min_ps(_mm512_set1_ps(88.0f), _mm512_mul_ps(v, _mm512_set1_ps(-1.702f)));
  return _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.0f), Exp(exponent)));
}

}  // namespace

KOCLIP_AVX512 void QuickGeluInPlace(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, QuickGelu(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 tail = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(x + i, tail, QuickGelu(_mm512_maskz_loadu_ps(tail, x + i)));
  }
}

namespace {

// Φ(x) = (1 + erf(x/√2))/2 and, in `density`, e^(-x²/2) (φ(x)·√(2π)), for GELU and its backward.
// erf(z) = 1 - t·(a1 + t·(a2 + … + t·a5))·e^(-z²), t = 1/(1 + p|z|), odd in z.
KOCLIP_AVX512 inline __m512 NormalCdf(__m512 x, __m512* density) {
  const __m512 z = _mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f));
  const __m512 absZ = _mm512_abs_ps(z);
  const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), absZ, _mm512_set1_ps(1.0f)));
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(1.061405429f), t, _mm512_set1_ps(-1.453152027f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
  p = _mm512_mul_ps(p, t);
  *density = Exp(_mm512_mul_ps(_mm512_mul_ps(z, z), _mm512_set1_ps(-1.0f)));
  const __m512 erfAbs = _mm512_fnmadd_ps(p, *density, _mm512_set1_ps(1.0f));
  // erf takes z's sign: flip the sign bit where z < 0.
  const __m512 erf = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(erfAbs),
      _mm512_and_si512(_mm512_castps_si512(z), _mm512_set1_epi32(static_cast<int>(0x80000000u)))));
  return _mm512_mul_ps(_mm512_add_ps(erf, _mm512_set1_ps(1.0f)), _mm512_set1_ps(0.5f));
}

KOCLIP_AVX512 inline __m512 GeluLanes(__m512 x) {
  __m512 density;
  return _mm512_mul_ps(x, NormalCdf(x, &density));
}

KOCLIP_AVX512 inline __m512 GeluGradLanes(__m512 x, __m512 grad) {
  __m512 density;
  const __m512 cdf = NormalCdf(x, &density);
  const __m512 slope = _mm512_fmadd_ps(_mm512_mul_ps(x, density), _mm512_set1_ps(0.39894228040143268f), cdf);  // 1/√(2π)
  return _mm512_mul_ps(grad, slope);
}

}  // namespace

KOCLIP_AVX512 void Gelu(const float* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 live = Live(n - i);
    _mm512_mask_storeu_ps(out + i, live, GeluLanes(_mm512_maskz_loadu_ps(live, x + i)));
  }
}

KOCLIP_AVX512 void GeluBackward(const float* x, const float* grad, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 live = Live(n - i);
    _mm512_mask_storeu_ps(out + i, live, GeluGradLanes(_mm512_maskz_loadu_ps(live, x + i), _mm512_maskz_loadu_ps(live, grad + i)));
  }
}

namespace {

// bfloat16 ↔ float32: a bfloat16 is a float32's top 16 bits.
// (16-bit masked loads need AVX-512BW; a partial vector goes through a zeroed buffer instead.)
KOCLIP_AVX512 inline __m512 LoadBf16(const uint16_t* p, __mmask16 live) {
  __m256i half;
  if (live == 0xffff) {
    half = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  } else {
    alignas(32) uint16_t part[16] = {};
    std::copy(p, p + __builtin_popcount(live), part);
    half = _mm256_load_si256(reinterpret_cast<const __m256i*>(part));
  }
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(half), 16));
}

// Rounds to the nearest bfloat16, ties to even; NaNs stay NaNs (quiet), as c10::BFloat16 rounds.
KOCLIP_AVX512 inline void StoreBf16(uint16_t* p, __mmask16 live, __m512 v) {
  const __m512i bits = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(bits, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  rounded = _mm512_mask_mov_epi32(rounded, nan, _mm512_set1_epi32(0x7fc0));
  _mm512_mask_cvtepi32_storeu_epi16(p, live, rounded);
}


}  // namespace

KOCLIP_AVX512 void GeluBf16(const uint16_t* x, uint16_t* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 live = Live(n - i);
    StoreBf16(out + i, live, GeluLanes(LoadBf16(x + i, live)));
  }
}

KOCLIP_AVX512 void GeluBackwardBf16(const uint16_t* x, const uint16_t* grad, uint16_t* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 live = Live(n - i);
    StoreBf16(out + i, live, GeluGradLanes(LoadBf16(x + i, live), LoadBf16(grad + i, live)));
  }
}

KOCLIP_AVX512 void MinMax(const float* x, int64_t n, float* lo, float* hi) {
  // Two accumulators each, so consecutive loads do not wait on one another's min/max.
  __m512 lo0 = _mm512_set1_ps(std::numeric_limits<float>::infinity()), lo1 = lo0;
  __m512 hi0 = _mm512_set1_ps(kNegInf), hi1 = hi0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 a = _mm512_loadu_ps(x + i), b = _mm512_loadu_ps(x + i + 16);
    lo0 = _mm512_min_ps(a, lo0);  // vminps gives its second operand when either is NaN: NaNs drop out
    hi0 = _mm512_max_ps(a, hi0);
    lo1 = _mm512_min_ps(b, lo1);
    hi1 = _mm512_max_ps(b, hi1);
  }
  for (; i < n; i += 16) {
    const __mmask16 live = n - i >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 a = _mm512_maskz_loadu_ps(live, x + i);
    lo0 = _mm512_mask_min_ps(lo0, live, a, lo0);
    hi0 = _mm512_mask_max_ps(hi0, live, a, hi0);
  }
  *lo = _mm512_reduce_min_ps(_mm512_min_ps(lo0, lo1));
  *hi = _mm512_reduce_max_ps(_mm512_max_ps(hi0, hi1));
}

// round(v · scale) + zero, clamped below at 0 (the store saturates above 255). cvtps_epi32
// rounds half to even, the default MXCSR mode.
static KOCLIP_AVX512 inline __m512i QuantizeLanes(__m512 v, __m512 scale, __m512i zero) {
  return _mm512_max_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v, scale)), zero), _mm512_setzero_si512());
}

KOCLIP_AVX512 void QuantizeU8(const float* x, int64_t n, float inverseScale, int32_t zeroPoint, uint8_t* out) {
  const __m512 scale = _mm512_set1_ps(inverseScale);
  const __m512i zero = _mm512_set1_epi32(zeroPoint);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_mask_cvtusepi32_storeu_epi8(out + i, 0xffff, QuantizeLanes(_mm512_loadu_ps(x + i), scale, zero));
  if (i < n) {
    const __mmask16 tail = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_cvtusepi32_storeu_epi8(out + i, tail, QuantizeLanes(_mm512_maskz_loadu_ps(tail, x + i), scale, zero));
  }
}

KOCLIP_AVX512 void AffineRow(float* y, int64_t n, float scale, float shift, const float* columns, const float* bias) {
  const __m512 s = _mm512_set1_ps(scale), t = _mm512_set1_ps(shift);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 live = Live(n - i);
    const __m512 b = bias ? _mm512_maskz_loadu_ps(live, bias + i) : _mm512_setzero_ps();
    const __m512 v = _mm512_fmadd_ps(s, _mm512_maskz_loadu_ps(live, y + i), _mm512_fmadd_ps(t, _mm512_maskz_loadu_ps(live, columns + i), b));
    _mm512_mask_storeu_ps(y + i, live, v);
  }
}

// 16 bytes at p as 16 int32 lanes, times w.
static KOCLIP_AVX512 inline __m512i WeightedBytes(const uint8_t* p, __m512i w) {
  return _mm512_mullo_epi32(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), w);
}

// acc >> bits clamped to a byte, into 16 bytes at out.
static KOCLIP_AVX512 inline void StoreClipped(uint8_t* out, __m512i acc, __m128i bits) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm512_cvtusepi32_epi8(_mm512_max_epi32(_mm512_sra_epi32(acc, bits), _mm512_setzero_si512())));
}

KOCLIP_AVX512 void ResampleLineU8(const uint8_t* line, int64_t inner, const int32_t* w, int taps, int bits, uint8_t* out) {
  const __m512i half = _mm512_set1_epi32(int32_t{1} << (bits - 1));
  const __m128i shift = _mm_cvtsi32_si128(bits);
  int64_t i = 0;
  // Four vectors of sums at a time: each weight is broadcast once for 64 outputs.
  for (; i + 64 <= inner; i += 64) {
    __m512i a0 = half, a1 = half, a2 = half, a3 = half;
    for (int k = 0; k < taps; k++) {
      const uint8_t* p = line + k * inner + i;
      const __m512i wk = _mm512_set1_epi32(w[k]);
      a0 = _mm512_add_epi32(a0, WeightedBytes(p, wk));
      a1 = _mm512_add_epi32(a1, WeightedBytes(p + 16, wk));
      a2 = _mm512_add_epi32(a2, WeightedBytes(p + 32, wk));
      a3 = _mm512_add_epi32(a3, WeightedBytes(p + 48, wk));
    }
    StoreClipped(out + i, a0, shift);
    StoreClipped(out + i + 16, a1, shift);
    StoreClipped(out + i + 32, a2, shift);
    StoreClipped(out + i + 48, a3, shift);
  }
  for (; i + 16 <= inner; i += 16) {
    __m512i a = half;
    for (int k = 0; k < taps; k++) a = _mm512_add_epi32(a, WeightedBytes(line + k * inner + i, _mm512_set1_epi32(w[k])));
    StoreClipped(out + i, a, shift);
  }
  // The last few outputs (a line not a multiple of 16 long), one by one.
  for (; i < inner; i++) {
    uint32_t acc = static_cast<uint32_t>(int32_t{1} << (bits - 1));
    for (int k = 0; k < taps; k++) acc += line[k * inner + i] * static_cast<uint32_t>(w[k]);
    const int32_t v = static_cast<int32_t>(acc) >> bits;
    out[i] = static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
  }
}

}  // namespace koclip::avx512

#endif
