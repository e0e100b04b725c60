// CUDA launchers for the fused cross-entropy (ops/loss.hpp): one pass of online softmax per row over the logits
// in their own dtype (no probabilities or fp32 copy of the logits are ever stored); loss and lse are f32.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/dtype.hpp"

namespace zt::cuda {

// loss f32 (T), lse f32 (T); logits (T, V); targets i32 (T) on the GPU, validated (-100 = ignored, loss 0).
void cross_entropy_forward(float* loss, float* lse, const void* logits, DType dt, const int32_t* targets, int64_t T,
                           int64_t V, cudaStream_t stream);
// dlogits (T, V, logits' dtype, may alias logits) = grad_scale * (exp(logits - lse) - onehot); 0 rows if ignored.
void cross_entropy_backward(void* dlogits, const void* logits, DType dt, const float* lse, const int32_t* targets,
                            float grad_scale, int64_t T, int64_t V, cudaStream_t stream);

}  // namespace zt::cuda
