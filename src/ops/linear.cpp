// Dispatcher for GEMM, linear and LoRA: checks shapes, dtypes and devices, then runs ops/cpu/linear.
// All float tensors of one call share a dtype (f32, or f64 for finite-difference tests).
#include "ops/linear.hpp"

#include "ops/checks.hpp"
#include "ops/cpu/linear.hpp"
#ifdef ZT_HAVE_CUDA
#include "ops/cuda/linear.hpp"
#include "ops/cuda/runtime.hpp"
#endif

namespace zt::ops {

using namespace detail;

namespace {
template <class F> F* ptr(const Tensor& t) { return t.defined() ? t.data<F>() : nullptr; }

void expect_optional(const Tensor& t, const char* op, const char* name, const Shape& shape, DType dt) {
  if (!t.defined()) return;
  expect_shape_of(t, op, name, shape);
  expect_dtype_of(t, op, name, dt);
}

// A parameter gradient: on CUDA it may also be f32 (fp32 accumulation under 16-bit activations).
void expect_grad(const Tensor& t, const char* op, const char* name, const Shape& shape, DType dt, bool cuda) {
  if (!t.defined()) return;
  expect_shape_of(t, op, name, shape);
  if (!(cuda && t.dtype() == DType::f32)) expect_dtype_of(t, op, name, dt);
}

#ifdef ZT_HAVE_CUDA
void* raw_or_null(const Tensor& t) { return t.defined() ? t.raw() : nullptr; }
#endif
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
#ifdef ZT_HAVE_CUDA
  if (const Device dev = common_device({&c, &a, &b}, op); dev.is_cuda()) {
    if (c.dtype() != DType::f32) expect_dtype_of(c, op, "c", a.dtype());
    cuda::OpScope s(dev, op);
    return cuda::gemm(c.raw(), c.dtype(), a.raw(), trans_a, b.raw(), trans_b, a.dtype(), M, N, K, alpha, beta, nullptr, s.ctx());
  }
#endif
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
#ifdef ZT_HAVE_CUDA
  if (const Device dev = common_device({&y, &x, &w, &bias}, op); dev.is_cuda()) {
    cuda::OpScope s(dev, op);
    return cuda::gemm(y.raw(), y.dtype(), x.raw(), false, w.raw(), true, x.dtype(), T, out, in, 1.0f, accumulate ? 1.0f : 0.0f,
                      raw_or_null(bias), s.ctx());
  }
#endif
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
  const bool on_cuda = common_device({&dx, &dw, &dbias, &dy, &x, &w}, op).is_cuda();
  expect_grad(dw, op, "dw", {out, in}, x.dtype(), on_cuda);
  expect_grad(dbias, op, "dbias", {out}, x.dtype(), on_cuda);
#ifdef ZT_HAVE_CUDA
  if (on_cuda) {
    cuda::OpScope s(x.device(), op);
    const DType dt = x.dtype();
    if (dx.defined())
      cuda::gemm(dx.raw(), dt, dy.raw(), false, w.raw(), false, dt, T, in, out, 1.0f, accumulate_dx ? 1.0f : 0.0f, nullptr,
                 s.ctx());
    if (dw.defined()) cuda::gemm(dw.raw(), dw.dtype(), dy.raw(), true, x.raw(), false, dt, out, in, T, 1.0f, 1.0f, nullptr, s.ctx());
    if (dbias.defined()) cuda::bias_grad(dbias.raw(), dbias.dtype(), dy.raw(), dt, T, out, s.stream());
    return;
  }
#endif
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
#ifdef ZT_HAVE_CUDA
  if (const Device dev = common_device({&y, &h, &x, &right, &left}, op); dev.is_cuda()) {
    cuda::OpScope s(dev, op);
    return cuda::lora_forward(y.raw(), h.raw(), x.raw(), right.raw(), left.raw(), x.dtype(), scaling, d.T, d.in, d.r, d.out,
                              dropout, s.ctx());
  }
#endif
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
  const bool on_cuda = common_device({&dx, &dright, &dleft, &dh, &dy, &x, &h, &right, &left}, op).is_cuda();
  expect_grad(dright, op, "dright", {d.in, d.r}, x.dtype(), on_cuda);
  expect_grad(dleft, op, "dleft", {d.r, d.out}, x.dtype(), on_cuda);
  check_dropout_p(dropout, op);
#ifdef ZT_HAVE_CUDA
  if (on_cuda) {
    cuda::OpScope s(x.device(), op);
    return cuda::lora_backward(raw_or_null(dx), raw_or_null(dright), dright.defined() ? dright.dtype() : x.dtype(),
                               raw_or_null(dleft), dleft.defined() ? dleft.dtype() : x.dtype(), dh.raw(), dy.raw(), x.raw(),
                               h.raw(), right.raw(), left.raw(), x.dtype(), scaling, d.T, d.in, d.r, d.out, dropout, s.ctx());
  }
#endif
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
