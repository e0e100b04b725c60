// CPU kernels for RMSNorm forward and backward (rows in parallel; dweight reduced per channel block so the
// summation order is fixed whatever the thread count). The f32 sum of squares accumulates in double.
#include "ops/cpu/rmsnorm.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "ops/cpu/parallel.hpp"

namespace zt::ops::cpu {

template <class F> void rmsnorm_forward(F* out, F* rstd, const F* x, const F* weight, int64_t N, int64_t C, F eps) {
#pragma omp parallel for schedule(static) if (N * C >= kMinParallelWork)
  for (int64_t t = 0; t < N; ++t) {
    const F* xr = x + t * C;
    double ss = 0.0;
    for (int64_t c = 0; c < C; ++c) ss += double(xr[c]) * double(xr[c]);
    const F var = F(ss / double(C));
    const F r = F(1) / std::sqrt(var + eps);
    rstd[t] = r;
    F* o = out + t * C;
    for (int64_t c = 0; c < C; ++c) o[c] = weight[c] * (xr[c] * r);  // HF order: weight * (x * rstd)
  }
}

template <class F>
void rmsnorm_backward(F* dx, F* dweight, const F* dout, const F* x, const F* weight, const F* rstd, int64_t N, int64_t C) {
  if (dweight != nullptr) {
    constexpr int64_t kBlock = 256;
    const int64_t blocks = (C + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (N * C >= kMinParallelWork)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t lo = b * kBlock, hi = std::min(C, lo + kBlock);
      F acc[kBlock] = {};  // (block) partial dweight
      for (int64_t t = 0; t < N; ++t) {
        const F r = rstd[t];
        const F* xr = x + t * C;
        const F* g = dout + t * C;
        for (int64_t c = lo; c < hi; ++c) acc[c - lo] += g[c] * (xr[c] * r);
      }
      for (int64_t c = lo; c < hi; ++c) dweight[c] += acc[c - lo];
    }
  }
  // dx = r * w*g - r^3/C * x * sum(w*g*x)
#pragma omp parallel for schedule(static) if (N * C >= kMinParallelWork)
  for (int64_t t = 0; t < N; ++t) {
    const F r = rstd[t];
    const F* xr = x + t * C;
    const F* g = dout + t * C;
    F dot = 0;
    for (int64_t c = 0; c < C; ++c) dot += weight[c] * g[c] * xr[c];
    const F k = r * r * r * dot / F(C);
    F* d = dx + t * C;
    for (int64_t c = 0; c < C; ++c) d[c] = r * weight[c] * g[c] - k * xr[c];
  }
}

template void rmsnorm_forward<float>(float*, float*, const float*, const float*, int64_t, int64_t, float);
template void rmsnorm_forward<double>(double*, double*, const double*, const double*, int64_t, int64_t, double);
template void rmsnorm_backward<float>(float*, float*, const float*, const float*, const float*, const float*, int64_t, int64_t);
template void rmsnorm_backward<double>(double*, double*, const double*, const double*, const double*, const double*, int64_t,
                                       int64_t);

}  // namespace zt::ops::cpu
