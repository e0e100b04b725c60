// CUDA launchers for fused causal GQA attention over a pad-free micro-batch (ops/attention.hpp), FlashAttention-2
// style: tiles of queries and keys in shared memory, online softmax, fp32 accumulation, never a T x T matrix.
#pragma once
#include <cstdint>

#include "core/dtype.hpp"
#include "ops/common.hpp"
#include "ops/cuda/runtime.hpp"

namespace zt::cuda {

// Largest head dimension the kernels take.
constexpr int kAttentionMaxHeadDim = 128;

// out (T, Hq, D), lse f32 (Hq, T); q (T, Hq, D), k/v (T, Hkv, D); cu_host (num_seqs + 1) boundaries on the host.
void attention_forward(void* out, float* lse, const void* q, const void* k, const void* v, DType dt, const int32_t* cu_host,
                       int num_seqs, int max_seqlen, int64_t T, int Hq, int Hkv, int D, float scale,
                       const ops::DropoutSpec& dropout, Context& ctx);
// dq (T, Hq, D), dk/dv (T, Hkv, D) written (=); each kv head's gradient sums its query heads inside one block.
void attention_backward(void* dq, void* dk, void* dv, const void* dout, const void* q, const void* k, const void* v,
                        const void* out, const float* lse, DType dt, const int32_t* cu_host, int num_seqs, int max_seqlen,
                        int64_t T, int Hq, int Hkv, int D, float scale, const ops::DropoutSpec& dropout, Context& ctx);

}  // namespace zt::cuda
