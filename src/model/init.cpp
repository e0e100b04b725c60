// Block-seeded initialisation: block b of parameter `name` draws from a splitmix64 counter stream keyed by a hash of
// (seed, name, b): about 3x faster than mt19937_64 + std::normal_distribution, which an 8 B-parameter model feels.
#include "model/init.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"

namespace zt::model {

namespace {

uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

}  // namespace

void init_param_range(const ModelConfig& cfg, const LoraSpec& lora, const ParamInfo& p, uint64_t seed, int64_t begin, int64_t n,
                      float* out) {
  check(begin >= 0 && n >= 0 && begin + n <= p.numel(),
        "init_param_range: elements [" + std::to_string(begin) + ", " + std::to_string(begin + n) + ") outside '" + p.name + "' (" +
            std::to_string(p.numel()) + ")");
  switch (p.init) {
    case Init::ones: std::fill_n(out, n, 1.0f); return;
    case Init::zeros: std::fill_n(out, n, 0.0f); return;
    default: break;
  }
  const uint64_t key = splitmix64(splitmix64(seed) ^ fnv1a(p.name));
  const float lora_bound = lora.enabled() ? 1.0f / std::sqrt(float(lora.dim)) : 0.0f;
  const float sd = float(cfg.initializer_range);
  for (int64_t b = begin / kInitBlock; b * kInitBlock < begin + n; ++b) {
    const int64_t first = b * kInitBlock, lo = std::max(begin, first), hi = std::min(begin + n, (b + 1) * kInitBlock);
    // The block's stream: splitmix64 of a counter from a per-block key (as fast as the draws get; any element
    // range re-derives the same numbers by drawing the block from its start).
    uint64_t ctr = splitmix64(key + uint64_t(b));
    auto next = [&] { return splitmix64(ctr++); };
    if (p.init == Init::lora_right) {
      for (int64_t i = first; i < hi; ++i) {
        const float u = float(next() >> 40) * (1.0f / 16777216.0f);  // [0, 1), 24 bits
        if (i >= lo) out[i - begin] = -lora_bound + 2.0f * lora_bound * u;
      }
      continue;
    }
    // Normal pairs by Marsaglia's polar method (no trigonometry; about 1.27 draws per pair).
    for (int64_t i = first; i < hi; i += 2) {
      float x, y, r2;
      do {
        const uint64_t r = next();
        x = float(int32_t(uint32_t(r >> 32))) * (1.0f / 2147483648.0f);
        y = float(int32_t(uint32_t(r))) * (1.0f / 2147483648.0f);
        r2 = x * x + y * y;
      } while (r2 >= 1.0f || r2 == 0.0f);
      const float m = sd * std::sqrt(-2.0f * std::log(r2) / r2);
      if (i >= lo) out[i - begin] = x * m;
      if (i + 1 >= lo && i + 1 < hi) out[i + 1 - begin] = y * m;
    }
  }
  // transformers zeroes the padding_idx row of nn.Embedding
  if (p.init == Init::embedding && cfg.pad_token_id && *cfg.pad_token_id >= 0 && *cfg.pad_token_id < p.shape[0]) {
    const int64_t row_lo = *cfg.pad_token_id * p.shape[1], row_hi = row_lo + p.shape[1];
    for (int64_t i = std::max(begin, row_lo); i < std::min(begin + n, row_hi); ++i) out[i - begin] = 0.0f;
  }
}

}  // namespace zt::model
