// CUDA launchers for the whole-tensor elementwise helpers (ops/elementwise.hpp): conversions, adds, scaling,
// sum of squares and the inf/nan scan. Float storage is f32, bf16 or f16; arithmetic is fp32 (sums in double).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/dtype.hpp"
#include "ops/cuda/runtime.hpp"

namespace zt::cuda {

// dst (n) = src (n) converted between f32/bf16/f16.
void convert(void* dst, DType dst_t, const void* src, DType src_t, int64_t n, cudaStream_t stream);
// out = a + b (n), one dtype; out may alias a or b.
void add(void* out, const void* a, const void* b, DType dt, int64_t n, cudaStream_t stream);
// x (n) += alpha * y (n); y may be any float storage type.
void add_(void* x, DType x_t, const void* y, DType y_t, float alpha, int64_t n, cudaStream_t stream);
// x (n) *= s
void scale_(void* x, DType dt, float s, int64_t n, cudaStream_t stream);
// Sum of x^2 (n) accumulated in double; synchronises ctx's stream.
double sum_squares(const void* x, DType dt, int64_t n, Context& ctx);
// Whether x (n) holds an inf or NaN; synchronises ctx's stream.
bool has_inf_or_nan(const void* x, DType dt, int64_t n, Context& ctx);

}  // namespace zt::cuda
