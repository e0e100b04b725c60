// Argument checks shared by the op dispatchers (src/ops/<family>.cpp): every message names the op and the
// tensor, e.g. "rmsnorm_forward: weight: expected shape [64], got f32[32] cpu". Internal to src/ops.
#pragma once
#include <cmath>
#include <string>
#include <utility>

#include "core/tensor.hpp"
#include "ops/common.hpp"

namespace zt::ops::detail {

// A tensor argument and its name, for looping over several arguments with the same rule.
using Named = std::pair<const Tensor*, const char*>;

inline std::string arg_name(const char* op, const char* name) { return std::string(op) + ": " + name; }

// Defined and contiguous.
inline void expect_present(const Tensor& t, const char* op, const char* name) {
  check(t.defined(), arg_name(op, name) + ": tensor is missing");
  check(t.is_contiguous(), arg_name(op, name) + ": must be contiguous, got " + t.str());
}

inline void expect_shape_of(const Tensor& t, const char* op, const char* name, const Shape& shape) {
  expect_present(t, op, name);
  check(t.shape() == shape, arg_name(op, name) + ": expected shape " + shape_str(shape) + ", got " + t.str());
}

inline void expect_dtype_of(const Tensor& t, const char* op, const char* name, DType dt) {
  check(t.dtype() == dt, arg_name(op, name) + ": expected " + dtype_name(dt) + ", got " + t.str());
}

inline void expect_ndim(const Tensor& t, const char* op, const char* name, int ndim, const char* layout) {
  expect_present(t, op, name);
  check(t.ndim() == ndim, arg_name(op, name) + ": expected " + std::to_string(ndim) + "-D " + layout + ", got " + t.str());
}

// Resolves the device of an op call and rejects devices this build has no kernel for.
// Returns the common device (always the CPU today).
inline Device dispatch_device(std::initializer_list<const Tensor*> ts, const char* op) {
  Device dev = common_device(ts, op);
  if (dev.is_cuda())
    fail(std::string(op) + " has no CUDA kernel in this build (tensors on " + dev.str() + ")",
         "run this op on CPU tensors; the CUDA backend (src/ops/cuda/) does not implement it yet");
  return dev;
}

// The CPU reference computes in f32 (training) or f64 (finite-difference tests).
inline void expect_cpu_float(const Tensor& t, const char* op, const char* name) {
  check(t.dtype() == DType::f32 || t.dtype() == DType::f64,
        arg_name(op, name) + ": the CPU kernels take f32 or f64, got " + t.str(),
        "convert the tensor with ops::copy into an f32 tensor first");
}

// Every op that takes a DropoutSpec needs p in [0, 1).
inline void check_dropout_p(const DropoutSpec& d, const char* op) {
  check(std::isfinite(d.p) && d.p >= 0.0f && d.p < 1.0f,
        std::string(op) + ": dropout probability must be in [0, 1), got " + std::to_string(d.p),
        "set the dropout option (e.g. --lora_dropout, attention_dropout) to a value in [0, 1)");
}

}  // namespace zt::ops::detail
