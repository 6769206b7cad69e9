/*
 * The arithmetic peak of this CPU's vector units, for docs/bench.md's bounds: float32 FMA
 * (vfmadd231ps), int8 dot products (AVX-512 VNNI vpdpbusd: u8×s8, four products summed into each
 * int32 lane) and bfloat16 dot products (AVX-512 BF16 vdpbf16ps), on 1 thread and on N, in
 * operations per second (an FMA counts 2, a multiply-add of a dot product 2).
 *
 * Twelve independent accumulators per thread hide the instructions' latency; nothing is loaded
 * from memory, so this is the ceiling no GEMM can pass.
 *
 * usage: peak THREADS SECONDS   (prints JSON: {"fp32": [1 thread, N threads], "int8": [...], "bf16": [...]}, GOP/s)
 */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define CHAINS 12
#define STEPS 4096

static double now(void) { return omp_get_wtime(); }

__attribute__((target("avx512f"))) static double fp32Chains(long rounds) {
  __m512 acc[CHAINS];
  const __m512 a = _mm512_set1_ps(1.0000001f), b = _mm512_set1_ps(-0.0000001f);
  for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_set1_ps((float)c);
  for (long r = 0; r < rounds; r++)
    for (int s = 0; s < STEPS; s++)
#pragma GCC unroll 12
      for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  float sum = 0;
  for (int c = 0; c < CHAINS; c++) sum += _mm512_reduce_add_ps(acc[c]);
  return sum;
}

__attribute__((target("avx512f,avx512vnni"))) static double int8Chains(long rounds) {
  __m512i acc[CHAINS];
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-1);
  for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_set1_epi32(c);
  for (long r = 0; r < rounds; r++)
    for (int s = 0; s < STEPS; s++)
#pragma GCC unroll 12
      for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_dpbusd_epi32(acc[c], a, b);
  int sum = 0;
  for (int c = 0; c < CHAINS; c++) sum += _mm512_reduce_add_epi32(acc[c]);
  return sum;
}

__attribute__((target("avx512f,avx512bf16"))) static double bf16Chains(long rounds) {
  __m512 acc[CHAINS];
  const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = (__m512bh)_mm512_set1_epi16(0x3380);  // 1.0, ~6e-8
  for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_set1_ps((float)c);
  for (long r = 0; r < rounds; r++)
    for (int s = 0; s < STEPS; s++)
#pragma GCC unroll 12
      for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_dpbf16_ps(acc[c], a, b);
  float sum = 0;
  for (int c = 0; c < CHAINS; c++) sum += _mm512_reduce_add_ps(acc[c]);
  return sum;
}

/* The chains of each kind, by index, and their operations per instruction: FMA 16 lanes × 2;
   vpdpbusd 64 products × 2; vdpbf16ps 32 × 2. */
static double (*const CHAINS_OF[3])(long) = {fp32Chains, int8Chains, bf16Chains};
static const double OPS[3] = {32, 128, 64};

/* GOP/s of kind k on `threads` threads, each running for about `seconds`. */
static double measure(int k, int threads, double seconds) {
  volatile double sink = 0;
  long rounds = 1;
  for (;;) {  /* calibrate on one thread: rounds for ~seconds/10 */
    double t = now();
    sink += CHAINS_OF[k](rounds);
    if (now() - t > seconds / 10) { rounds = (long)(rounds * seconds / (now() - t)) + 1; break; }
    rounds *= 2;
  }
  double t = now();
#pragma omp parallel num_threads(threads)
  { double s = CHAINS_OF[k](rounds);
#pragma omp atomic
    sink += s; }
  double elapsed = now() - t;
  return OPS[k] * CHAINS * (double)STEPS * rounds * threads / elapsed / 1e9;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : omp_get_max_threads();
  double seconds = argc > 2 ? atof(argv[2]) : 1.0;
  const char* names[3] = {"fp32", "int8", "bf16"};
  int have[3] = {__builtin_cpu_supports("avx512f"), __builtin_cpu_supports("avx512vnni"), __builtin_cpu_supports("avx512bf16")};
  printf("{");
  for (int k = 0; k < 3; k++) {
    if (have[k]) printf("%s\"%s\": [%.1f, %.1f]", k ? ", " : "", names[k], measure(k, 1, seconds), measure(k, threads, seconds));
    else printf("%s\"%s\": null", k ? ", " : "", names[k]);
  }
  printf("}\n");
  return 0;
}
