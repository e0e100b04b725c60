// Dispatcher for the elementwise helpers: checks sizes, dtypes and devices, then calls ops/cpu/elementwise or,
// for CUDA tensors, ops/cuda/elementwise (copy also moves data between host and GPU).
// Tensors must be contiguous; shapes may differ where only element counts matter (copy, add_).
#include "ops/elementwise.hpp"

#include <algorithm>

#include <cstring>

#include "ops/checks.hpp"
#include "ops/cpu/elementwise.hpp"
#ifdef ZT_HAVE_CUDA
#include "ops/cuda/elementwise.hpp"
#include "ops/cuda/runtime.hpp"
#endif

namespace zt::ops {

using namespace detail;

namespace {
void expect_same_numel(const Tensor& a, const Tensor& b, const char* op, const char* name) {
  check(a.numel() == b.numel(), arg_name(op, name) + ": expected " + std::to_string(a.numel()) + " elements, got " + b.str());
}
void expect_any_float(const Tensor& t, const char* op, const char* name) {
  check(is_float(t.dtype()), arg_name(op, name) + ": expected a float tensor, got " + t.str());
}

#ifdef ZT_HAVE_CUDA
// copy with at least one CUDA side: host<->device through the context's stream (synchronised, so the host
// side may be reused at once), device<->device by memcpy or a conversion kernel; host-side conversions on the CPU.
void copy_cuda(Tensor& dst, const Tensor& src) {
  constexpr const char* op = "copy";
  const Device dd = dst.device(), sd = src.device();
  const bool same = dst.dtype() == src.dtype();
  check(same || (is_float(dst.dtype()) && is_float(src.dtype())),
        std::string("copy: cannot convert ") + src.str() + " to " + dst.str(), "only float dtypes convert into each other");
  if (dd.is_cuda() && sd.is_cuda()) {
    cuda::OpScope s(dd, op);
    if (dd == sd) {
      if (same) {
        if (dst.raw() != src.raw())
          ZT_CUDA(cudaMemcpyAsync(dst.raw(), src.raw(), dst.nbytes(), cudaMemcpyDeviceToDevice, s.stream()));
      } else {
        cuda::convert(dst.raw(), dst.dtype(), src.raw(), src.dtype(), src.numel(), s.stream());
      }
      return;
    }
    check(same, "copy: " + src.str() + " -> " + dst.str() + ": converting across GPUs is not supported",
          "copy to the destination GPU in the source dtype first, then convert there");
    cuda::current(sd).synchronize();  // the source is written on its own device's stream
    ZT_CUDA(cudaMemcpyPeerAsync(dst.raw(), dd.index, src.raw(), sd.index, src.nbytes(), s.stream()));
    return;
  }
  if (dd.is_cuda()) {  // host -> device
    cuda::OpScope s(dd, op);
    Tensor staged = src;
    if (!same) {
      staged = Tensor::empty(src.shape(), dst.dtype());
      cpu::convert_parallel(staged.raw(), dst.dtype(), src.raw(), src.dtype(), src.numel());
    }
    ZT_CUDA(cudaMemcpyAsync(dst.raw(), staged.raw(), dst.nbytes(), cudaMemcpyHostToDevice, s.stream()));
    s.ctx().synchronize();
    return;
  }
  cuda::OpScope s(sd, op);  // device -> host
  Tensor landing = same ? dst : Tensor::empty(src.shape(), src.dtype());
  ZT_CUDA(cudaMemcpyAsync(landing.raw(), src.raw(), src.nbytes(), cudaMemcpyDeviceToHost, s.stream()));
  s.ctx().synchronize();
  if (!same) cpu::convert_parallel(dst.raw(), dst.dtype(), landing.raw(), src.dtype(), src.numel());
}
#endif
}  // namespace

Tensor empty_pinned(const Shape& shape, DType dtype) {
#ifdef ZT_HAVE_CUDA
  if (cuda::initialized()) {
    const size_t bytes = std::max<size_t>(size_t(shape_numel(shape)) * dtype_size(dtype), 1);
    void* p = nullptr;
    ZT_CUDA(cudaHostAlloc(&p, bytes, cudaHostAllocDefault));
    std::shared_ptr<void> keep(p, [](void* q) { cudaFreeHost(q); });
    return Tensor::view_of(Buffer::wrap(p, bytes, Device::CPU(), keep), 0, shape, dtype);
  }
#endif
  return Tensor::empty(shape, dtype);
}

void zero(Tensor x) {
  expect_present(x, "zero", "x");
#ifdef ZT_HAVE_CUDA
  if (x.device().is_cuda()) {
    cuda::OpScope s(x.device(), "zero");
    ZT_CUDA(cudaMemsetAsync(x.raw(), 0, x.nbytes(), s.stream()));
    return;
  }
#endif
  dispatch_device({&x}, "zero");
  std::memset(x.raw(), 0, x.nbytes());
}

void copy(Tensor dst, const Tensor& src) {
  constexpr const char* op = "copy";
  expect_present(dst, op, "dst");
  expect_present(src, op, "src");
  expect_same_numel(dst, src, op, "src");
#ifdef ZT_HAVE_CUDA
  if (dst.device().is_cuda() || src.device().is_cuda()) return copy_cuda(dst, src);
#endif
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
#ifdef ZT_HAVE_CUDA
  if (const Device dev = common_device({&out, &a, &b}, op); dev.is_cuda()) {
    cuda::OpScope s(dev, op);
    return cuda::add(out.raw(), a.raw(), b.raw(), a.dtype(), a.numel(), s.stream());
  }
#endif
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
#ifdef ZT_HAVE_CUDA
  if (const Device dev = common_device({&x, &y}, op); dev.is_cuda()) {
    cuda::OpScope s(dev, op);
    return cuda::add_(x.raw(), x.dtype(), y.raw(), y.dtype(), alpha, x.numel(), s.stream());
  }
#endif
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
#ifdef ZT_HAVE_CUDA
  if (x.device().is_cuda()) {
    cuda::OpScope sc(x.device(), op);
    return cuda::scale_(x.raw(), x.dtype(), s, x.numel(), sc.stream());
  }
#endif
  dispatch_device({&x}, op);
  expect_cpu_float(x, op, "x");
  if (x.dtype() == DType::f32) cpu::scale_(x.data<float>(), s, x.numel());
  else cpu::scale_(x.data<double>(), double(s), x.numel());
}

double sum_squares(const Tensor& x) {
  constexpr const char* op = "sum_squares";
  expect_present(x, op, "x");
#ifdef ZT_HAVE_CUDA
  if (x.device().is_cuda()) {
    cuda::OpScope s(x.device(), op);
    return cuda::sum_squares(x.raw(), x.dtype(), x.numel(), s.ctx());
  }
#endif
  dispatch_device({&x}, op);
  expect_any_float(x, op, "x");
  return cpu::sum_squares(x.raw(), x.dtype(), x.numel());
}

bool has_inf_or_nan(const Tensor& x) {
  constexpr const char* op = "has_inf_or_nan";
  expect_present(x, op, "x");
#ifdef ZT_HAVE_CUDA
  if (x.device().is_cuda()) {
    cuda::OpScope s(x.device(), op);
    return cuda::has_inf_or_nan(x.raw(), x.dtype(), x.numel(), s.ctx());
  }
#endif
  dispatch_device({&x}, op);
  expect_any_float(x, op, "x");
  return cpu::has_inf_or_nan(x.raw(), x.dtype(), x.numel());
}

}  // namespace zt::ops
