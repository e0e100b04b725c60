// CUDA launchers for GEMM, linear (+bias) and LoRA (ops/linear.hpp) on cuBLASLt with fp32 compute.
// Row-major operands; a and b share the storage type; c is that type or f32 (fp32 gradient accumulation).
#pragma once
#include <cstdint>

#include "core/dtype.hpp"
#include "ops/common.hpp"
#include "ops/cuda/runtime.hpp"

namespace zt::cuda {

// c (M, N) = alpha * op(a) @ op(b) + beta * c (+ bias (N), of c's dtype, when given): bias rides the
// cuBLASLt epilogue. op(a) (M, K), op(b) (K, N).
void gemm(void* c, DType c_t, const void* a, bool trans_a, const void* b, bool trans_b, DType ab_t, int64_t M, int64_t N,
          int64_t K, float alpha, float beta, const void* bias, Context& ctx);
// dbias (N) += column sums of dy (T, N); dbias of dy's dtype or f32.
void bias_grad(void* dbias, DType dbias_t, const void* dy, DType dy_t, int64_t T, int64_t N, cudaStream_t stream);

// y (T, out) += scaling * h @ left with h (T, r) = dropout(x) @ right written for backward.
// x (T, in), right (in, r), left (r, out).
void lora_forward(void* y, void* h, const void* x, const void* right, const void* left, DType dt, float scaling,
                  int64_t T, int64_t in, int64_t r, int64_t out, const ops::DropoutSpec& dropout, Context& ctx);
// dx (T, in) += (nullable), dright (in, r) += (nullable, dtype dright_t), dleft (r, out) += (nullable, dleft_t),
// dh (T, r) scratch; dy (T, out), x (T, in), h (T, r).
void lora_backward(void* dx, void* dright, DType dright_t, void* dleft, DType dleft_t, void* dh, const void* dy,
                   const void* x, const void* h, const void* right, const void* left, DType dt, float scaling, int64_t T,
                   int64_t in, int64_t r, int64_t out, const ops::DropoutSpec& dropout, Context& ctx);

}  // namespace zt::cuda
