// CPU kernels for causal grouped-query attention over a pad-free micro-batch (ops/attention.hpp).
// One query row (head, token) at a time, flash-style: scores against its sequence's earlier keys, never T x T.
#pragma once
#include <cstdint>

#include "ops/common.hpp"

namespace zt::ops::cpu {

// out (T, Hq, D), lse (Hq, T); q (T, Hq, D), k/v (T, Hkv, D); cu_seqlens (num_seqs + 1) on the host.
// Attention-probability dropout uses element index ((h * T) + t_q) * max_seqlen + j, j the key's index in its sequence.
template <class F>
void attention_forward(F* out, F* lse, const F* q, const F* k, const F* v, const int32_t* cu_seqlens, int num_seqs,
                       int max_seqlen, int64_t T, int64_t Hq, int64_t Hkv, int64_t D, F scale, const DropoutSpec& dropout);
// dq (T, Hq, D), dk/dv (T, Hkv, D) written (=); probabilities are recomputed from lse.
template <class F>
void attention_backward(F* dq, F* dk, F* dv, const F* dout, const F* q, const F* k, const F* v, const F* out, const F* lse,
                        const int32_t* cu_seqlens, int num_seqs, int max_seqlen, int64_t T, int64_t Hq, int64_t Hkv,
                        int64_t D, F scale, const DropoutSpec& dropout);

}  // namespace zt::ops::cpu
