// Dispatcher for the elementwise helpers: checks sizes, dtypes and devices, then calls ops/cpu/elementwise.
// Tensors must be contiguous; shapes may differ where only element counts matter (copy, add_).
#include "ops/elementwise.hpp"

#include <cstring>

#include "ops/checks.hpp"
#include "ops/cpu/elementwise.hpp"

namespace zt::ops {

using namespace detail;

namespace {
void expect_same_numel(const Tensor& a, const Tensor& b, const char* op, const char* name) {
  check(a.numel() == b.numel(), arg_name(op, name) + ": expected " + std::to_string(a.numel()) + " elements, got " + b.str());
}
void expect_any_float(const Tensor& t, const char* op, const char* name) {
  check(is_float(t.dtype()), arg_name(op, name) + ": expected a float tensor, got " + t.str());
}
}  // namespace

void zero(Tensor x) {
  expect_present(x, "zero", "x");
  dispatch_device({&x}, "zero");
  std::memset(x.raw(), 0, x.nbytes());
}

void copy(Tensor dst, const Tensor& src) {
  constexpr const char* op = "copy";
  expect_present(dst, op, "dst");
  expect_present(src, op, "src");
  expect_same_numel(dst, src, op, "src");
  dispatch_device({&dst, &src}, op);
  if (dst.dtype() == src.dtype()) {
    if (dst.raw() != src.raw()) std::memmove(dst.raw(), src.raw(), dst.nbytes());
    return;
  }
  check(is_float(dst.dtype()) && is_float(src.dtype()),
        std::string("copy: cannot convert ") + src.str() + " to " + dst.str(), "only float dtypes convert into each other");
  cpu::convert_parallel(dst.raw(), dst.dtype(), src.raw(), src.dtype(), src.numel());
}

void add(Tensor out, const Tensor& a, const Tensor& b) {
  constexpr const char* op = "add";
  expect_present(a, op, "a");
  expect_shape_of(b, op, "b", a.shape());
  expect_shape_of(out, op, "out", a.shape());
  expect_dtype_of(b, op, "b", a.dtype());
  expect_dtype_of(out, op, "out", a.dtype());
  dispatch_device({&out, &a, &b}, op);
  expect_cpu_float(a, op, "a");
  if (a.dtype() == DType::f32) cpu::add(out.data<float>(), a.data<float>(), b.data<float>(), a.numel());
  else cpu::add(out.data<double>(), a.data<double>(), b.data<double>(), a.numel());
}

void add_(Tensor x, const Tensor& y, float alpha) {
  constexpr const char* op = "add_";
  expect_present(x, op, "x");
  expect_present(y, op, "y");
  expect_same_numel(x, y, op, "y");
  dispatch_device({&x, &y}, op);
  expect_cpu_float(x, op, "x");
  expect_any_float(y, op, "y");
  if (x.dtype() == DType::f32) {
    if (y.dtype() == DType::f32) cpu::add_(x.data<float>(), y.data<float>(), alpha, x.numel());
    else cpu::add_converted(x.data<float>(), y.raw(), y.dtype(), alpha, x.numel());
  } else {
    if (y.dtype() == DType::f64) cpu::add_(x.data<double>(), y.data<double>(), double(alpha), x.numel());
    else cpu::add_converted(x.data<double>(), y.raw(), y.dtype(), double(alpha), x.numel());
  }
}

void scale_(Tensor x, float s) {
  constexpr const char* op = "scale_";
  expect_present(x, op, "x");
  dispatch_device({&x}, op);
  expect_cpu_float(x, op, "x");
  if (x.dtype() == DType::f32) cpu::scale_(x.data<float>(), s, x.numel());
  else cpu::scale_(x.data<double>(), double(s), x.numel());
}

double sum_squares(const Tensor& x) {
  constexpr const char* op = "sum_squares";
  expect_present(x, op, "x");
  dispatch_device({&x}, op);
  expect_any_float(x, op, "x");
  return cpu::sum_squares(x.raw(), x.dtype(), x.numel());
}

bool has_inf_or_nan(const Tensor& x) {
  constexpr const char* op = "has_inf_or_nan";
  expect_present(x, op, "x");
  dispatch_device({&x}, op);
  expect_any_float(x, op, "x");
  return cpu::has_inf_or_nan(x.raw(), x.dtype(), x.numel());
}

}  // namespace zt::ops
