// Dispatcher for the optimizer op family (ops/optim.hpp): checks dtypes, sizes and devices, then runs the
// CPU kernel in ops/cpu/optim. CUDA tensors are rejected until the CUDA AdamW kernel lands.
#include "ops/optim.hpp"

#include <cmath>
#include <string>
#include <utility>

#include "ops/cpu/optim.hpp"
#ifdef ZT_HAVE_CUDA
#include "ops/cuda/optim.hpp"
#include "ops/cuda/runtime.hpp"
#endif

namespace zt::ops {

namespace {
void expect_flat_f32(const Tensor& t, const char* name) {
  check(t.defined(), std::string("adamw_step: ") + name + ": tensor is missing");
  check(t.dtype() == DType::f32, std::string("adamw_step: ") + name + ": expected f32, got " + t.str(),
        "the optimizer keeps fp32 master weights, moments and gradients; convert with ops::copy first");
  check(t.is_contiguous(), std::string("adamw_step: ") + name + ": must be contiguous, got " + t.str());
}
}  // namespace

void adamw_step(Tensor param, Tensor m, Tensor v, const Tensor& grad, const AdamWParams& p) {
  expect_flat_f32(param, "param");
  expect_flat_f32(m, "m");
  expect_flat_f32(v, "v");
  expect_flat_f32(grad, "grad");
  const int64_t n = param.numel();
  using Arg = std::pair<const Tensor*, const char*>;
  const Arg others[] = {{&m, "m"}, {&v, "v"}, {&grad, "grad"}};
  for (auto [t, name] : others)
    check(t->numel() == n, std::string("adamw_step: ") + name + ": expected " + std::to_string(n) +
                               " elements (as param " + param.str() + "), got " + t->str());
  const Device dev = param.device();
  for (auto [t, name] : others)
    check(t->device() == dev, std::string("adamw_step: ") + name + " is on " + t->device().str() + " but param is on " +
                                  dev.str(), "keep a parameter's master copy, moments and gradient on one device");
#ifndef ZT_HAVE_CUDA
  if (dev.is_cuda())
    fail("adamw_step has no CUDA kernel in this build (tensors on " + dev.str() + ")",
         "run the optimizer on CPU tensors (--offload), or build with nvcc for the CUDA AdamW kernel");
#endif
  check(p.step >= 1, "adamw_step: step must be >= 1 (1-based count of applied steps), got " + std::to_string(p.step));
  check(p.beta1 >= 0.0f && p.beta1 < 1.0f && p.beta2 >= 0.0f && p.beta2 < 1.0f,
        "adamw_step: betas must lie in [0, 1), got (" + std::to_string(p.beta1) + ", " + std::to_string(p.beta2) + ")",
        "fix optimizer.params.betas in the ds_config");
  check(std::isfinite(p.lr) && std::isfinite(p.eps) && std::isfinite(p.weight_decay),
        "adamw_step: lr, eps and weight_decay must be finite");
  if (n == 0) return;
#ifdef ZT_HAVE_CUDA
  if (dev.is_cuda()) {
    cuda::OpScope s(dev, "adamw_step");
    const cuda::AdamSegment seg{param.data<float>(), m.data<float>(), v.data<float>(), grad.data<float>(), n};
    return cuda::adamw_step({&seg, 1}, p.lr, p.beta1, p.beta2, p.eps, p.weight_decay, p.step, s.stream());
  }
#endif
  cpu::adamw_step(param.data<float>(), m.data<float>(), v.data<float>(), grad.data<float>(), n, p.lr, p.beta1, p.beta2,
                  p.eps, p.weight_decay, p.step);
}

}  // namespace zt::ops
