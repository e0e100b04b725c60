// CPU kernels for cross-entropy over the vocabulary (ops/loss.hpp), rows in parallel. Logits may be any float
// dtype: f64 computes in double, everything else in float (16-bit rows are widened first). loss/lse are f32 or f64.
#pragma once
#include <cstdint>

#include "core/dtype.hpp"

namespace zt::ops::cpu {

// Index of the first target that is neither -100 nor in [0, V), or -1. targets (T)
int64_t first_bad_target(const int32_t* targets, int64_t T, int64_t V);
// loss (T), lse (T); logits (T, V); targets (T). Ignored rows get loss 0 (their lse is still computed).
void cross_entropy_forward(void* loss, DType loss_dtype, void* lse, DType lse_dtype, const void* logits, DType logits_dtype,
                           const int32_t* targets, int64_t T, int64_t V);
// dlogits (T, V, same dtype as logits; may alias logits) = grad_scale * (exp(logits - lse) - onehot), 0 rows if ignored.
void cross_entropy_backward(void* dlogits, const void* logits, DType logits_dtype, const void* lse, DType lse_dtype,
                            const int32_t* targets, float grad_scale, int64_t T, int64_t V);

}  // namespace zt::ops::cpu
