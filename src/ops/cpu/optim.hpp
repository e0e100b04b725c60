// CPU reference kernels for the optimizer op family (ops/optim.hpp): AdamW on flat fp32 buffers.
// Kernels take raw pointers and element counts; the dispatcher in ops/optim.cpp checks the tensors.
#pragma once
#include <cstdint>

namespace zt::ops::cpu {

// One AdamW step in DeepSpeed FusedAdam adam_w_mode semantics, over n elements, OpenMP-parallel:
//   m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2
//   p -= lr * ((m / bc1) / (sqrt(v) / sqrt(bc2) + eps) + wd * p),  bc_i = 1 - b_i^step
// `param`, `m`, `v` are updated in place; `grad` is read only. step >= 1.
void adamw_step(float* param, float* m, float* v, const float* grad, int64_t n, float lr, float beta1, float beta2,
                float eps, float weight_decay, int64_t step);

}  // namespace zt::ops::cpu
