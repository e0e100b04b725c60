// CPU AdamW kernel (FusedAdam adam_w_mode semantics) used for the fp32 reference path and --offload.
// Per-element math is f32 like DeepSpeed's kernels; the bias corrections are computed once in double.
#include "ops/cpu/optim.hpp"

#include <cmath>

namespace zt::ops::cpu {

void adamw_step(float* param, float* m, float* v, const float* grad, int64_t n, float lr, float beta1, float beta2,
                float eps, float weight_decay, int64_t step) {
  const double bc1 = 1.0 - std::pow(double(beta1), double(step));
  const double bc2 = 1.0 - std::pow(double(beta2), double(step));
  // m_hat / (sqrt(v)/sqrt(bc2) + eps) = (m / bc1) / (sqrt(v) * inv_sqrt_bc2 + eps)
  const float inv_bc1 = float(1.0 / bc1);
  const float inv_sqrt_bc2 = float(1.0 / std::sqrt(bc2));
  const float one_minus_b1 = 1.0f - beta1, one_minus_b2 = 1.0f - beta2;
#pragma omp parallel for simd schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i];
    const float mi = beta1 * m[i] + one_minus_b1 * g;
    const float vi = beta2 * v[i] + one_minus_b2 * g * g;
    m[i] = mi;
    v[i] = vi;
    const float denom = std::sqrt(vi) * inv_sqrt_bc2 + eps;
    const float update = (mi * inv_bc1) / denom + weight_decay * param[i];
    param[i] -= lr * update;
  }
}

}  // namespace zt::ops::cpu
