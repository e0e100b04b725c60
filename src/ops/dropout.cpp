// Dispatcher for standalone dropout: checks p, shapes, dtypes and devices, then runs ops/cpu/dropout.
// p = 0 is the identity (a copy); element i of the flattened tensor uses counter offset + i.
#include "ops/dropout.hpp"

#include <cstring>

#include "ops/checks.hpp"
#include "ops/cpu/dropout.hpp"
#ifdef ZT_HAVE_CUDA
#include "ops/cuda/dropout.hpp"
#include "ops/cuda/runtime.hpp"
#endif

namespace zt::ops {

using namespace detail;

namespace {
void dropout_run(Tensor& out, const Tensor& x, const DropoutSpec& d, const char* op, const char* oname, const char* xname) {
  expect_present(x, op, xname);
  expect_shape_of(out, op, oname, x.shape());
  expect_dtype_of(out, op, oname, x.dtype());
  check_dropout_p(d, op);
#ifdef ZT_HAVE_CUDA
  if (const Device dev = common_device({&out, &x}, op); dev.is_cuda()) {
    cuda::OpScope s(dev, op);
    if (!d.active()) {
      if (out.raw() != x.raw())
        ZT_CUDA(cudaMemcpyAsync(out.raw(), x.raw(), x.nbytes(), cudaMemcpyDeviceToDevice, s.stream()));
      return;
    }
    return cuda::dropout_apply(out.raw(), x.raw(), x.dtype(), x.numel(), d, s.stream());
  }
#endif
  dispatch_device({&out, &x}, op);
  expect_cpu_float(x, op, xname);
  if (!d.active()) {
    if (out.raw() != x.raw()) std::memcpy(out.raw(), x.raw(), x.nbytes());
    return;
  }
  if (x.dtype() == DType::f32) cpu::dropout_apply(out.data<float>(), x.data<float>(), x.numel(), d);
  else cpu::dropout_apply(out.data<double>(), x.data<double>(), x.numel(), d);
}
}  // namespace

void dropout_forward(Tensor out, const Tensor& x, const DropoutSpec& d) { dropout_run(out, x, d, "dropout_forward", "out", "x"); }

void dropout_backward(Tensor dx, const Tensor& dout, const DropoutSpec& d) {
  dropout_run(dx, dout, d, "dropout_backward", "dx", "dout");
}

}  // namespace zt::ops
