// Causal self-attention over a pad-free micro-batch with grouped-query heads (Hq a multiple of Hkv;
// query head h reads kv head h / (Hq / Hkv)). The CPU reference may materialise one sequence's scores;
// the CUDA kernels never materialise T x T.
#pragma once
#include "ops/common.hpp"

namespace zt::ops {

// out (T, Hq, D); lse f32 (Hq, T): log-sum-exp of each row of scaled scores (saved for backward);
// q (T, Hq, D), k/v (T, Hkv, D). dropout applies to the attention probabilities (element index
// ((h * T) + t_q) * max_seqlen + j for key j of the query's sequence).
void attention_forward(Tensor out, Tensor lse, const Tensor& q, const Tensor& k, const Tensor& v, const SeqLayout& seq,
                       float softmax_scale, const DropoutSpec& dropout = {});
// dq (T, Hq, D), dk/dv (T, Hkv, D) written (=).
void attention_backward(Tensor dq, Tensor dk, Tensor dv, const Tensor& dout, const Tensor& q, const Tensor& k,
                        const Tensor& v, const Tensor& out, const Tensor& lse, const SeqLayout& seq,
                        float softmax_scale, const DropoutSpec& dropout = {});

}  // namespace zt::ops
