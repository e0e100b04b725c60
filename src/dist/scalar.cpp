// A host scalar reduced over the ranks of a Comm: one implementation for the ZeRO engine's norms and flags and the
// trainer's rank-averaged losses.
#include "dist/scalar.hpp"

#include "ops/elementwise.hpp"

namespace zt::dist {

double all_reduce_scalar(Comm& comm, Device device, double v, ReduceOp op) {
  if (comm.size() == 1) return v;
  const bool gpu = device.is_cuda();
  Tensor host = Tensor::empty({1}, gpu ? DType::f32 : DType::f64);
  if (gpu) host.data<float>()[0] = float(v);
  else host.data<double>()[0] = v;
  Tensor t = gpu ? Tensor::empty({1}, DType::f32, device) : host;
  if (gpu) ops::copy(t, host);
  comm.wait_for_compute();
  comm.all_reduce(t, op);
  comm.compute_waits();
  if (!gpu) return host.data<double>()[0];
  ops::copy(host, t);
  return double(host.data<float>()[0]);
}

}  // namespace zt::dist
