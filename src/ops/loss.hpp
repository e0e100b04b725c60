// Cross-entropy over next-token targets with ignore_index -100.
#pragma once
#include "ops/common.hpp"

namespace zt::ops {

constexpr int32_t kIgnoreIndex = -100;

// loss f32 (T): -log softmax(logits[t])[targets[t]], 0 where targets[t] == -100; lse f32 (T) saved.
// logits (T, V) in any float dtype; targets i32 (T). A target outside [0, V) other than -100 is an error.
void cross_entropy_forward(Tensor loss, Tensor lse, const Tensor& logits, const Tensor& targets);
// dlogits (T, V) = grad_scale * (softmax(logits) - onehot(target)), 0 rows for ignored targets.
// dlogits may alias logits (in place). grad_scale is d(total)/d(per-token loss), e.g. 1 / n_valid.
void cross_entropy_backward(Tensor dlogits, const Tensor& logits, const Tensor& lse, const Tensor& targets,
                            float grad_scale);

}  // namespace zt::ops
