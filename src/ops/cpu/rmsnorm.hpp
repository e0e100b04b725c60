// CPU kernels for RMSNorm (ops/rmsnorm.hpp), LlamaRMSNorm semantics: out = w * (x * rstd), rstd = 1/sqrt(mean(x^2)+eps).
// dx is written (=), dweight accumulates (+=).
#pragma once
#include <cstdint>

namespace zt::ops::cpu {

// out (N, C), rstd (N); x (N, C), weight (C)
template <class F> void rmsnorm_forward(F* out, F* rstd, const F* x, const F* weight, int64_t N, int64_t C, F eps);
// dx (N, C) =, dweight (C) += (nullptr: skipped); dout, x (N, C); weight (C); rstd (N)
template <class F>
void rmsnorm_backward(F* dx, F* dweight, const F* dout, const F* x, const F* weight, const F* rstd, int64_t N, int64_t C);

}  // namespace zt::ops::cpu
