// CPU kernels for causal GQA attention, forward and backward, parallel over (head, token) rows.
// Backward recomputes probabilities from lse; dq runs over query rows and dk/dv over key rows, so no two
// threads write the same row and the results do not depend on the thread count.
#include "ops/cpu/attention.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include "ops/cpu/parallel.hpp"

namespace zt::ops::cpu {

namespace {
// First token of each token's sequence and one past its last. (T) each
void token_bounds(const int32_t* cu, int num_seqs, int64_t T, std::vector<int32_t>& begin, std::vector<int32_t>& end) {
  begin.resize(size_t(T));
  end.resize(size_t(T));
  for (int b = 0; b < num_seqs; ++b)
    for (int32_t t = cu[b]; t < cu[b + 1]; ++t) {
      begin[size_t(t)] = cu[b];
      end[size_t(t)] = cu[b + 1];
    }
}

template <class F> inline F dot(const F* a, const F* b, int64_t D) {
  F acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t d = 0; d < D; ++d) acc += a[d] * b[d];
  return acc;
}

template <class F> inline void axpy(F* y, F a, const F* x, int64_t D) {
#pragma omp simd
  for (int64_t d = 0; d < D; ++d) y[d] += a * x[d];
}

inline uint64_t drop_index(int64_t h, int64_t T, int64_t t, int max_seqlen, int64_t j) {
  return uint64_t((h * T + t) * int64_t(max_seqlen) + j);
}
}  // namespace

template <class F>
void attention_forward(F* out, F* lse, const F* q, const F* k, const F* v, const int32_t* cu_seqlens, int num_seqs,
                       int max_seqlen, int64_t T, int64_t Hq, int64_t Hkv, int64_t D, F scale, const DropoutSpec& dropout) {
  std::vector<int32_t> begin, end;
  token_bounds(cu_seqlens, num_seqs, T, begin, end);
  const int64_t group = Hq / Hkv;
  const bool drop = dropout.active();
  const F keep_scale = drop ? F(1) / (F(1) - F(dropout.p)) : F(1);
#pragma omp parallel if (Hq * T * D >= kMinParallelWork)
  {
    std::vector<F> s(size_t(max_seqlen > 0 ? max_seqlen : 1));  // (n) scores, then probabilities, of one row
#pragma omp for schedule(dynamic, 16)
    for (int64_t row = 0; row < Hq * T; ++row) {
      const int64_t h = row / T, t = row % T, kvh = h / group;
      const int64_t s0 = begin[size_t(t)], n = t - s0 + 1;
      const F* qr = q + (t * Hq + h) * D;
      F mx = -std::numeric_limits<F>::infinity();
      for (int64_t j = 0; j < n; ++j) {
        s[size_t(j)] = dot(qr, k + ((s0 + j) * Hkv + kvh) * D, D) * scale;
        mx = s[size_t(j)] > mx ? s[size_t(j)] : mx;
      }
      F sum = 0;
      for (int64_t j = 0; j < n; ++j) {
        s[size_t(j)] = std::exp(s[size_t(j)] - mx);
        sum += s[size_t(j)];
      }
      lse[h * T + t] = mx + std::log(sum);
      const F inv_sum = F(1) / sum;
      F* o = out + (t * Hq + h) * D;
      for (int64_t d = 0; d < D; ++d) o[d] = 0;
      for (int64_t j = 0; j < n; ++j) {
        F p = s[size_t(j)] * inv_sum;
        if (drop) p = dropout_keep(dropout, drop_index(h, T, t, max_seqlen, j)) ? p * keep_scale : F(0);
        if (p != F(0)) axpy(o, p, v + ((s0 + j) * Hkv + kvh) * D, D);
      }
    }
  }
}

