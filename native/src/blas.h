// OpenBLAS, which the addon links on Debian (find-libtorch.mjs), called directly where libtorch
// 1.13 would run one small single-threaded BLAS call after another (attention's per-head
// products): the addon runs the heads from a parallel loop instead, BLAS single-threaded inside.
#pragma once
#include <ATen/ATen.h>
#include <torch/version.h>

#include <climits>

#if defined(KOCLIP_OPENMP_BLAS) && !(TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1))
#define KOCLIP_HEAD_GEMMS 1

namespace koclip {

// BLAS's Fortran interface.
extern "C" void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                       const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
                       const float* beta, float* c, const int* ldc);

// Row-major C[m×n] = alpha·op(A)·op(B) + beta·C, where op(A) is A[m×k] or A[k×m]ᵀ (transA) and
// op(B) is B[k×n] or B[n×k]ᵀ (transB); rows lda, ldb, ldc elements apart. BLAS is column-major,
// so this asks it for Cᵀ = op(B)ᵀ·op(A)ᵀ.
inline void RowMajorGemm(bool transA, bool transB, int m, int n, int k, float alpha, const float* a, int lda,
                         const float* b, int ldb, float beta, float* c, int ldc) {
  sgemm_(transB ? "T" : "N", transA ? "T" : "N", &n, &m, &k, &alpha, b, &ldb, a, &lda, &beta, c, &ldc);
}

// Row stride of a [B, H, T, D] operand as BLAS takes it (a single row's stride can be anything).
inline int64_t RowStride(const at::Tensor& t) { return t.size(2) == 1 ? t.size(3) : t.stride(2); }

// Whether a [B, H, T, D] operand's heads can go to RowMajorGemm as they lie: not empty, unit
// column stride, rows at least a row apart, sizes and row stride within BLAS's int.
inline bool FitsHeadGemms(const at::Tensor& t) {
  return t.numel() > 0 && t.stride(3) == 1 && RowStride(t) >= t.size(3) && RowStride(t) <= INT32_MAX &&
         t.size(2) <= INT32_MAX && t.size(3) <= INT32_MAX;
}

}  // namespace koclip

#endif
