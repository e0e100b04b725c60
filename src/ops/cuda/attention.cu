// CUDA kernels for causal GQA attention, FlashAttention-2 style on CUDA cores: 256 threads as a 16 x 16 grid,
// tiles of Q/K/V in shared memory as fp32 (rows padded by one word against bank conflicts), scores and
// accumulators in registers. Thread (ty, tx) owns tile rows ty + 16 i and columns tx + 16 j.
// Work items are tiles of one sequence (from cu_seqlens), so sequences never see each other and padding costs nothing.
// Backward: delta = rowsum(dO * O); dQ per (query tile, head); dK/dV per (key tile, kv head), summing the group's
// query heads inside the block, so every output is written once (=) without atomics.
#include "ops/cuda/attention.hpp"

#include <algorithm>
#include <vector>

#include "ops/cuda/attention_tc.hpp"
#include "ops/cuda/common.cuh"

namespace zt::cuda {

namespace {
constexpr int kThreads = 256;
// forward / dQ: query tile rows; key tile rows
constexpr int kFwdBM = 64, kFwdBN = 64;
constexpr int kDqBM = 64, kDqBN = 32;
// dK/dV: key tile rows; query tile rows
constexpr int kKvBN = 64, kKvBM = 32;

using Tile = AttnTile;

// ---- tile helpers (all threads of the block call them) ----

// dst (rows, DMAX + 1) fp32 <- src rows [row0, row0 + rows) of one head; rows past `valid` and d >= D are zero.
template <class T, int DMAX>
__device__ void load_tile(float* dst, int rows, const T* src, int64_t row_stride, int valid, int D) {
  for (int idx = threadIdx.x; idx < rows * DMAX; idx += kThreads) {
    const int r = idx / DMAX, d = idx % DMAX;
    dst[r * (DMAX + 1) + d] = (r < valid && d < D) ? to_f32(src[int64_t(r) * row_stride + d]) : 0.0f;
  }
}

// acc[i][j] += A[ty + 16 i] . B[tx + 16 j] over D, A and B row-major with stride DMAX + 1.
template <int RM, int RN, int DMAX>
__device__ __forceinline__ void mma_abt(float (&acc)[RM][RN], const float* A, const float* B, int D) {
  const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
  for (int d = 0; d < D; ++d) {
    float a[RM], b[RN];
#pragma unroll
    for (int i = 0; i < RM; ++i) a[i] = A[(ty + 16 * i) * (DMAX + 1) + d];
#pragma unroll
    for (int j = 0; j < RN; ++j) b[j] = B[(tx + 16 * j) * (DMAX + 1) + d];
#pragma unroll
    for (int i = 0; i < RM; ++i)
#pragma unroll
      for (int j = 0; j < RN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
  }
}

// acc[i][c] += sum_n P[ty + 16 i][n] * V[n][tx + 16 c]; P stride ldp, V stride DMAX + 1.
template <int RM, int DMAX>
__device__ __forceinline__ void mma_pv(float (&acc)[RM][DMAX / 16], const float* P, int ldp, const float* V, int n) {
  const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
  for (int j = 0; j < n; ++j) {
    float p[RM];
#pragma unroll
    for (int i = 0; i < RM; ++i) p[i] = P[(ty + 16 * i) * ldp + j];
#pragma unroll
    for (int c = 0; c < DMAX / 16; ++c) {
      const float vv = V[j * (DMAX + 1) + tx + 16 * c];
#pragma unroll
      for (int i = 0; i < RM; ++i) acc[i][c] = fmaf(p[i], vv, acc[i][c]);
    }
  }
}

__device__ __forceinline__ float row16_max(float v) {
#pragma unroll
  for (int o = 8; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float row16_sum(float v) {
#pragma unroll
  for (int o = 8; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ uint64_t drop_index(int h, int64_t T, int64_t t, int max_seqlen, int j) {
  return uint64_t((int64_t(h) * T + t) * int64_t(max_seqlen) + j);
}

// ---- kernels ----

// grid (query tiles, Hq). out (T, Hq, D), lse (Hq, T).
template <class T, int DMAX>
__global__ void __launch_bounds__(kThreads) attn_fwd_kernel(T* out, float* lse, const T* q, const T* k, const T* v,
                                                            const Tile* tiles, int64_t Ttot, int Hq, int Hkv, int D,
                                                            float scale, ops::DropoutSpec drop, int max_seqlen) {
  constexpr int BM = kFwdBM, BN = kFwdBN, RM = BM / 16, RN = BN / 16, RD = DMAX / 16, LD = DMAX + 1;
  extern __shared__ float smem[];
  float* Qs = smem;             // (BM, LD)
  float* Ks = Qs + BM * LD;     // (BN, LD)
  float* Vs = Ks + BN * LD;     // (BN, LD)
  float* Ps = Vs + BN * LD;     // (BM, BN + 1) probabilities of this key tile (dropout applied)
  const Tile tile = tiles[blockIdx.x];
  const int h = blockIdx.y, kvh = h / (Hq / Hkv);
  const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
  const int q0 = tile.row0, L = tile.len;
  const float keep_scale = (drop.p > 0.0f) ? 1.0f / (1.0f - drop.p) : 1.0f;

  load_tile<T, DMAX>(Qs, BM, q + ((int64_t(tile.start) + q0) * Hq + h) * D, int64_t(Hq) * D, L - q0, D);
  float o[RM][RD] = {};
  float m[RM], l[RM];
#pragma unroll
  for (int i = 0; i < RM; ++i) m[i] = -INFINITY, l[i] = 0.0f;

  const int kend = min(L, q0 + BM);
  for (int k0 = 0; k0 < kend; k0 += BN) {
    __syncthreads();  // previous tile's Ks/Vs/Ps reads are done
    load_tile<T, DMAX>(Ks, BN, k + ((int64_t(tile.start) + k0) * Hkv + kvh) * D, int64_t(Hkv) * D, L - k0, D);
    load_tile<T, DMAX>(Vs, BN, v + ((int64_t(tile.start) + k0) * Hkv + kvh) * D, int64_t(Hkv) * D, L - k0, D);
    __syncthreads();
    float s[RM][RN] = {};
    mma_abt<RM, RN, DMAX>(s, Qs, Ks, D);
#pragma unroll
    for (int i = 0; i < RM; ++i) {
      const int qi = q0 + ty + 16 * i;
      float mx = -INFINITY;
#pragma unroll
      for (int j = 0; j < RN; ++j) {
        const int kj = k0 + tx + 16 * j;
        s[i][j] = (qi < L && kj <= qi) ? s[i][j] * scale : -INFINITY;
        mx = fmaxf(mx, s[i][j]);
      }
      const float m_new = fmaxf(m[i], row16_max(mx));
      const float m_use = m_new == -INFINITY ? 0.0f : m_new;
      const float alpha = expf(m[i] - m_use);
      float sum = 0.0f;
#pragma unroll
      for (int j = 0; j < RN; ++j) {
        const float p = expf(s[i][j] - m_use);
        sum += p;
        float pd = p;
        if ((drop.p > 0.0f)) {
          const int kj = k0 + tx + 16 * j;
          pd = (p != 0.0f && ops::dropout_keep(drop, drop_index(h, Ttot, int64_t(tile.start) + qi, max_seqlen, kj)))
                   ? p * keep_scale
                   : 0.0f;
        }
        Ps[(ty + 16 * i) * (BN + 1) + tx + 16 * j] = pd;
      }
      l[i] = l[i] * alpha + row16_sum(sum);
      m[i] = m_new;
#pragma unroll
      for (int c = 0; c < RD; ++c) o[i][c] *= alpha;
    }
    __syncthreads();
    mma_pv<RM, DMAX>(o, Ps, BN + 1, Vs, min(BN, kend - k0));
  }
#pragma unroll
  for (int i = 0; i < RM; ++i) {
    const int qi = q0 + ty + 16 * i;
    if (qi >= L) continue;
    const int64_t t = int64_t(tile.start) + qi;
    const float inv = 1.0f / l[i];
    T* orow = out + (t * Hq + h) * D;
#pragma unroll
    for (int c = 0; c < RD; ++c) {
      const int d = tx + 16 * c;
      if (d < D) orow[d] = from_f32<T>(o[i][c] * inv);
    }
    if (tx == 0) lse[int64_t(h) * Ttot + t] = m[i] + logf(l[i]);
  }
}

// grid (T * Hq / 8): one warp per (token, head) row. delta (Hq, T) = rowsum(dout * out).
template <class T>
__global__ void attn_delta_kernel(float* delta, const T* dout, const T* out, int64_t Ttot, int Hq, int D) {
  const int64_t row = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;  // t * Hq + h
  if (row >= Ttot * Hq) return;
  const int lane = threadIdx.x & 31;
  float acc = 0.0f;
  for (int d = lane; d < D; d += 32) acc += to_f32(dout[row * D + d]) * to_f32(out[row * D + d]);
  acc = warp_sum(acc);
  if (lane == 0) delta[int64_t(row % Hq) * Ttot + row / Hq] = acc;
}

// grid (query tiles, Hq). dq (T, Hq, D) =.
template <class T, int DMAX>
__global__ void __launch_bounds__(kThreads) attn_dq_kernel(T* dq, const T* dout, const T* q, const T* k, const T* v,
                                                           const float* lse, const float* delta, const Tile* tiles,
                                                           int64_t Ttot, int Hq, int Hkv, int D, float scale,
                                                           ops::DropoutSpec drop, int max_seqlen) {
  constexpr int BM = kDqBM, BN = kDqBN, RM = BM / 16, RN = BN / 16, RD = DMAX / 16, LD = DMAX + 1;
  extern __shared__ float smem[];
  float* Qs = smem;            // (BM, LD)
  float* dOs = Qs + BM * LD;   // (BM, LD)
  float* Ks = dOs + BM * LD;   // (BN, LD)
  float* Vs = Ks + BN * LD;    // (BN, LD)
  float* dSs = Vs + BN * LD;   // (BM, BN + 1)
  const Tile tile = tiles[blockIdx.x];
  const int h = blockIdx.y, kvh = h / (Hq / Hkv);
  const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
  const int q0 = tile.row0, L = tile.len;
  const float keep_scale = (drop.p > 0.0f) ? 1.0f / (1.0f - drop.p) : 1.0f;
  const int64_t qbase = (int64_t(tile.start) + q0) * Hq + h;
  load_tile<T, DMAX>(Qs, BM, q + qbase * D, int64_t(Hq) * D, L - q0, D);
  load_tile<T, DMAX>(dOs, BM, dout + qbase * D, int64_t(Hq) * D, L - q0, D);
  float row_lse[RM], row_delta[RM];
#pragma unroll
  for (int i = 0; i < RM; ++i) {
    const int qi = q0 + ty + 16 * i;
    const int64_t t = int64_t(tile.start) + min(qi, L - 1);
    row_lse[i] = lse[int64_t(h) * Ttot + t];
    row_delta[i] = delta[int64_t(h) * Ttot + t];
  }
  float acc[RM][RD] = {};
  const int kend = min(L, q0 + BM);
  for (int k0 = 0; k0 < kend; k0 += BN) {
    __syncthreads();
    load_tile<T, DMAX>(Ks, BN, k + ((int64_t(tile.start) + k0) * Hkv + kvh) * D, int64_t(Hkv) * D, L - k0, D);
    load_tile<T, DMAX>(Vs, BN, v + ((int64_t(tile.start) + k0) * Hkv + kvh) * D, int64_t(Hkv) * D, L - k0, D);
    __syncthreads();
    float s[RM][RN] = {}, dp[RM][RN] = {};
    mma_abt<RM, RN, DMAX>(s, Qs, Ks, D);
    mma_abt<RM, RN, DMAX>(dp, dOs, Vs, D);
#pragma unroll
    for (int i = 0; i < RM; ++i) {
      const int qi = q0 + ty + 16 * i;
#pragma unroll
      for (int j = 0; j < RN; ++j) {
        const int kj = k0 + tx + 16 * j;
        const bool valid = qi < L && kj <= qi;
        const float p = valid ? expf(s[i][j] * scale - row_lse[i]) : 0.0f;
        float d = dp[i][j];
        if ((drop.p > 0.0f) && valid)
          d = ops::dropout_keep(drop, drop_index(h, Ttot, int64_t(tile.start) + qi, max_seqlen, kj)) ? d * keep_scale : 0.0f;
        dSs[(ty + 16 * i) * (BN + 1) + tx + 16 * j] = p * (d - row_delta[i]);
      }
    }
    __syncthreads();
    mma_pv<RM, DMAX>(acc, dSs, BN + 1, Ks, min(BN, kend - k0));
  }
#pragma unroll
  for (int i = 0; i < RM; ++i) {
    const int qi = q0 + ty + 16 * i;
    if (qi >= L) continue;
    T* row = dq + ((int64_t(tile.start) + qi) * Hq + h) * D;
#pragma unroll
    for (int c = 0; c < RD; ++c) {
      const int d = tx + 16 * c;
      if (d < D) row[d] = from_f32<T>(acc[i][c] * scale);
    }
  }
}

// grid (key tiles, Hkv). dk, dv (T, Hkv, D) =. Scores are computed transposed: rows are keys, columns queries.
template <class T, int DMAX>
__global__ void __launch_bounds__(kThreads) attn_dkdv_kernel(T* dk, T* dv, const T* dout, const T* q, const T* k,
                                                             const T* v, const float* lse, const float* delta,
                                                             const Tile* tiles, int64_t Ttot, int Hq, int Hkv, int D,
                                                             float scale, ops::DropoutSpec drop, int max_seqlen) {
  constexpr int BN = kKvBN, BM = kKvBM, RK = BN / 16, RQ = BM / 16, RD = DMAX / 16, LD = DMAX + 1;
  extern __shared__ float smem[];
  float* Ks = smem;             // (BN, LD)
  float* Vs = Ks + BN * LD;     // (BN, LD)
  float* Qs = Vs + BN * LD;     // (BM, LD)
  float* dOs = Qs + BM * LD;    // (BM, LD)
  float* PT = dOs + BM * LD;    // (BN, BM + 1) dropped probabilities, transposed
  float* dST = PT + BN * (BM + 1);  // (BN, BM + 1) score gradients, transposed
  __shared__ float s_lse[BM], s_delta[BM];
  const Tile tile = tiles[blockIdx.x];
  const int kvh = blockIdx.y, group = Hq / Hkv;
  const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
  const int k0 = tile.row0, L = tile.len;
  const float keep_scale = (drop.p > 0.0f) ? 1.0f / (1.0f - drop.p) : 1.0f;
  const int64_t kbase = (int64_t(tile.start) + k0) * Hkv + kvh;
  load_tile<T, DMAX>(Ks, BN, k + kbase * D, int64_t(Hkv) * D, L - k0, D);
  load_tile<T, DMAX>(Vs, BN, v + kbase * D, int64_t(Hkv) * D, L - k0, D);
  float dK[RK][RD] = {}, dV[RK][RD] = {};
  for (int h = kvh * group; h < (kvh + 1) * group; ++h) {
    for (int q0 = k0; q0 < L; q0 += BM) {
      __syncthreads();  // previous step's Qs/dOs/PT/dST reads are done
      const int64_t qbase = (int64_t(tile.start) + q0) * Hq + h;
      load_tile<T, DMAX>(Qs, BM, q + qbase * D, int64_t(Hq) * D, L - q0, D);
      load_tile<T, DMAX>(dOs, BM, dout + qbase * D, int64_t(Hq) * D, L - q0, D);
      if (threadIdx.x < BM) {
        const int64_t t = int64_t(tile.start) + min(q0 + int(threadIdx.x), L - 1);
        s_lse[threadIdx.x] = lse[int64_t(h) * Ttot + t];
        s_delta[threadIdx.x] = delta[int64_t(h) * Ttot + t];
      }
      __syncthreads();
      float s[RK][RQ] = {}, dp[RK][RQ] = {};
      mma_abt<RK, RQ, DMAX>(s, Ks, Qs, D);
      mma_abt<RK, RQ, DMAX>(dp, Vs, dOs, D);
#pragma unroll
      for (int i = 0; i < RK; ++i) {
        const int kj = k0 + ty + 16 * i;
#pragma unroll
        for (int j = 0; j < RQ; ++j) {
          const int ql = tx + 16 * j, qi = q0 + ql;
          const bool valid = qi < L && kj < L && kj <= qi;
          const float p = valid ? expf(s[i][j] * scale - s_lse[ql]) : 0.0f;
          float pd = p, d = dp[i][j];
          if ((drop.p > 0.0f) && valid) {
            const bool keep = ops::dropout_keep(drop, drop_index(h, Ttot, int64_t(tile.start) + qi, max_seqlen, kj));
            pd = keep ? p * keep_scale : 0.0f;
            d = keep ? d * keep_scale : 0.0f;
          }
          PT[(ty + 16 * i) * (BM + 1) + ql] = pd;
          dST[(ty + 16 * i) * (BM + 1) + ql] = p * (d - s_delta[ql]);
        }
      }
      __syncthreads();
      const int nq = min(BM, L - q0);
      mma_pv<RK, DMAX>(dV, PT, BM + 1, dOs, nq);
      mma_pv<RK, DMAX>(dK, dST, BM + 1, Qs, nq);
    }
  }
#pragma unroll
  for (int i = 0; i < RK; ++i) {
    const int kj = k0 + ty + 16 * i;
    if (kj >= L) continue;
    const int64_t row = ((int64_t(tile.start) + kj) * Hkv + kvh) * D;
#pragma unroll
    for (int c = 0; c < RD; ++c) {
      const int d = tx + 16 * c;
      if (d < D) {
        dk[row + d] = from_f32<T>(dK[i][c] * scale);
        dv[row + d] = from_f32<T>(dV[i][c]);
      }
    }
  }
}

// Tiles of `rows` rows over every non-empty sequence, most work first (late query tiles, early key tiles).
std::vector<Tile> make_tiles(const int32_t* cu, int num_seqs, int rows, bool late_first) {
  std::vector<Tile> t;
  for (int b = 0; b < num_seqs; ++b) {
    const int32_t len = cu[b + 1] - cu[b];
    for (int32_t r = 0; r < len; r += rows) t.push_back({cu[b], len, r, 0});
  }
  std::stable_sort(t.begin(), t.end(), [&](const Tile& a, const Tile& b) {
    const int wa = late_first ? a.row0 : a.len - a.row0, wb = late_first ? b.row0 : b.len - b.row0;
    return wa > wb;
  });
  return t;
}

template <class K> void set_smem(K kernel, size_t bytes) {
  ZT_CUDA(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
}

void check_dims(int D, int Hq, int Hkv, const char* op) {
  check(D >= 1 && D <= kAttentionMaxHeadDim,
        std::string(op) + ": head_dim " + std::to_string(D) + " is not supported by the CUDA kernels (at most " +
            std::to_string(kAttentionMaxHeadDim) + ")",
        "use a model with head_dim <= 128 on the GPU");
  check(Hkv > 0 && Hq % Hkv == 0 && Hq <= 65535, std::string(op) + ": bad head counts");
}

// Calls f(int_constant<DMAX>) for the smallest supported tile width that holds D.
template <class F> void dispatch_dmax(int D, F&& f) {
  if (D <= 64) f(std::integral_constant<int, 64>{});
  else f(std::integral_constant<int, 128>{});
}
}  // namespace

// ---- launchers ----

void attention_forward(void* out, float* lse, const void* q, const void* k, const void* v, DType dt, const int32_t* cu_host,
                       int num_seqs, int max_seqlen, int64_t T, int Hq, int Hkv, int D, float scale,
                       const ops::DropoutSpec& dropout, Context& ctx) {
  constexpr const char* op = "attention_forward";
  check_dims(D, Hq, Hkv, op);
  if (T == 0) return;
  const bool tc = attention_tc_supported(dt, D, dropout.p, ctx);
  const std::vector<Tile> tiles = make_tiles(cu_host, num_seqs, tc ? attention_tc_rows(AttnTileKind::forward) : kFwdBM, true);
  auto* dev_tiles = static_cast<Tile*>(ctx.scratch(tiles.size() * sizeof(Tile)));
  ZT_CUDA(cudaMemcpyAsync(dev_tiles, tiles.data(), tiles.size() * sizeof(Tile), cudaMemcpyHostToDevice, ctx.stream()));
  if (tc) {
    attention_tc_forward(out, lse, q, k, v, dt, dev_tiles, int(tiles.size()), T, Hq, Hkv, D, scale, ctx.stream());
    return;
  }
  const dim3 grid(unsigned(tiles.size()), unsigned(Hq));
  dispatch_float(dt, op, [&](auto t) {
    using T_ = decltype(t);
    dispatch_dmax(D, [&](auto dmax) {
      constexpr int DMAX = decltype(dmax)::value, LD = DMAX + 1;
      const size_t smem = size_t((kFwdBM + 2 * kFwdBN) * LD + kFwdBM * (kFwdBN + 1)) * sizeof(float);
      set_smem(attn_fwd_kernel<T_, DMAX>, smem);
      attn_fwd_kernel<T_, DMAX><<<grid, kThreads, smem, ctx.stream()>>>(
          static_cast<T_*>(out), lse, static_cast<const T_*>(q), static_cast<const T_*>(k), static_cast<const T_*>(v),
          dev_tiles, T, Hq, Hkv, D, scale, dropout, max_seqlen);
      check_launch("attn_fwd_kernel");
    });
  });
}

void attention_backward(void* dq, void* dk, void* dv, const void* dout, const void* q, const void* k, const void* v,
                        const void* out, const float* lse, DType dt, const int32_t* cu_host, int num_seqs, int max_seqlen,
                        int64_t T, int Hq, int Hkv, int D, float scale, const ops::DropoutSpec& dropout, Context& ctx) {
  constexpr const char* op = "attention_backward";
  check_dims(D, Hq, Hkv, op);
  if (T == 0) return;
  const bool tc = attention_tc_supported(dt, D, dropout.p, ctx);
  const std::vector<Tile> qt = make_tiles(cu_host, num_seqs, tc ? attention_tc_rows(AttnTileKind::dq) : kDqBM, true);
  const std::vector<Tile> kt = make_tiles(cu_host, num_seqs, tc ? attention_tc_rows(AttnTileKind::dkdv) : kKvBN, false);
  // scratch: delta f32 (Hq, T), then the query tiles, then the key tiles
  const size_t delta_bytes = (size_t(Hq) * size_t(T) * sizeof(float) + 255) / 256 * 256;
  char* base = static_cast<char*>(ctx.scratch(delta_bytes + (qt.size() + kt.size()) * sizeof(Tile)));
  auto* delta = reinterpret_cast<float*>(base);
  auto* dev_qt = reinterpret_cast<Tile*>(base + delta_bytes);
  Tile* dev_kt = dev_qt + qt.size();
  ZT_CUDA(cudaMemcpyAsync(dev_qt, qt.data(), qt.size() * sizeof(Tile), cudaMemcpyHostToDevice, ctx.stream()));
  ZT_CUDA(cudaMemcpyAsync(dev_kt, kt.data(), kt.size() * sizeof(Tile), cudaMemcpyHostToDevice, ctx.stream()));
  dispatch_float(dt, op, [&](auto t) {
    using T_ = decltype(t);
    const int64_t rows = T * Hq;
    attn_delta_kernel<T_><<<unsigned((rows * 32 + 255) / 256), 256, 0, ctx.stream()>>>(
        delta, static_cast<const T_*>(dout), static_cast<const T_*>(out), T, Hq, D);
    check_launch("attn_delta_kernel");
    if (tc) {
      attention_tc_backward(dq, dk, dv, dout, q, k, v, lse, delta, dt, dev_qt, int(qt.size()), dev_kt, int(kt.size()), T,
                            Hq, Hkv, D, scale, ctx.stream());
      return;
    }
    dispatch_dmax(D, [&](auto dmax) {
      constexpr int DMAX = decltype(dmax)::value, LD = DMAX + 1;
      const size_t dq_smem = size_t(2 * kDqBM * LD + 2 * kDqBN * LD + kDqBM * (kDqBN + 1)) * sizeof(float);
      set_smem(attn_dq_kernel<T_, DMAX>, dq_smem);
      attn_dq_kernel<T_, DMAX><<<dim3(unsigned(qt.size()), unsigned(Hq)), kThreads, dq_smem, ctx.stream()>>>(
          static_cast<T_*>(dq), static_cast<const T_*>(dout), static_cast<const T_*>(q), static_cast<const T_*>(k),
          static_cast<const T_*>(v), lse, delta, dev_qt, T, Hq, Hkv, D, scale, dropout, max_seqlen);
      check_launch("attn_dq_kernel");
      const size_t kv_smem = size_t(2 * kKvBN * LD + 2 * kKvBM * LD + 2 * kKvBN * (kKvBM + 1)) * sizeof(float);
      set_smem(attn_dkdv_kernel<T_, DMAX>, kv_smem);
      attn_dkdv_kernel<T_, DMAX><<<dim3(unsigned(kt.size()), unsigned(Hkv)), kThreads, kv_smem, ctx.stream()>>>(
          static_cast<T_*>(dk), static_cast<T_*>(dv), static_cast<const T_*>(dout), static_cast<const T_*>(q),
          static_cast<const T_*>(k), static_cast<const T_*>(v), lse, delta, dev_kt, T, Hq, Hkv, D, scale, dropout,
          max_seqlen);
      check_launch("attn_dkdv_kernel");
    });
  });
}

}  // namespace zt::cuda