template <class F>
void attention_backward(F* dq, F* dk, F* dv, const F* dout, const F* q, const F* k, const F* v, const F* out, const F* lse,
                        const int32_t* cu_seqlens, int num_seqs, int max_seqlen, int64_t T, int64_t Hq, int64_t Hkv,
                        int64_t D, F scale, const DropoutSpec& dropout) {
  std::vector<int32_t> begin, end;
  token_bounds(cu_seqlens, num_seqs, T, begin, end);
  const int64_t group = Hq / Hkv;
  const bool drop = dropout.active();
  const F keep_scale = drop ? F(1) / (F(1) - F(dropout.p)) : F(1);

  // delta (Hq, T) = rowsum(dout * out) = sum_j p_j dp_j, the softmax-backward correction (dropout included).
  std::vector<F> delta(size_t(Hq * T));
#pragma omp parallel for schedule(static) if (Hq * T * D >= kMinParallelWork)
  for (int64_t row = 0; row < Hq * T; ++row) {
    const int64_t h = row / T, t = row % T;
    delta[size_t(row)] = dot(dout + (t * Hq + h) * D, out + (t * Hq + h) * D, D);
  }

  // dq: one query row at a time over its keys.
#pragma omp parallel for schedule(dynamic, 16) if (Hq * T * D >= kMinParallelWork)
  for (int64_t row = 0; row < Hq * T; ++row) {
    const int64_t h = row / T, t = row % T, kvh = h / group;
    const int64_t s0 = begin[size_t(t)], n = t - s0 + 1;
    const F* qr = q + (t * Hq + h) * D;
    const F* gr = dout + (t * Hq + h) * D;
    const F l = lse[h * T + t], dl = delta[size_t(row)];
    F* dqr = dq + (t * Hq + h) * D;
    for (int64_t d = 0; d < D; ++d) dqr[d] = 0;
    for (int64_t j = 0; j < n; ++j) {
      const F* kr = k + ((s0 + j) * Hkv + kvh) * D;
      const F p = std::exp(dot(qr, kr, D) * scale - l);
      F dp = dot(gr, v + ((s0 + j) * Hkv + kvh) * D, D);
      if (drop) dp = dropout_keep(dropout, drop_index(h, T, t, max_seqlen, j)) ? dp * keep_scale : F(0);
      axpy(dqr, p * (dp - dl) * scale, kr, D);
    }
  }

  // dk, dv: one key row (kv head, token) at a time over the later queries of its sequence and the heads of its group.
#pragma omp parallel for schedule(dynamic, 16) if (Hq * T * D >= kMinParallelWork)
  for (int64_t row = 0; row < Hkv * T; ++row) {
    const int64_t kvh = row / T, j = row % T;
    const int64_t s0 = begin[size_t(j)], e = end[size_t(j)], jrel = j - s0;
    const F* kr = k + (j * Hkv + kvh) * D;
    const F* vr = v + (j * Hkv + kvh) * D;
    F* dkr = dk + (j * Hkv + kvh) * D;
    F* dvr = dv + (j * Hkv + kvh) * D;
    for (int64_t d = 0; d < D; ++d) dkr[d] = dvr[d] = 0;
    for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
      for (int64_t i = j; i < e; ++i) {
        const F* qr = q + (i * Hq + h) * D;
        const F* gr = dout + (i * Hq + h) * D;
        const F p = std::exp(dot(qr, kr, D) * scale - lse[h * T + i]);
        const bool keep = !drop || dropout_keep(dropout, drop_index(h, T, i, max_seqlen, jrel));
        if (!keep) {  // dropped: p' = 0 and dp = 0, so ds = -p * delta
          axpy(dkr, -p * delta[size_t(h * T + i)] * scale, qr, D);
          continue;
        }
        axpy(dvr, p * keep_scale, gr, D);
        const F dp = dot(gr, vr, D) * keep_scale;
        axpy(dkr, p * (dp - delta[size_t(h * T + i)]) * scale, qr, D);
      }
    }
  }
}

// ---- instantiations ----
#define ZT_INSTANTIATE(F)                                                                                              \
  template void attention_forward<F>(F*, F*, const F*, const F*, const F*, const int32_t*, int, int, int64_t, int64_t,  \
                                     int64_t, int64_t, F, const DropoutSpec&);                                          \
  template void attention_backward<F>(F*, F*, F*, const F*, const F*, const F*, const F*, const F*, const F*,           \
                                      const int32_t*, int, int, int64_t, int64_t, int64_t, int64_t, F, const DropoutSpec&);
ZT_INSTANTIATE(float)
ZT_INSTANTIATE(double)
#undef ZT_INSTANTIATE

}  // namespace zt::ops::cpu
