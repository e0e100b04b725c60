// AdamW on flat fp32 buffers with DeepSpeed FusedAdam semantics (adam_w_mode: decoupled weight decay,
// bias correction): p -= lr * (m_hat / (sqrt(v_hat) + eps) + wd * p).
#pragma once
#include "ops/common.hpp"

namespace zt::ops {

struct AdamWParams {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f, weight_decay = 0.0f;
  int64_t step = 1;  // 1-based count of applied steps, for bias correction
};

// param, m, v, grad: f32, same numel (flat views). grad is read only.
void adamw_step(Tensor param, Tensor m, Tensor v, const Tensor& grad, const AdamWParams& p);

}  // namespace zt::ops
