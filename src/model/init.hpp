// Random initialisation by blocks for writers that never hold the whole model (`zerotune init` of an 8B model):
// each element's value depends only on (seed, parameter name, element index), so any number of threads filling
// any ranges in any order produce the same bytes.
#pragma once
#include <cstdint>

#include "model/config.hpp"
#include "model/layout.hpp"

namespace zt::model {

// Elements drawn from one generator state; ranges aligned to it cost no skipped draws.
constexpr int64_t kInitBlock = int64_t(1) << 20;

// Writes elements [begin, begin + n) of parameter `p` (row-major) as f32 into out[0, n), with transformers'
// distributions as ResidentModel::init_random uses them: normal(0, initializer_range) for linears and embeddings
// (the padding_idx row of the embedding zero), ones for norms, zeros for biases, LoRA right U(-1/sqrt(r), 1/sqrt(r)),
// LoRA left zeros. The values differ from init_random's (one generator there, a generator per block here).
void init_param_range(const ModelConfig& cfg, const LoraSpec& lora, const ParamInfo& p, uint64_t seed, int64_t begin, int64_t n,
                      float* out);

}  // namespace zt::model
