// CUDA launcher for AdamW (ops/optim.hpp) on flat fp32 buffers, FusedAdam adam_w_mode semantics, many
// (param, m, v, grad) segments per launch so a model's units update in a few kernels.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>
#include <span>

namespace zt::cuda {

struct AdamSegment {
  float* param;
  float* m;
  float* v;
  const float* grad;
  int64_t n;
};

// One AdamW step over every segment: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p -= lr * ((m / bc1) / (sqrt(v) / sqrt(bc2) + eps) + wd * p), bc_i = 1 - b_i^step (computed in double).
void adamw_step(std::span<const AdamSegment> segments, float lr, float beta1, float beta2, float eps, float weight_decay,
                int64_t step, cudaStream_t stream);

}  // namespace zt::cuda
