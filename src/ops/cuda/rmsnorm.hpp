// CUDA launchers for RMSNorm (ops/rmsnorm.hpp): out = w * (x * rstd), rstd = 1/sqrt(mean(x^2) + eps) in fp32.
// dx is written (=); dweight accumulates (+=) in its own dtype (x's or f32), reduced in a fixed order.
#pragma once
#include <cstdint>

#include "core/dtype.hpp"
#include "ops/cuda/runtime.hpp"

namespace zt::cuda {

// out (N, C), rstd f32 (N); x (N, C), weight (C), all of dtype dt but rstd.
void rmsnorm_forward(void* out, float* rstd, const void* x, const void* weight, DType dt, int64_t N, int64_t C, float eps,
                     cudaStream_t stream);
// dx (N, C) =, dweight (C) += (nullable; dtype dweight_t); dout, x (N, C); weight (C); rstd f32 (N).
void rmsnorm_backward(void* dx, void* dweight, DType dweight_t, const void* dout, const void* x, const void* weight,
                      const float* rstd, DType dt, int64_t N, int64_t C, Context& ctx);

}  // namespace zt::cuda
