// Dispatcher for GEMM, linear and LoRA: checks shapes, dtypes and devices, then runs ops/cpu/linear.
// All float tensors of one call share a dtype (f32, or f64 for finite-difference tests).
#include "ops/linear.hpp"

#include "ops/checks.hpp"
#include "ops/cpu/linear.hpp"

namespace zt::ops {

using namespace detail;

namespace {
template <class F> F* ptr(const Tensor& t) { return t.defined() ? t.data<F>() : nullptr; }

void expect_optional(const Tensor& t, const char* op, const char* name, const Shape& shape, DType dt) {
  if (!t.defined()) return;
  expect_shape_of(t, op, name, shape);
  expect_dtype_of(t, op, name, dt);
}
}  // namespace

void gemm(Tensor c, const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, float alpha, float beta) {
  constexpr const char* op = "gemm";
  expect_ndim(a, op, "a", 2, "matrix");
  expect_ndim(b, op, "b", 2, "matrix");
  const int64_t M = trans_a ? a.size(1) : a.size(0), K = trans_a ? a.size(0) : a.size(1);
  const int64_t Kb = trans_b ? b.size(1) : b.size(0), N = trans_b ? b.size(0) : b.size(1);
  check(K == Kb, std::string(op) + ": inner dimensions differ: op(a) of " + a.str() + (trans_a ? " (transposed)" : "") +
                     " has " + std::to_string(K) + " columns, op(b) of " + b.str() + (trans_b ? " (transposed)" : "") +
                     " has " + std::to_string(Kb) + " rows");
  expect_shape_of(c, op, "c", {M, N});
  expect_dtype_of(b, op, "b", a.dtype());
  expect_dtype_of(c, op, "c", a.dtype());
  dispatch_device({&c, &a, &b}, op);
  expect_cpu_float(a, op, "a");
  if (a.dtype() == DType::f32)
    cpu::gemm<float>(c.data<float>(), a.data<float>(), trans_a, b.data<float>(), trans_b, M, N, K, alpha, beta);
  else
    cpu::gemm<double>(c.data<double>(), a.data<double>(), trans_a, b.data<double>(), trans_b, M, N, K, alpha, beta);
}

void linear_forward(Tensor y, const Tensor& x, const Tensor& w, const Tensor& bias, bool accumulate) {
  constexpr const char* op = "linear_forward";
  expect_ndim(x, op, "x", 2, "(T, in)");
  expect_ndim(w, op, "w", 2, "(out, in)");
  const int64_t T = x.size(0), in = x.size(1), out = w.size(0);
  expect_shape_of(w, op, "w", {out, in});
  expect_shape_of(y, op, "y", {T, out});
  expect_dtype_of(w, op, "w", x.dtype());
  expect_dtype_of(y, op, "y", x.dtype());
  expect_optional(bias, op, "bias", {out}, x.dtype());
  dispatch_device({&y, &x, &w, &bias}, op);
  expect_cpu_float(x, op, "x");
  if (x.dtype() == DType::f32)
    cpu::linear_forward(y.data<float>(), x.data<float>(), w.data<float>(), ptr<float>(bias), T, in, out, accumulate);
  else
    cpu::linear_forward(y.data<double>(), x.data<double>(), w.data<double>(), ptr<double>(bias), T, in, out, accumulate);
}

void linear_backward(Tensor dx, Tensor dw, Tensor dbias, const Tensor& dy, const Tensor& x, const Tensor& w,
                     bool accumulate_dx) {
  constexpr const char* op = "linear_backward";
  expect_ndim(x, op, "x", 2, "(T, in)");
  expect_ndim(w, op, "w", 2, "(out, in)");
  const int64_t T = x.size(0), in = x.size(1), out = w.size(0);
  expect_shape_of(w, op, "w", {out, in});
  expect_shape_of(dy, op, "dy", {T, out});
  expect_dtype_of(w, op, "w", x.dtype());
  expect_dtype_of(dy, op, "dy", x.dtype());
  expect_optional(dx, op, "dx", {T, in}, x.dtype());
  expect_optional(dw, op, "dw", {out, in}, x.dtype());
  expect_optional(dbias, op, "dbias", {out}, x.dtype());
  dispatch_device({&dx, &dw, &dbias, &dy, &x, &w}, op);
  expect_cpu_float(x, op, "x");
  if (x.dtype() == DType::f32)
    cpu::linear_backward(ptr<float>(dx), ptr<float>(dw), ptr<float>(dbias), dy.data<float>(), x.data<float>(),
                         w.data<float>(), T, in, out, accumulate_dx);
  else
    cpu::linear_backward(ptr<double>(dx), ptr<double>(dw), ptr<double>(dbias), dy.data<double>(), x.data<double>(),
                         w.data<double>(), T, in, out, accumulate_dx);
}

namespace {
struct LoraDims {
  int64_t T, in, r, out;
};
LoraDims lora_dims(const Tensor& x, const Tensor& right, const Tensor& left, const char* op) {
  expect_ndim(x, op, "x", 2, "(T, in)");
  expect_ndim(right, op, "right", 2, "(in, r)");
  expect_ndim(left, op, "left", 2, "(r, out)");
  LoraDims d{x.size(0), x.size(1), right.size(1), left.size(1)};
  expect_shape_of(right, op, "right", {d.in, d.r});
  expect_shape_of(left, op, "left", {d.r, d.out});
  expect_dtype_of(right, op, "right", x.dtype());
  expect_dtype_of(left, op, "left", x.dtype());
  return d;
}
}  // namespace

void lora_forward(Tensor y, Tensor h, const Tensor& x, const Tensor& right, const Tensor& left, float scaling,
                  const DropoutSpec& dropout) {
  constexpr const char* op = "lora_forward";
  const LoraDims d = lora_dims(x, right, left, op);
  expect_shape_of(y, op, "y", {d.T, d.out});
  expect_shape_of(h, op, "h", {d.T, d.r});
  expect_dtype_of(y, op, "y", x.dtype());
  expect_dtype_of(h, op, "h", x.dtype());
  check_dropout_p(dropout, op);
  dispatch_device({&y, &h, &x, &right, &left}, op);
  expect_cpu_float(x, op, "x");
  if (x.dtype() == DType::f32)
    cpu::lora_forward(y.data<float>(), h.data<float>(), x.data<float>(), right.data<float>(), left.data<float>(), scaling,
                      d.T, d.in, d.r, d.out, dropout);
  else
    cpu::lora_forward(y.data<double>(), h.data<double>(), x.data<double>(), right.data<double>(), left.data<double>(),
                      double(scaling), d.T, d.in, d.r, d.out, dropout);
}

void lora_backward(Tensor dx, Tensor dright, Tensor dleft, Tensor dh, const Tensor& dy, const Tensor& x, const Tensor& h,
                   const Tensor& right, const Tensor& left, float scaling, const DropoutSpec& dropout) {
  constexpr const char* op = "lora_backward";
  const LoraDims d = lora_dims(x, right, left, op);
  expect_shape_of(dy, op, "dy", {d.T, d.out});
  expect_shape_of(h, op, "h", {d.T, d.r});
  expect_shape_of(dh, op, "dh", {d.T, d.r});
  for (auto [t, name] : {Named{&dy, "dy"}, {&h, "h"}, {&dh, "dh"}}) expect_dtype_of(*t, op, name, x.dtype());
  expect_optional(dx, op, "dx", {d.T, d.in}, x.dtype());
  expect_optional(dright, op, "dright", {d.in, d.r}, x.dtype());
  expect_optional(dleft, op, "dleft", {d.r, d.out}, x.dtype());
  check_dropout_p(dropout, op);
  dispatch_device({&dx, &dright, &dleft, &dh, &dy, &x, &h, &right, &left}, op);
  expect_cpu_float(x, op, "x");
  if (x.dtype() == DType::f32)
    cpu::lora_backward(ptr<float>(dx), ptr<float>(dright), ptr<float>(dleft), dh.data<float>(), dy.data<float>(),
                       x.data<float>(), h.data<float>(), right.data<float>(), left.data<float>(), scaling, d.T, d.in, d.r,
                       d.out, dropout);
  else
    cpu::lora_backward(ptr<double>(dx), ptr<double>(dright), ptr<double>(dleft), dh.data<double>(), dy.data<double>(),
                       x.data<double>(), h.data<double>(), right.data<double>(), left.data<double>(), double(scaling), d.T,
                       d.in, d.r, d.out, dropout);
}

}  // namespace zt::ops
