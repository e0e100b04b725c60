// Helpers for the CUDA op tests: inputs drawn on the CPU and rounded to the storage dtype, GPU tensors filled
// from them (outputs poisoned with NaN first), and the relative norm error against the f32 CPU reference.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "core/tensor.hpp"
#include "ops/cuda/runtime.hpp"
#include "ops/elementwise.hpp"

namespace zt::cudatest {

inline const Device kGpu = Device::CUDA(0);

// Relative norm error the dtype's storage permits for a few roundings (fp32 accumulation throughout).
inline double tolerance(DType dt) { return dt == DType::f32 ? 1e-5 : dt == DType::bf16 ? 1e-2 : 2e-3; }

class CudaOps : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override { cuda::initialize(); }
  DType dt() const { return GetParam(); }
  std::mt19937_64 rng{12345};
};

inline std::string dtype_label(const ::testing::TestParamInfo<DType>& i) { return dtype_name(i.param); }

// f32 CPU tensor, uniform in [lo, hi), each value representable in `dt` (so CPU and GPU see the same inputs).
inline Tensor rand_host(const Shape& shape, DType dt, std::mt19937_64& rng, double lo = -1.0, double hi = 1.0) {
  Tensor t = Tensor::empty(shape, DType::f32);
  std::uniform_real_distribution<double> u(lo, hi);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    float v = float(u(rng));
    if (dt == DType::bf16) v = bf16_to_f32(f32_to_bf16(v));
    else if (dt == DType::f16) v = f16_to_f32(f32_to_f16(v));
    p[i] = v;
  }
  return t;
}

inline Tensor to_gpu(const Tensor& host, DType dt) {
  Tensor g = Tensor::empty(host.shape(), dt, kGpu);
  ops::copy(g, host);
  return g;
}

// A GPU tensor whose every element is NaN, so an element a kernel fails to write shows up in the error.
inline Tensor poisoned(const Shape& shape, DType dt) {
  Tensor h = Tensor::empty(shape, DType::f32);
  h.fill(std::numeric_limits<double>::quiet_NaN());
  return to_gpu(h, dt);
}

inline Tensor to_host(const Tensor& g) {
  Tensor h = Tensor::empty(g.shape(), DType::f32);
  ops::copy(h, g);
  return h;
}

// ||got - ref|| / ||ref|| over f32 CPU tensors; NaN or a shape mismatch gives infinity.
inline double rel_err(const Tensor& got, const Tensor& ref) {
  if (got.numel() != ref.numel()) return std::numeric_limits<double>::infinity();
  const float* a = got.data<float>();
  const float* b = ref.data<float>();
  double num = 0.0, den = 0.0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    if (!std::isfinite(a[i])) return std::numeric_limits<double>::infinity();
    num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    den += double(b[i]) * b[i];
  }
  return den == 0.0 ? std::sqrt(num) : std::sqrt(num / den);
}

// Streams extra context like any EXPECT_*: EXPECT_CLOSE(gpu, ref, dt) << "C=" << C;
#define EXPECT_CLOSE(gpu_tensor, ref, dt)                                                             \
  EXPECT_LE(::zt::cudatest::rel_err(::zt::cudatest::to_host(gpu_tensor), ref), ::zt::cudatest::tolerance(dt)) \
      << #gpu_tensor << " in " << dtype_name(dt)

}  // namespace zt::cudatest
