// CPU kernels for counter-based dropout: the mask is a pure function of (seed, offset + element index), so
// backward regenerates it and the CUDA kernels drop the same elements.
#include "ops/cpu/dropout.hpp"

#include "ops/cpu/parallel.hpp"

namespace zt::ops::cpu {

template <class F> void dropout_apply(F* out, const F* x, int64_t n, const DropoutSpec& d) {
  const F scale = F(1) / (F(1) - F(d.p));
#pragma omp parallel for schedule(static) if (n >= kMinParallelWork)
  for (int64_t i = 0; i < n; ++i) out[i] = dropout_keep(d, uint64_t(i)) ? x[i] * scale : F(0);
}

template <class F> void dropout_accumulate(F* dst, const F* src, int64_t n, const DropoutSpec& d) {
  const F scale = F(1) / (F(1) - F(d.p));
#pragma omp parallel for schedule(static) if (n >= kMinParallelWork)
  for (int64_t i = 0; i < n; ++i)
    if (dropout_keep(d, uint64_t(i))) dst[i] += src[i] * scale;
}

template void dropout_apply<float>(float*, const float*, int64_t, const DropoutSpec&);
template void dropout_apply<double>(double*, const double*, int64_t, const DropoutSpec&);
template void dropout_accumulate<float>(float*, const float*, int64_t, const DropoutSpec&);
template void dropout_accumulate<double>(double*, const double*, int64_t, const DropoutSpec&);

}  // namespace zt::ops::cpu
