// Tensor-core (mma.sync) kernels for causal GQA attention on bf16/f16 storage, used by ops/cuda/attention.cu when
// attention_tc_supported() holds; the CUDA-core kernels there serve f32, dropout and pre-Ampere GPUs.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.hpp"
#include "ops/cuda/runtime.hpp"

namespace zt::cuda {

// One tile of work: a sequence's first token and length, and the tile's first row within the sequence.
struct AttnTile {
  int32_t start, len, row0, pad;
};

enum class AttnTileKind { forward, dq, dkdv };

// bf16/f16 storage, head_dim a multiple of 8 up to 128, no dropout, compute capability 8.0 or newer.
bool attention_tc_supported(DType dt, int D, float dropout_p, const Context& ctx);
// Rows per tile each kernel expects (query rows for forward and dq, key rows for dkdv).
int attention_tc_rows(AttnTileKind kind);

// Shapes as attention.hpp; tiles on the device (attention_tc_rows rows each).
void attention_tc_forward(void* out, float* lse, const void* q, const void* k, const void* v, DType dt,
                          const AttnTile* tiles, int num_tiles, int64_t T, int Hq, int Hkv, int D, float scale,
                          cudaStream_t stream);
// delta (Hq, T) = rowsum(dout * out) already computed.
void attention_tc_backward(void* dq, void* dk, void* dv, const void* dout, const void* q, const void* k, const void* v,
                           const float* lse, const float* delta, DType dt, const AttnTile* q_tiles, int num_q_tiles,
                           const AttnTile* k_tiles, int num_k_tiles, int64_t T, int Hq, int Hkv, int D, float scale,
                           cudaStream_t stream);

}  // namespace zt::cuda
