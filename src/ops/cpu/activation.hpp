// CPU kernels for SwiGLU (ops/activation.hpp): out = silu(gate) * up, silu(x) = x * sigmoid(x).
// Gradients are written (=); every element is independent, so outputs may alias inputs.
#pragma once
#include <cstdint>

namespace zt::ops::cpu {

// out, gate, up (n)
template <class F> void swiglu_forward(F* out, const F* gate, const F* up, int64_t n);
// dgate, dup (n) =; dout, gate, up (n)
template <class F> void swiglu_backward(F* dgate, F* dup, const F* dout, const F* gate, const F* up, int64_t n);

}  // namespace zt::ops::cpu
