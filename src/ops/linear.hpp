// GEMMs: a general 2-D product, the linear layer (y = x W^T + b) and LoRA in the DeepSpeed-Chat layout
// (y += scaling * (dropout(x) @ right) @ left, right (in, r), left (r, out)).
#pragma once
#include "ops/common.hpp"

namespace zt::ops {

// c (M, N) = alpha * op(a) @ op(b) + beta * c, op = transpose when the flag is set. 2-D contiguous.
void gemm(Tensor c, const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, float alpha = 1.0f, float beta = 0.0f);

// y (T, out) = x (T, in) @ w^T (w is (out, in)) + bias (out, optional); accumulate: y += instead.
void linear_forward(Tensor y, const Tensor& x, const Tensor& w, const Tensor& bias, bool accumulate = false);
// dx (T, in): = (or += with accumulate_dx), skipped if undefined; dw (out, in) +=, skipped if undefined
// (frozen weight); dbias (out) +=, skipped if undefined.
void linear_backward(Tensor dx, Tensor dw, Tensor dbias, const Tensor& dy, const Tensor& x, const Tensor& w,
                     bool accumulate_dx = false);

// y (T, out) += scaling * h @ left, with h (T, r) = dropout(x) @ right written for backward.
void lora_forward(Tensor y, Tensor h, const Tensor& x, const Tensor& right, const Tensor& left, float scaling,
                  const DropoutSpec& dropout = {});
// dx (T, in) +=; dright (in, r) +=; dleft (r, out) +=; dh (T, r) is scratch.
void lora_backward(Tensor dx, Tensor dright, Tensor dleft, Tensor dh, const Tensor& dy, const Tensor& x,
                   const Tensor& h, const Tensor& right, const Tensor& left, float scaling,
                   const DropoutSpec& dropout = {});

}  // namespace zt::ops
