// CPU kernels for SwiGLU forward and backward; silu is evaluated as x / (1 + exp(-x)) like torch's CPU kernel.
// Each element reads its inputs before writing, so dgate/dup may alias gate/up/dout.
#include "ops/cpu/activation.hpp"

#include <cmath>

#include "ops/cpu/parallel.hpp"

namespace zt::ops::cpu {

template <class F> void swiglu_forward(F* out, const F* gate, const F* up, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= kMinParallelWork)
  for (int64_t i = 0; i < n; ++i) {
    const F g = gate[i];
    out[i] = g / (F(1) + std::exp(-g)) * up[i];
  }
}

template <class F> void swiglu_backward(F* dgate, F* dup, const F* dout, const F* gate, const F* up, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= kMinParallelWork)
  for (int64_t i = 0; i < n; ++i) {
    const F g = gate[i], u = up[i], d = dout[i];
    const F s = F(1) / (F(1) + std::exp(-g));  // sigmoid(g)
    dgate[i] = d * u * (s * (F(1) + g * (F(1) - s)));
    dup[i] = d * (g * s);
  }
}

template void swiglu_forward<float>(float*, const float*, const float*, int64_t);
template void swiglu_forward<double>(double*, const double*, const double*, int64_t);
template void swiglu_backward<float>(float*, float*, const float*, const float*, const float*, int64_t);
template void swiglu_backward<double>(double*, double*, const double*, const double*, const double*, int64_t);

}  // namespace zt::ops::cpu
