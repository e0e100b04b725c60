// CPU kernels for whole-tensor elementwise helpers (ops/elementwise.hpp): adds, scaling, conversions, reductions.
// Kernels take raw pointers and element counts; the dispatcher in ops/elementwise.cpp checks the tensors.
#pragma once
#include <cstdint>

#include "core/dtype.hpp"

namespace zt::ops::cpu {

// out = a + b (out may alias a or b).
template <class T> void add(T* out, const T* a, const T* b, int64_t n);
// x += alpha * y, y of element type T.
template <class T> void add_(T* x, const T* y, T alpha, int64_t n);
// x += alpha * y, y of any float dtype (converted chunk by chunk).
template <class T> void add_converted(T* x, const void* y, DType y_dtype, T alpha, int64_t n);
template <class T> void scale_(T* x, T s, int64_t n);
// dst = src converted between float dtypes (f32/f64/bf16/f16), parallel over chunks.
void convert_parallel(void* dst, DType dst_dtype, const void* src, DType src_dtype, int64_t n);
// Sum of x^2 accumulated in double; x any float dtype.
double sum_squares(const void* x, DType dtype, int64_t n);
bool has_inf_or_nan(const void* x, DType dtype, int64_t n);

}  // namespace zt::ops::cpu
