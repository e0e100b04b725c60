// CPU kernels for cross-entropy with ignore_index -100: per-row max, log-sum-exp (accumulated in double), loss,
// and the softmax-minus-onehot gradient written in place when dlogits aliases logits.
#include "ops/cpu/loss.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "ops/loss.hpp"

#include "ops/cpu/parallel.hpp"

namespace zt::ops::cpu {

namespace {
inline double load(const void* p, DType t, int64_t i) {
  return t == DType::f64 ? static_cast<const double*>(p)[i] : double(static_cast<const float*>(p)[i]);
}
inline void store(void* p, DType t, int64_t i, double v) {
  if (t == DType::f64) static_cast<double*>(p)[i] = v;
  else static_cast<float*>(p)[i] = float(v);
}

// Row log-sum-exp in compute type C. row (V)
template <class C> C row_lse(const C* row, int64_t V) {
  C mx = -std::numeric_limits<C>::infinity();
  for (int64_t j = 0; j < V; ++j) mx = row[j] > mx ? row[j] : mx;
  double sum = 0.0;
  for (int64_t j = 0; j < V; ++j) sum += double(std::exp(row[j] - mx));
  return mx + C(std::log(sum));
}

template <class C>
void forward_rows(void* loss, DType loss_dtype, void* lse, DType lse_dtype, const void* logits, DType logits_dtype,
                  const int32_t* targets, int64_t T, int64_t V) {
  const bool native = logits_dtype == (sizeof(C) == 8 ? DType::f64 : DType::f32);
  const size_t esize = dtype_size(logits_dtype);
#pragma omp parallel if (T * V >= kMinParallelWork)
  {
    std::vector<C> buf(native ? 0 : size_t(V));  // (V) widened 16-bit row
#pragma omp for schedule(static)
    for (int64_t t = 0; t < T; ++t) {
      const C* row;
      if (native) {
        row = static_cast<const C*>(logits) + t * V;
      } else {
        convert(buf.data(), DType::f32, static_cast<const char*>(logits) + size_t(t * V) * esize, logits_dtype, size_t(V));
        row = buf.data();
      }
      const C l = row_lse(row, V);
      store(lse, lse_dtype, t, double(l));
      store(loss, loss_dtype, t, targets[t] == kIgnoreIndex ? 0.0 : double(l - row[targets[t]]));
    }
  }
}

template <class C>
void backward_rows(void* dlogits, const void* logits, DType logits_dtype, const void* lse, DType lse_dtype,
                   const int32_t* targets, float grad_scale, int64_t T, int64_t V) {
  const bool native = logits_dtype == (sizeof(C) == 8 ? DType::f64 : DType::f32);
  const size_t esize = dtype_size(logits_dtype);
  const C g = C(grad_scale);
#pragma omp parallel if (T * V >= kMinParallelWork)
  {
    std::vector<C> buf(native ? 0 : size_t(V));  // (V) widened 16-bit row, then its gradient
#pragma omp for schedule(static)
    for (int64_t t = 0; t < T; ++t) {
      void* drow_raw = static_cast<char*>(dlogits) + size_t(t * V) * esize;
      if (targets[t] == kIgnoreIndex) {
        std::memset(drow_raw, 0, size_t(V) * esize);
        continue;
      }
      const C l = C(load(lse, lse_dtype, t));
      const C* row;
      C* drow;
      if (native) {
        row = static_cast<const C*>(logits) + t * V;
        drow = static_cast<C*>(drow_raw);
      } else {
        convert(buf.data(), DType::f32, static_cast<const char*>(logits) + size_t(t * V) * esize, logits_dtype, size_t(V));
        row = drow = buf.data();
      }
      for (int64_t j = 0; j < V; ++j) drow[j] = g * std::exp(row[j] - l);  // reads row[j] before writing (aliasing)
      drow[targets[t]] -= g;
      if (!native) convert(drow_raw, logits_dtype, buf.data(), DType::f32, size_t(V));
    }
  }
}
}  // namespace

int64_t first_bad_target(const int32_t* targets, int64_t T, int64_t V) {
  for (int64_t t = 0; t < T; ++t)
    if (targets[t] != kIgnoreIndex && (targets[t] < 0 || targets[t] >= V)) return t;
  return -1;
}

void cross_entropy_forward(void* loss, DType loss_dtype, void* lse, DType lse_dtype, const void* logits, DType logits_dtype,
                           const int32_t* targets, int64_t T, int64_t V) {
  if (logits_dtype == DType::f64) forward_rows<double>(loss, loss_dtype, lse, lse_dtype, logits, logits_dtype, targets, T, V);
  else forward_rows<float>(loss, loss_dtype, lse, lse_dtype, logits, logits_dtype, targets, T, V);
}

void cross_entropy_backward(void* dlogits, const void* logits, DType logits_dtype, const void* lse, DType lse_dtype,
                            const int32_t* targets, float grad_scale, int64_t T, int64_t V) {
  if (logits_dtype == DType::f64) backward_rows<double>(dlogits, logits, logits_dtype, lse, lse_dtype, targets, grad_scale, T, V);
  else backward_rows<float>(dlogits, logits, logits_dtype, lse, lse_dtype, targets, grad_scale, T, V);
}

}  // namespace zt::ops::cpu
