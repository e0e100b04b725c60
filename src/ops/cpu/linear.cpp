// CPU kernels for GEMM, linear (+bias) and LoRA forward/backward, built on OpenBLAS cblas.
// BLAS calls are made from serial code only (the pthread OpenBLAS parallelises internally).
#include "ops/cpu/linear.hpp"

#include <algorithm>
#include <cblas.h>
#include <vector>

#include "ops/cpu/dropout.hpp"

#include "ops/cpu/parallel.hpp"

namespace zt::ops::cpu {

namespace {
void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint M, blasint N, blasint K, float alpha, const float* a,
               blasint lda, const float* b, blasint ldb, float beta, float* c, blasint ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
}
void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint M, blasint N, blasint K, double alpha, const double* a,
               blasint lda, const double* b, blasint ldb, double beta, double* c, blasint ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
}
}  // namespace

// ---- kernels ----

template <class F>
void gemm(F* c, const F* a, bool trans_a, const F* b, bool trans_b, int64_t M, int64_t N, int64_t K, F alpha, F beta) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // BLAS rejects a zero leading dimension; the product is empty, so c = beta * c
    const int64_t n = M * N;
#pragma omp parallel for schedule(static) if (n >= kMinParallelWork)
    for (int64_t i = 0; i < n; ++i) c[i] = beta == F(0) ? F(0) : beta * c[i];
    return;
  }
  const blasint lda = blasint(trans_a ? M : K), ldb = blasint(trans_b ? K : N);
  blas_gemm(trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, blasint(M), blasint(N), blasint(K),
            alpha, a, lda, b, ldb, beta, c, blasint(N));
}

template <class F>
void linear_forward(F* y, const F* x, const F* w, const F* bias, int64_t T, int64_t in, int64_t out, bool accumulate) {
  gemm<F>(y, x, false, w, true, T, out, in, F(1), accumulate ? F(1) : F(0));
  if (bias == nullptr) return;
#pragma omp parallel for schedule(static) if (T * out >= kMinParallelWork)
  for (int64_t t = 0; t < T; ++t) {
    F* row = y + t * out;
    for (int64_t o = 0; o < out; ++o) row[o] += bias[o];
  }
}

template <class F>
void linear_backward(F* dx, F* dw, F* dbias, const F* dy, const F* x, const F* w, int64_t T, int64_t in, int64_t out,
                     bool accumulate_dx) {
  if (dx != nullptr) gemm<F>(dx, dy, false, w, false, T, in, out, F(1), accumulate_dx ? F(1) : F(0));
  if (dw != nullptr) gemm<F>(dw, dy, true, x, false, out, in, T, F(1), F(1));
  if (dbias != nullptr && T > 0) {
    // Column sums of dy as dy^T @ ones, which keeps the reduction inside BLAS.
    std::vector<F> ones(size_t(T), F(1));
    gemm<F>(dbias, dy, true, ones.data(), false, out, 1, T, F(1), F(1));
  }
}

template <class F>
void lora_forward(F* y, F* h, const F* x, const F* right, const F* left, F scaling, int64_t T, int64_t in, int64_t r,
                  int64_t out, const DropoutSpec& dropout) {
  if (dropout.active()) {
    std::vector<F> xd(size_t(T * in));  // (T, in) dropout(x)
    dropout_apply(xd.data(), x, T * in, dropout);
    gemm<F>(h, xd.data(), false, right, false, T, r, in, F(1), F(0));
  } else {
    gemm<F>(h, x, false, right, false, T, r, in, F(1), F(0));
  }
  gemm<F>(y, h, false, left, false, T, out, r, scaling, F(1));
}

template <class F>
void lora_backward(F* dx, F* dright, F* dleft, F* dh, const F* dy, const F* x, const F* h, const F* right, const F* left,
                   F scaling, int64_t T, int64_t in, int64_t r, int64_t out, const DropoutSpec& dropout) {
  if (dleft != nullptr) gemm<F>(dleft, h, true, dy, false, r, out, T, scaling, F(1));
  gemm<F>(dh, dy, false, left, true, T, r, out, scaling, F(0));
  if (!dropout.active()) {
    if (dright != nullptr) gemm<F>(dright, x, true, dh, false, in, r, T, F(1), F(1));
    if (dx != nullptr) gemm<F>(dx, dh, false, right, true, T, in, r, F(1), F(1));
    return;
  }
  std::vector<F> tmp(size_t(T * in));  // (T, in) dropout(x), then dh @ right^T
  if (dright != nullptr) {
    dropout_apply(tmp.data(), x, T * in, dropout);
    gemm<F>(dright, tmp.data(), true, dh, false, in, r, T, F(1), F(1));
  }
  if (dx != nullptr) {
    gemm<F>(tmp.data(), dh, false, right, true, T, in, r, F(1), F(0));
    dropout_accumulate(dx, tmp.data(), T * in, dropout);
  }
}

// ---- instantiations ----
#define ZT_INSTANTIATE(F)                                                                                           \
  template void gemm<F>(F*, const F*, bool, const F*, bool, int64_t, int64_t, int64_t, F, F);                        \
  template void linear_forward<F>(F*, const F*, const F*, const F*, int64_t, int64_t, int64_t, bool);                \
  template void linear_backward<F>(F*, F*, F*, const F*, const F*, const F*, int64_t, int64_t, int64_t, bool);       \
  template void lora_forward<F>(F*, F*, const F*, const F*, const F*, F, int64_t, int64_t, int64_t, int64_t,         \
                                const DropoutSpec&);                                                                 \
  template void lora_backward<F>(F*, F*, F*, F*, const F*, const F*, const F*, const F*, const F*, F, int64_t,       \
                                 int64_t, int64_t, int64_t, const DropoutSpec&);
ZT_INSTANTIATE(float)
ZT_INSTANTIATE(double)
#undef ZT_INSTANTIATE

}  // namespace zt::ops::cpu
