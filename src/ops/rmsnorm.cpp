// Dispatcher for RMSNorm: checks shapes, dtypes and devices, then runs ops/cpu/rmsnorm.
// All tensors share one float dtype (rstd too: f32 in training, f64 in finite-difference tests).
#include "ops/rmsnorm.hpp"

#include <utility>

#include "ops/checks.hpp"
#include "ops/cpu/rmsnorm.hpp"
#ifdef ZT_HAVE_CUDA
#include "ops/cuda/rmsnorm.hpp"
#include "ops/cuda/runtime.hpp"
#endif

namespace zt::ops {

using namespace detail;

void rmsnorm_forward(Tensor out, Tensor rstd, const Tensor& x, const Tensor& weight, float eps) {
  constexpr const char* op = "rmsnorm_forward";
  expect_ndim(x, op, "x", 2, "(T, C)");
  const int64_t N = x.size(0), C = x.size(1);
  expect_shape_of(weight, op, "weight", {C});
  expect_shape_of(out, op, "out", {N, C});
  expect_shape_of(rstd, op, "rstd", {N});
  for (auto [t, name] : {Named{&weight, "weight"}, {&out, "out"}}) expect_dtype_of(*t, op, name, x.dtype());
  check(eps >= 0.0f, std::string(op) + ": eps must be >= 0, got " + std::to_string(eps), "check rms_norm_eps in config.json");
#ifdef ZT_HAVE_CUDA
  if (const Device dev = common_device({&out, &rstd, &x, &weight}, op); dev.is_cuda()) {
    expect_dtype_of(rstd, op, "rstd", DType::f32);  // statistics stay f32 on the GPU
    cuda::OpScope s(dev, op);
    return cuda::rmsnorm_forward(out.raw(), rstd.data<float>(), x.raw(), weight.raw(), x.dtype(), N, C, eps, s.stream());
  }
#endif
  expect_dtype_of(rstd, op, "rstd", x.dtype());
  dispatch_device({&out, &rstd, &x, &weight}, op);
  expect_cpu_float(x, op, "x");
  if (x.dtype() == DType::f32)
    cpu::rmsnorm_forward(out.data<float>(), rstd.data<float>(), x.data<float>(), weight.data<float>(), N, C, eps);
  else
    cpu::rmsnorm_forward(out.data<double>(), rstd.data<double>(), x.data<double>(), weight.data<double>(), N, C, double(eps));
}

void rmsnorm_backward(Tensor dx, Tensor dweight, const Tensor& dout, const Tensor& x, const Tensor& weight,
                      const Tensor& rstd) {
  constexpr const char* op = "rmsnorm_backward";
  expect_ndim(x, op, "x", 2, "(T, C)");
  const int64_t N = x.size(0), C = x.size(1);
  expect_shape_of(dx, op, "dx", {N, C});
  expect_shape_of(dout, op, "dout", {N, C});
  expect_shape_of(weight, op, "weight", {C});
  expect_shape_of(rstd, op, "rstd", {N});
  for (auto [t, name] : {Named{&dx, "dx"}, {&dout, "dout"}, {&weight, "weight"}}) expect_dtype_of(*t, op, name, x.dtype());
  if (dweight.defined()) expect_shape_of(dweight, op, "dweight", {C});
#ifdef ZT_HAVE_CUDA
  if (const Device dev = common_device({&dx, &dweight, &dout, &x, &weight, &rstd}, op); dev.is_cuda()) {
    expect_dtype_of(rstd, op, "rstd", DType::f32);
    // dweight may be f32 (fp32 accumulation) under 16-bit activations.
    if (dweight.defined() && dweight.dtype() != DType::f32) expect_dtype_of(dweight, op, "dweight", x.dtype());
    cuda::OpScope s(dev, op);
    return cuda::rmsnorm_backward(dx.raw(), dweight.defined() ? dweight.raw() : nullptr,
                                  dweight.defined() ? dweight.dtype() : DType::f32, dout.raw(), x.raw(), weight.raw(),
                                  rstd.data<float>(), x.dtype(), N, C, s.ctx());
  }
#endif
  expect_dtype_of(rstd, op, "rstd", x.dtype());
  if (dweight.defined()) expect_dtype_of(dweight, op, "dweight", x.dtype());
  dispatch_device({&dx, &dweight, &dout, &x, &weight, &rstd}, op);
  expect_cpu_float(x, op, "x");
  if (x.dtype() == DType::f32)
    cpu::rmsnorm_backward(dx.data<float>(), dweight.defined() ? dweight.data<float>() : nullptr, dout.data<float>(),
                          x.data<float>(), weight.data<float>(), rstd.data<float>(), N, C);
  else
    cpu::rmsnorm_backward(dx.data<double>(), dweight.defined() ? dweight.data<double>() : nullptr, dout.data<double>(),
                          x.data<double>(), weight.data<double>(), rstd.data<double>(), N, C);
}

}  // namespace zt::ops
