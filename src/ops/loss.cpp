// Dispatcher for cross-entropy: checks shapes, dtypes, devices and targets, then runs ops/cpu/loss.
// logits: any float dtype on the CPU; loss/lse: f32 (or f64 for finite-difference tests); dlogits: the logits' dtype.
#include "ops/loss.hpp"

#include "ops/checks.hpp"
#include "ops/cpu/loss.hpp"
#ifdef ZT_HAVE_CUDA
#include <vector>

#include "ops/cuda/loss.hpp"
#include "ops/cuda/runtime.hpp"
#endif

namespace zt::ops {

using namespace detail;

namespace {
void expect_stat_dtype(const Tensor& t, const char* op, const char* name) {
  check(t.dtype() == DType::f32 || t.dtype() == DType::f64, arg_name(op, name) + ": expected f32 (or f64), got " + t.str());
}

void check_targets(const int32_t* tg, int64_t T, int64_t V, const char* op) {
  const int64_t bad = cpu::first_bad_target(tg, T, V);
  if (bad >= 0)
    fail(std::string(op) + ": targets: token " + std::to_string(bad) + " has target " + std::to_string(tg[bad]) +
             ", outside the vocabulary [0, " + std::to_string(V) + ") and not the ignore index -100",
         "check that the labels were produced by a tokenizer matching the model (vocab size " + std::to_string(V) + ")");
}
}  // namespace

void cross_entropy_forward(Tensor loss, Tensor lse, const Tensor& logits, const Tensor& targets) {
  constexpr const char* op = "cross_entropy_forward";
  expect_ndim(logits, op, "logits", 2, "(T, V)");
  const int64_t T = logits.size(0), V = logits.size(1);
  check(is_float(logits.dtype()), arg_name(op, "logits") + ": expected a float tensor, got " + logits.str());
  expect_shape_of(targets, op, "targets", {T});
  expect_dtype_of(targets, op, "targets", DType::i32);
  expect_shape_of(loss, op, "loss", {T});
  expect_shape_of(lse, op, "lse", {T});
  expect_stat_dtype(loss, op, "loss");
  expect_stat_dtype(lse, op, "lse");
  check(V > 0, arg_name(op, "logits") + ": empty vocabulary dimension in " + logits.str());
#ifdef ZT_HAVE_CUDA
  if (const Device dev = common_device({&loss, &lse, &logits, &targets}, op); dev.is_cuda()) {
    expect_dtype_of(loss, op, "loss", DType::f32);
    expect_dtype_of(lse, op, "lse", DType::f32);
    cuda::OpScope s(dev, op);
    std::vector<int32_t> host(static_cast<size_t>(T));  // (T) targets, validated on the host for a clear error
    cuda::copy_to_host(host.data(), targets.raw(), size_t(T) * sizeof(int32_t), s.ctx());
    check_targets(host.data(), T, V, op);
    return cuda::cross_entropy_forward(loss.data<float>(), lse.data<float>(), logits.raw(), logits.dtype(),
                                       targets.data<int32_t>(), T, V, s.stream());
  }
#endif
  dispatch_device({&loss, &lse, &logits, &targets}, op);
  check_targets(targets.data<int32_t>(), T, V, op);
  cpu::cross_entropy_forward(loss.raw(), loss.dtype(), lse.raw(), lse.dtype(), logits.raw(), logits.dtype(),
                             targets.data<int32_t>(), T, V);
}

void cross_entropy_backward(Tensor dlogits, const Tensor& logits, const Tensor& lse, const Tensor& targets, float grad_scale) {
  constexpr const char* op = "cross_entropy_backward";
  expect_ndim(logits, op, "logits", 2, "(T, V)");
  const int64_t T = logits.size(0), V = logits.size(1);
  check(is_float(logits.dtype()), arg_name(op, "logits") + ": expected a float tensor, got " + logits.str());
  expect_shape_of(dlogits, op, "dlogits", {T, V});
  expect_dtype_of(dlogits, op, "dlogits", logits.dtype());
  expect_shape_of(targets, op, "targets", {T});
  expect_dtype_of(targets, op, "targets", DType::i32);
  expect_shape_of(lse, op, "lse", {T});
  expect_stat_dtype(lse, op, "lse");
  check(V > 0, arg_name(op, "logits") + ": empty vocabulary dimension in " + logits.str());
#ifdef ZT_HAVE_CUDA
  if (const Device dev = common_device({&dlogits, &logits, &lse, &targets}, op); dev.is_cuda()) {
    expect_dtype_of(lse, op, "lse", DType::f32);
    cuda::OpScope s(dev, op);
    std::vector<int32_t> host(static_cast<size_t>(T));  // (T) targets, validated on the host for a clear error
    cuda::copy_to_host(host.data(), targets.raw(), size_t(T) * sizeof(int32_t), s.ctx());
    check_targets(host.data(), T, V, op);
    return cuda::cross_entropy_backward(dlogits.raw(), logits.raw(), logits.dtype(), lse.data<float>(),
                                        targets.data<int32_t>(), grad_scale, T, V, s.stream());
  }
#endif
  dispatch_device({&dlogits, &logits, &lse, &targets}, op);
  check_targets(targets.data<int32_t>(), T, V, op);
  cpu::cross_entropy_backward(dlogits.raw(), logits.raw(), logits.dtype(), lse.raw(), lse.dtype(), targets.data<int32_t>(),
                              grad_scale, T, V);
}

}  // namespace zt::ops
