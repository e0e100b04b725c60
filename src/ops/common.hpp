// Shared op vocabulary: the pad-free sequence layout, dropout specs and the device dispatch helper.
// Conventions for every op family: outputs first, then inputs, then sizes; parameter gradients
// accumulate (+=), activation gradients are written (=) unless a flag says accumulate.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.hpp"

namespace zt::ops {

// A pad-free micro-batch: B sequences' real tokens laid end to end, T tokens in all.
// Attention is causal within each sequence; positions restart at 0 per sequence.
struct SeqLayout {
  Tensor cu_seqlens;             // i32 (B+1) on the compute device; cu[0] = 0, cu[B] = T
  Tensor positions;              // i32 (T) on the compute device: index of each token within its sequence
  std::vector<int32_t> cu_host;  // the same boundaries on the host
  int max_seqlen = 0;
  int num_seqs() const { return int(cu_host.size()) - 1; }
  int64_t num_tokens() const { return cu_host.empty() ? 0 : cu_host.back(); }
};
// Builds a CPU SeqLayout from sequence lengths.
SeqLayout make_seq_layout(const std::vector<int32_t>& lengths);

// Dropout that regenerates its mask from (seed, offset + element index), so backward needs no stored
// mask and the CPU and CUDA backends drop the same elements. p = 0 means no dropout.
struct DropoutSpec {
  float p = 0.0f;
  uint64_t seed = 0;
  uint64_t offset = 0;
  bool active() const { return p > 0.0f; }
};

// Uniform [0,1) from a counter (splitmix64 finaliser); host and device identical.
#if defined(__CUDACC__)
__host__ __device__
#endif
inline float dropout_uniform(uint64_t seed, uint64_t idx) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + idx + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return float(z >> 40) * (1.0f / 16777216.0f);  // 24 random bits
}
#if defined(__CUDACC__)
__host__ __device__
#endif
inline bool dropout_keep(const DropoutSpec& d, uint64_t idx) { return dropout_uniform(d.seed, d.offset + idx) >= d.p; }

// Every tensor argument of one op call must live on the same device; returns it.
Device common_device(std::initializer_list<const Tensor*> ts, const char* op);

}  // namespace zt::ops
