// SwiGLU as the Llama MLP uses it: out = silu(gate) * up.
#pragma once
#include "ops/common.hpp"

namespace zt::ops {

// out, gate, up: (T, F).
void swiglu_forward(Tensor out, const Tensor& gate, const Tensor& up);
// dgate, dup written (=).
void swiglu_backward(Tensor dgate, Tensor dup, const Tensor& dout, const Tensor& gate, const Tensor& up);

}  // namespace zt::ops
