// RMSNorm as Llama/Qwen2/Mistral use it: y = w * (x / sqrt(mean(x^2) + eps)), statistics in fp32.
#pragma once
#include "ops/common.hpp"

namespace zt::ops {

// out (T, C), rstd f32 (T) saved for backward; x (T, C); weight (C).
void rmsnorm_forward(Tensor out, Tensor rstd, const Tensor& x, const Tensor& weight, float eps);
// dx (T, C) = ; dweight (C) += (may be undefined when the weight is frozen).
void rmsnorm_backward(Tensor dx, Tensor dweight, const Tensor& dout, const Tensor& x, const Tensor& weight,
                      const Tensor& rstd);

}  // namespace zt::ops
