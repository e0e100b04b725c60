// CUDA launcher for rotary position embedding (ops/rope.hpp), Hugging Face rotate_half layout: dimension d
// pairs with d + D/2; angles are float(position) * inv_freq in fp32 as transformers computes them.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/dtype.hpp"

namespace zt::cuda {

// x (T, H, D) rotated in place by positions i32 (T) * inv_freq f32 (D/2), all on the GPU;
// inverse = the transpose rotation (backward).
void rope_apply(void* x, const int32_t* positions, const float* inv_freq, DType dt, int64_t T, int64_t H, int64_t D,
                bool inverse, cudaStream_t stream);

}  // namespace zt::cuda
