// CPU kernels for GEMMs (ops/linear.hpp): OpenBLAS cblas for every product, OpenMP for bias and dropout loops.
// Row-major throughout; parameter gradients accumulate (+=), activation gradients follow the header's flags.
#pragma once
#include <cstdint>

#include "ops/common.hpp"

namespace zt::ops::cpu {

// c (M, N) = alpha * op(a) (M, K) @ op(b) (K, N) + beta * c; a is (K, M) when trans_a, b is (N, K) when trans_b.
template <class F>
void gemm(F* c, const F* a, bool trans_a, const F* b, bool trans_b, int64_t M, int64_t N, int64_t K, F alpha, F beta);

// y (T, out) = (or += with accumulate) x (T, in) @ w^T (out, in) + bias (out; nullptr: none)
template <class F>
void linear_forward(F* y, const F* x, const F* w, const F* bias, int64_t T, int64_t in, int64_t out, bool accumulate);
// dx (T, in) = (+= with accumulate_dx); dw (out, in) +=; dbias (out) +=; any of the three may be nullptr (skipped).
template <class F>
void linear_backward(F* dx, F* dw, F* dbias, const F* dy, const F* x, const F* w, int64_t T, int64_t in, int64_t out,
                     bool accumulate_dx);

// y (T, out) += scaling * h @ left (r, out); h (T, r) = dropout(x) (T, in) @ right (in, r).
// The dropout element index is t * in + c (x flattened), counted from the spec's offset.
template <class F>
void lora_forward(F* y, F* h, const F* x, const F* right, const F* left, F scaling, int64_t T, int64_t in, int64_t r,
                  int64_t out, const DropoutSpec& dropout);
// dleft (r, out) += scaling * h^T @ dy; dh (T, r) = scaling * dy @ left^T; dright (in, r) += dropout(x)^T @ dh;
// dx (T, in) += dropout'(dh @ right^T). dx, dright, dleft may be nullptr (skipped).
template <class F>
void lora_backward(F* dx, F* dright, F* dleft, F* dh, const F* dy, const F* x, const F* h, const F* right, const F* left,
                   F scaling, int64_t T, int64_t in, int64_t r, int64_t out, const DropoutSpec& dropout);

}  // namespace zt::ops::cpu
