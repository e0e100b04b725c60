// CPU kernels for the token embedding: gather rows forward, scatter-add rows backward.
// The backward splits the channel dimension across threads so repeated ids never race.
#include "ops/cpu/embedding.hpp"

#include <algorithm>
#include <cstring>

#include "ops/cpu/parallel.hpp"

namespace zt::ops::cpu {

int64_t first_bad_id(const int32_t* ids, int64_t T, int64_t V) {
  for (int64_t t = 0; t < T; ++t)
    if (ids[t] < 0 || ids[t] >= V) return t;
  return -1;
}

template <class F> void embedding_forward(F* out, const F* table, const int32_t* ids, int64_t T, int64_t C) {
#pragma omp parallel for schedule(static) if (T * C >= kMinParallelWork)
  for (int64_t t = 0; t < T; ++t) std::memcpy(out + t * C, table + int64_t(ids[t]) * C, size_t(C) * sizeof(F));
}

template <class F> void embedding_backward(F* dtable, const F* dout, const int32_t* ids, int64_t T, int64_t C) {
  // Each thread owns a block of channels for all tokens: tokens in order, so accumulation order is fixed.
  constexpr int64_t kBlock = 64;
  const int64_t blocks = (C + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (T * C >= kMinParallelWork)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t lo = b * kBlock, hi = std::min(C, lo + kBlock);
    for (int64_t t = 0; t < T; ++t) {
      F* dst = dtable + int64_t(ids[t]) * C;
      const F* src = dout + t * C;
      for (int64_t c = lo; c < hi; ++c) dst[c] += src[c];
    }
  }
}

template void embedding_forward<float>(float*, const float*, const int32_t*, int64_t, int64_t);
template void embedding_forward<double>(double*, const double*, const int32_t*, int64_t, int64_t);
template void embedding_backward<float>(float*, const float*, const int32_t*, int64_t, int64_t);
template void embedding_backward<double>(double*, const double*, const int32_t*, int64_t, int64_t);

}  // namespace zt::ops::cpu
