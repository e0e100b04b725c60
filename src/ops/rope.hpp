// Rotary position embedding (Hugging Face's rotate_half convention: the head dimension is split into
// two halves that rotate together), with the default and "llama3" frequency schedules.
#pragma once
#include <string>

#include "ops/common.hpp"

namespace zt::ops {

struct RopeConfig {
  int head_dim = 0;
  double theta = 10000.0;
  std::string type = "default";  // "default" or "llama3"
  // llama3 only:
  double factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

// inv_freq f32 (head_dim / 2) on the CPU, computed as transformers does (fp32, llama3 smoothing).
Tensor rope_inv_freq(const RopeConfig& cfg);

// In place on x (T, H, D): rotates token t by angle positions[t] * inv_freq (fp32 products, as HF).
void rope_forward(Tensor x, const Tensor& positions, const Tensor& inv_freq);
// In place on dx (T, H, D): the transpose rotation.
void rope_backward(Tensor dx, const Tensor& positions, const Tensor& inv_freq);

}  // namespace zt::ops
