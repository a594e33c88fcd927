// The BLAS call shared by the compiled kernels (rnn_kernels.cpp, stream_kernels.cpp).
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/mm.h>

#include <cstdint>

namespace rnnkit {

// GEMM, row-major: C (M×N, ldc) = A' B' + beta C, A' = A or Aᵀ (transA), B' = B or Bᵀ (transB).

#ifdef RNNKIT_FORTRAN_BLAS
extern "C" {
void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*, const float*,
            const int*, const float*, const int*, const float*, float*, const int*);
void dgemm_(const char*, const char*, const int*, const int*, const int*, const double*, const double*,
            const int*, const double*, const int*, const double*, double*, const int*);
}

// Row-major C = A'B' is column-major Cᵀ = B'ᵀ A'ᵀ: swap the operands and keep each one's flag.
inline void gemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const char ta = transB ? 'T' : 'N', tb = transA ? 'T' : 'N';
  const int m = N, n = M, k = K, la = ldb, lb = lda, lc = ldc;
  const float one = 1.0f;
  sgemm_(&ta, &tb, &m, &n, &k, &one, B, &la, A, &lb, &beta, C, &lc);
}
inline void gemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const double* A, int64_t lda,
                 const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  const char ta = transB ? 'T' : 'N', tb = transA ? 'T' : 'N';
  const int m = N, n = M, k = K, la = ldb, lb = lda, lc = ldc;
  const double one = 1.0;
  dgemm_(&ta, &tb, &m, &n, &k, &one, B, &la, A, &lb, &beta, C, &lc);
}
#else
template <typename scalar_t>
inline at::Tensor view2d(const scalar_t* p, int64_t rows, int64_t cols, int64_t ld, bool trans) {
  auto opts = at::TensorOptions().dtype(c10::CppTypeToScalarType<scalar_t>::value);
  at::Tensor v = at::from_blob(const_cast<scalar_t*>(p), {rows, cols}, {ld, 1}, opts);
  return trans ? v.t() : v;
}
template <typename scalar_t>
inline void gemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const scalar_t* A, int64_t lda,
                 const scalar_t* B, int64_t ldb, scalar_t beta, scalar_t* C, int64_t ldc) {
  at::Tensor a = transA ? view2d(A, K, M, lda, true) : view2d(A, M, K, lda, false);
  at::Tensor b = transB ? view2d(B, N, K, ldb, true) : view2d(B, K, N, ldb, false);
  at::Tensor c = view2d(C, M, N, ldc, false);
  if (beta == scalar_t(0)) {
    at::mm_out(c, a, b);
  } else {
    c.addmm_(a, b);
  }
}
#endif

}  // namespace rnnkit
