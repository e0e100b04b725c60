// Global-norm gradient clipping: torch's clip_grad_norm_ formula, and DeepSpeed's fp16 combined
// unscale-and-clip (one division by scale * max(1, (norm/scale + 1e-6)/clip)).
#pragma once
#include <span>

#include "core/tensor.hpp"

namespace zt::train {

// sqrt(sum over all grads of sum g^2), accumulated in double over f32 (or f64) CPU tensors, or f32 GPU tensors
// through ops::sum_squares (one synchronising reduction per tensor: pass flat buffers there). Infinite or NaN
// exactly when some gradient element is (a double cannot overflow on squared f32 values), so
// !std::isfinite(global_grad_norm(...)) doubles as the fp16 overflow test.
double global_grad_norm(std::span<const Tensor> grads);

// torch.nn.utils.clip_grad_norm_: total = global norm, coef = max_norm / (total + 1e-6); if coef < 1 every
// gradient is multiplied by coef. Returns the total norm (before clipping). max_norm must be > 0.
double clip_grad_norm(std::span<const Tensor> grads, double max_norm);

// DeepSpeed ZeRO's unscale_and_clip_grads for fp16: `scaled_norm` is the global norm of the still-scaled
// gradients; combined = loss_scale * max(1, (scaled_norm / loss_scale + 1e-6) / clip) (clip <= 0: no
// clipping, combined = loss_scale); every gradient is divided by combined. Returns combined.
// With loss_scale 1 (bf16/fp32) this is the clip DeepSpeed applies there.
double unscale_and_clip(std::span<const Tensor> grads, double scaled_norm, double loss_scale, double clip);

// Multiplies every gradient by s (CPU f32/f64; GPU f32 through ops::scale_).
void scale_grads(std::span<const Tensor> grads, double s);

}  // namespace zt::train
