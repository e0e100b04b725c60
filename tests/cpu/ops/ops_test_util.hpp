// Helpers for the CPU op tests: random tensors, reductions and a central finite-difference gradient checker.
// Tests run the op kernels in f64 so differences of 1e-6 are meaningful.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>

#include "core/tensor.hpp"

namespace zt::test {

// Uniform [lo, hi) values; in f32 or f64 (values are f32-representable either way so both precisions see the same inputs).
inline Tensor rand_tensor(const Shape& shape, DType dt, std::mt19937_64& rng, double lo = -1.0, double hi = 1.0) {
  Tensor t = Tensor::empty(shape, dt);
  std::uniform_real_distribution<double> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double v = double(float(u(rng)));
    if (dt == DType::f64) t.data<double>()[i] = v;
    else t.data<float>()[i] = float(v);
  }
  return t;
}

// Element i of an f32/f64 tensor (raw() instead of data<T>(), whose checks are too slow for per-element loops).
inline double at(const Tensor& t, int64_t i) {
  return t.dtype() == DType::f64 ? static_cast<const double*>(t.raw())[i] : double(static_cast<const float*>(t.raw())[i]);
}

inline double dot_all(const Tensor& a, const Tensor& b) {
  double s = 0.0;
  for (int64_t i = 0; i < a.numel(); ++i) s += at(a, i) * at(b, i);
  return s;
}

inline double max_abs(const Tensor& t) {
  double m = 0.0;
  for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(at(t, i)));
  return m;
}

// max |a - b| / max(max |b|, floor): a relative error measured against the tensor's scale.
inline double rel_err(const Tensor& a, const Tensor& b, double floor = 1e-12) {
  EXPECT_EQ(a.numel(), b.numel());
  double m = 0.0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(at(a, i) - at(b, i)));
  return m / std::max(max_abs(b), floor);
}

// Checks `grad` (the analytic d objective / d x, same shape as x, f64) against central differences of `objective`
// with respect to every element of x (or `max_elems` evenly spaced ones).
inline void expect_grad_matches(const char* what, Tensor x, const Tensor& grad, const std::function<double()>& objective,
                                double tol = 1e-6, double eps = 1e-6, int64_t max_elems = 4096) {
  ASSERT_EQ(x.dtype(), DType::f64) << what;
  ASSERT_EQ(grad.shape(), x.shape()) << what;
  double* p = x.data<double>();
  const double* g = grad.data<double>();
  const int64_t n = x.numel();
  const int64_t step = std::max<int64_t>(1, n / max_elems);
  double worst = 0.0, scale = 1e-12;
  int64_t worst_i = -1;
  double worst_num = 0, worst_ana = 0;
  for (int64_t i = 0; i < n; i += step) {
    const double saved = p[i];
    p[i] = saved + eps;
    const double up = objective();
    p[i] = saved - eps;
    const double down = objective();
    p[i] = saved;
    const double num = (up - down) / (2 * eps), ana = g[i];
    scale = std::max({scale, std::fabs(num), std::fabs(ana)});
    if (std::fabs(num - ana) > worst) {
      worst = std::fabs(num - ana);
      worst_i = i;
      worst_num = num;
      worst_ana = ana;
    }
  }
  EXPECT_LE(worst / scale, tol) << what << ": element " << worst_i << " analytic " << worst_ana << " numeric " << worst_num
                                << " (gradient scale " << scale << ")";
}

// Runs fn and expects a zt::Error whose message contains every one of `needles`.
template <class Fn> void expect_error(Fn&& fn, std::initializer_list<std::string> needles) {
  try {
    fn();
    ADD_FAILURE() << "expected a zt::Error mentioning " << *needles.begin();
  } catch (const Error& e) {
    const std::string msg = e.describe();  // message and hint
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "message: " << msg << "\nmissing: " << n;
  }
}

}  // namespace zt::test
