// Dispatcher for SwiGLU: checks that gate, up and the outputs share one shape, dtype and device,
// then runs ops/cpu/activation.
#include "ops/activation.hpp"

#include <utility>

#include "ops/checks.hpp"
#include "ops/cpu/activation.hpp"
#ifdef ZT_HAVE_CUDA
#include "ops/cuda/activation.hpp"
#include "ops/cuda/runtime.hpp"
#endif

namespace zt::ops {

using namespace detail;

void swiglu_forward(Tensor out, const Tensor& gate, const Tensor& up) {
  constexpr const char* op = "swiglu_forward";
  expect_present(gate, op, "gate");
  expect_shape_of(up, op, "up", gate.shape());
  expect_shape_of(out, op, "out", gate.shape());
  expect_dtype_of(up, op, "up", gate.dtype());
  expect_dtype_of(out, op, "out", gate.dtype());
#ifdef ZT_HAVE_CUDA
  if (const Device dev = common_device({&out, &gate, &up}, op); dev.is_cuda()) {
    cuda::OpScope s(dev, op);
    return cuda::swiglu_forward(out.raw(), gate.raw(), up.raw(), gate.dtype(), gate.numel(), s.stream());
  }
#endif
  dispatch_device({&out, &gate, &up}, op);
  expect_cpu_float(gate, op, "gate");
  if (gate.dtype() == DType::f32) cpu::swiglu_forward(out.data<float>(), gate.data<float>(), up.data<float>(), gate.numel());
  else cpu::swiglu_forward(out.data<double>(), gate.data<double>(), up.data<double>(), gate.numel());
}

void swiglu_backward(Tensor dgate, Tensor dup, const Tensor& dout, const Tensor& gate, const Tensor& up) {
  constexpr const char* op = "swiglu_backward";
  expect_present(gate, op, "gate");
  for (auto [t, name] : {Named{&dgate, "dgate"}, {&dup, "dup"}, {&dout, "dout"}, {&up, "up"}}) {
    expect_shape_of(*t, op, name, gate.shape());
    expect_dtype_of(*t, op, name, gate.dtype());
  }
#ifdef ZT_HAVE_CUDA
  if (const Device dev = common_device({&dgate, &dup, &dout, &gate, &up}, op); dev.is_cuda()) {
    cuda::OpScope s(dev, op);
    return cuda::swiglu_backward(dgate.raw(), dup.raw(), dout.raw(), gate.raw(), up.raw(), gate.dtype(), gate.numel(),
                                 s.stream());
  }
#endif
  dispatch_device({&dgate, &dup, &dout, &gate, &up}, op);
  expect_cpu_float(gate, op, "gate");
  if (gate.dtype() == DType::f32)
    cpu::swiglu_backward(dgate.data<float>(), dup.data<float>(), dout.data<float>(), gate.data<float>(), up.data<float>(),
                         gate.numel());
  else
    cpu::swiglu_backward(dgate.data<double>(), dup.data<double>(), dout.data<double>(), gate.data<double>(),
                         up.data<double>(), gate.numel());
}

}  // namespace zt::ops
