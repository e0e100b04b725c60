// CPU kernels for whole-tensor elementwise helpers: adds, scaling, float conversions, sum of squares, inf/nan scan.
// Every loop is an OpenMP parallel loop over elements or fixed-size chunks (so 16-bit inputs convert in place).
#include "ops/cpu/elementwise.hpp"

#include <algorithm>
#include <cmath>

#include "core/tensor.hpp"
#include "ops/cpu/parallel.hpp"

namespace zt::ops::cpu {

namespace {
constexpr int64_t kChunk = 4096;

// Element i of a float buffer of any float dtype, widened to double.
inline double load_float(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::f32: return static_cast<const float*>(p)[i];
    case DType::f64: return static_cast<const double*>(p)[i];
    case DType::bf16: return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::f16: return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
    default: return 0.0;  // callers only pass float dtypes
  }
}
}  // namespace

// ---- kernels ----

template <class T> void add(T* out, const T* a, const T* b, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= kMinParallelWork)
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

template <class T> void add_(T* x, const T* y, T alpha, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= kMinParallelWork)
  for (int64_t i = 0; i < n; ++i) x[i] += alpha * y[i];
}

template <class T> void add_converted(T* x, const void* y, DType y_dtype, T alpha, int64_t n) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  const size_t esize = dtype_size(y_dtype);
#pragma omp parallel for schedule(static) if (n >= kMinParallelWork)
  for (int64_t c = 0; c < chunks; ++c) {
    T tmp[kChunk];  // (chunk) y converted to T
    const int64_t lo = c * kChunk, len = std::min(kChunk, n - lo);
    convert(tmp, dtype_of<T>::value, static_cast<const char*>(y) + size_t(lo) * esize, y_dtype, size_t(len));
    for (int64_t i = 0; i < len; ++i) x[lo + i] += alpha * tmp[i];
  }
}

template <class T> void scale_(T* x, T s, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= kMinParallelWork)
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

void convert_parallel(void* dst, DType dst_dtype, const void* src, DType src_dtype, int64_t n) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  const size_t dsize = dtype_size(dst_dtype), ssize = dtype_size(src_dtype);
#pragma omp parallel for schedule(static) if (n >= kMinParallelWork)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t lo = c * kChunk, len = std::min(kChunk, n - lo);
    convert(static_cast<char*>(dst) + size_t(lo) * dsize, dst_dtype, static_cast<const char*>(src) + size_t(lo) * ssize,
            src_dtype, size_t(len));
  }
}

double sum_squares(const void* x, DType dtype, int64_t n) {
  double acc = 0.0;
#pragma omp parallel for schedule(static) if (n >= kMinParallelWork) reduction(+ : acc)
  for (int64_t i = 0; i < n; ++i) {
    const double v = load_float(x, dtype, i);
    acc += v * v;
  }
  return acc;
}

bool has_inf_or_nan(const void* x, DType dtype, int64_t n) {
  int found = 0;
#pragma omp parallel for schedule(static) if (n >= kMinParallelWork) reduction(| : found)
  for (int64_t i = 0; i < n; ++i) found |= !std::isfinite(load_float(x, dtype, i));
  return found != 0;
}

// ---- instantiations ----
#define ZT_INSTANTIATE(T)                                                        \
  template void add<T>(T*, const T*, const T*, int64_t);                         \
  template void add_<T>(T*, const T*, T, int64_t);                               \
  template void add_converted<T>(T*, const void*, DType, T, int64_t);            \
  template void scale_<T>(T*, T, int64_t);
ZT_INSTANTIATE(float)
ZT_INSTANTIATE(double)
#undef ZT_INSTANTIATE

}  // namespace zt::ops::cpu
