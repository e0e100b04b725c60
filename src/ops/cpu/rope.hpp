// CPU kernels for rotary position embedding (ops/rope.hpp), Hugging Face rotate_half layout: dimension d pairs
// with d + D/2. Angles are float(position) * inv_freq in fp32 as transformers computes them.
#pragma once
#include <cstdint>

namespace zt::ops::cpu {

// inv_freq (D/2) for the default schedule, in fp32 as torch: 1 / theta ** (arange(0, D, 2) / D).
void rope_inv_freq_default(float* inv_freq, int head_dim, double theta);
// Applies the "llama3" smoothing (transformers _compute_llama3_parameters) in place, in fp32.
void rope_inv_freq_llama3(float* inv_freq, int half, double factor, double low_freq_factor, double high_freq_factor,
                          double original_max_position_embeddings);

// x (T, H, D) rotated in place by positions (T) * inv_freq (D/2); inverse = the transpose rotation (backward).
template <class F>
void rope_apply(F* x, const int32_t* positions, const float* inv_freq, int64_t T, int64_t H, int64_t D, bool inverse);

}  // namespace zt::ops::cpu
