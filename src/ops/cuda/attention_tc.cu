// Tensor-core attention for bf16/f16 storage (sm_80+): FlashAttention-2 structure on mma.sync m16n8k16 with fp32
// accumulators, tiles staged by cp.async into padded shared memory and read with ldmatrix. Chosen by attention.cu.
//
// Each warp owns 16 rows of its block's tile. In the accumulator ("C") layout a thread holds rows g and g + 8
// (g = lane / 4) and columns 2t, 2t + 1 (t = lane % 4) of every 8-column n-tile; row statistics reduce over the
// four threads of a quad. Probabilities go from C layout straight into the A operand of the next mma (FA2's trick).
// Backward recomputes scores twice instead of using atomics: dQ per (query tile, head), dK/dV per (key tile, kv
// head) summing the GQA group inside the block, so each output is written once and results are deterministic.
#include "ops/cuda/attention_tc.hpp"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "ops/cuda/common.cuh"

namespace zt::cuda {

namespace {
constexpr int kWarps = 4, kThreads = 32 * kWarps;
constexpr float kLog2e = 1.4426950408889634f;

// ---- PTX wrappers ----

__device__ __forceinline__ uint32_t smem_addr(const void* p) { return uint32_t(__cvta_generic_to_shared(p)); }

// 16 bytes global -> shared; zero-filled when !valid (no global read then).
__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}

template <class T> __device__ __forceinline__ void mma16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1);
template <> __device__ __forceinline__ void mma16816<bf16>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
template <> __device__ __forceinline__ void mma16816<f16>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

template <class T> __device__ __forceinline__ uint32_t pack2(float lo, float hi);
template <> __device__ __forceinline__ uint32_t pack2<bf16>(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}
template <> __device__ __forceinline__ uint32_t pack2<f16>(float lo, float hi) {
  const __half2 v = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}
template <class T> __device__ __forceinline__ void store2(T* p, float lo, float hi) {
  *reinterpret_cast<uint32_t*>(p) = pack2<T>(lo, hi);
}

// ---- warp-level GEMM pieces (16 rows per warp) ----

// acc[16 x 8 NT] += A[16 x 16 KC] * B^T, A row-major in shared memory (stride lda elements), B stored as rows of
// n (Bs[n][k], stride ldb): the Q K^T form.
template <class T, int NT, int KC>
__device__ __forceinline__ void mma_nt(float (&acc)[NT][4], const T* As, int lda, const T* Bs, int ldb) {
  static_assert(NT % 2 == 0, "n-tiles go in pairs");
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int kc = 0; kc < KC; ++kc) {
    uint32_t a[4];
    ldmatrix_x4(a, As + (lane % 16) * lda + kc * 16 + (lane / 16) * 8);
#pragma unroll
    for (int nt = 0; nt < NT; nt += 2) {
      uint32_t b[4];
      ldmatrix_x4(b, Bs + (nt * 8 + (lane % 8) + (lane / 16) * 8) * ldb + kc * 16 + ((lane / 8) % 2) * 8);
      mma16816<T>(acc[nt], a, b[0], b[1]);
      mma16816<T>(acc[nt + 1], a, b[2], b[3]);
    }
  }
}

// acc[16 x 8 NT] += A[16 x 16 KC] * B, A given in registers as C-layout accumulators of 2 KC n-tiles (converted to
// T here), B stored row-major by k (Bs[k][n], stride ldb): the P V form.
template <class T, int NT, int KC>
__device__ __forceinline__ void mma_nn_reg(float (&acc)[NT][4], const float (&A)[2 * KC][4], const T* Bs, int ldb) {
  static_assert(NT % 2 == 0, "n-tiles go in pairs");
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int kc = 0; kc < KC; ++kc) {
    const uint32_t a[4] = {pack2<T>(A[2 * kc][0], A[2 * kc][1]), pack2<T>(A[2 * kc][2], A[2 * kc][3]),
                           pack2<T>(A[2 * kc + 1][0], A[2 * kc + 1][1]), pack2<T>(A[2 * kc + 1][2], A[2 * kc + 1][3])};
#pragma unroll
    for (int nt = 0; nt < NT; nt += 2) {
      uint32_t b[4];
      ldmatrix_x4_trans(b, Bs + (kc * 16 + (lane % 8) + ((lane / 8) % 2) * 8) * ldb + nt * 8 + (lane / 16) * 8);
      mma16816<T>(acc[nt], a, b[0], b[1]);
      mma16816<T>(acc[nt + 1], a, b[2], b[3]);
    }
  }
}

// Sum / max over the four threads of a quad (one accumulator row).
__device__ __forceinline__ float quad_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}
__device__ __forceinline__ float quad_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}

// rows x DMAX tile of one head into shared memory (row stride DMAX + 8): rows >= valid and columns >= D are zero.
// D is a multiple of 8, so every 16-byte chunk is either wholly inside the row or wholly past D.
template <class T, int DMAX>
__device__ __forceinline__ void load_tile_async(T* dst, int rows, const T* src, int64_t row_stride, int valid, int D) {
  constexpr int CH = DMAX / 8, LDS = DMAX + 8;
  for (int idx = threadIdx.x; idx < rows * CH; idx += kThreads) {
    const int r = idx / CH, c = idx % CH;
    const bool ok = r < valid && c * 8 < D;
    cp_async16(dst + r * LDS + c * 8, ok ? src + int64_t(r) * row_stride + c * 8 : src, ok);
  }
}

// ---- forward ----

constexpr int kFwdBM = 64, kFwdBN = 64;

// grid (query tiles, Hq); 4 warps x 16 query rows. Key/value tiles double-buffered.
template <class T, int DMAX>
__global__ void __launch_bounds__(kThreads) tc_fwd_kernel(T* out, float* lse, const T* q, const T* k, const T* v,
                                                          const AttnTile* tiles, int64_t Ttot, int Hq, int Hkv, int D,
                                                          float scale) {
  constexpr int BM = kFwdBM, BN = kFwdBN, LDS = DMAX + 8, KD = DMAX / 16, ND = DMAX / 8, NS = BN / 8;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* Qs = reinterpret_cast<T*>(smem_raw);  // (BM, LDS)
  T* Ks = Qs + BM * LDS;                   // 2 x (BN, LDS)
  T* Vs = Ks + 2 * BN * LDS;               // 2 x (BN, LDS)
  const AttnTile tile = tiles[blockIdx.x];
  const int h = blockIdx.y, kvh = h / (Hq / Hkv);
  const int warp = threadIdx.x / 32, lane = threadIdx.x & 31, g = lane / 4, t4 = lane % 4;
  const int q0 = tile.row0, L = tile.len;
  const int64_t qstride = int64_t(Hq) * D, kstride = int64_t(Hkv) * D;
  const T* kbase = k + int64_t(tile.start) * kstride + int64_t(kvh) * D;
  const T* vbase = v + int64_t(tile.start) * kstride + int64_t(kvh) * D;

  load_tile_async<T, DMAX>(Qs, BM, q + (int64_t(tile.start) + q0) * qstride + int64_t(h) * D, qstride, L - q0, D);
  const int kend = min(L, q0 + BM), ntiles = (kend + BN - 1) / BN;
  load_tile_async<T, DMAX>(Ks, BN, kbase, kstride, L, D);
  load_tile_async<T, DMAX>(Vs, BN, vbase, kstride, L, D);
  cp_async_commit();

  const float sl2 = scale * kLog2e;
  float o[ND][4] = {};
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  const int row_lo = q0 + warp * 16 + g;  // this thread's rows: row_lo, row_lo + 8 (within the sequence)
  for (int j = 0; j < ntiles; ++j) {
    const int k0 = j * BN, buf = j & 1;
    if (j + 1 < ntiles) {  // the other buffer was last read in iteration j - 1, which ended with a barrier
      load_tile_async<T, DMAX>(Ks + (buf ^ 1) * BN * LDS, BN, kbase + int64_t(k0 + BN) * kstride, kstride, L - k0 - BN, D);
      load_tile_async<T, DMAX>(Vs + (buf ^ 1) * BN * LDS, BN, vbase + int64_t(k0 + BN) * kstride, kstride, L - k0 - BN, D);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    const T* Kt = Ks + buf * BN * LDS;
    const T* Vt = Vs + buf * BN * LDS;
    float s[NS][4] = {};
    mma_nt<T, NS, KD>(s, Qs + warp * 16 * LDS, LDS, Kt, LDS);
    const bool need_mask = k0 + BN > q0 + warp * 16 || k0 + BN > L;
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < NS; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        if (need_mask) {
          const int qi = row_lo + (e / 2) * 8, kj = k0 + nt * 8 + 2 * t4 + (e % 2);
          if (kj > qi || kj >= L) s[nt][e] = -INFINITY;
        }
        mx[e / 2] = fmaxf(mx[e / 2], s[nt][e]);
      }
    float alpha[2], mb[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const float m_new = fmaxf(m[r], quad_max(mx[r]));
      mb[r] = m_new == -INFINITY ? 0.0f : m_new * sl2;  // rows with nothing visible yet stay at zero
      alpha[r] = exp2f(m[r] * sl2 - mb[r]);
      m[r] = m_new;
    }
    float rs[2] = {0.0f, 0.0f};
#pragma unroll
    for (int nt = 0; nt < NS; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        s[nt][e] = exp2f(s[nt][e] * sl2 - mb[e / 2]);
        rs[e / 2] += s[nt][e];
      }
#pragma unroll
    for (int r = 0; r < 2; ++r) l[r] = l[r] * alpha[r] + rs[r];  // per-thread partial sums, reduced at the end
#pragma unroll
    for (int nd = 0; nd < ND; ++nd) {
      o[nd][0] *= alpha[0], o[nd][1] *= alpha[0];
      o[nd][2] *= alpha[1], o[nd][3] *= alpha[1];
    }
    mma_nn_reg<T, ND, NS / 2>(o, s, Vt, LDS);
    __syncthreads();  // this buffer is refilled next iteration
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int qi = row_lo + r * 8;
    const float lsum = quad_sum(l[r]);
    if (qi >= L) continue;
    const int64_t tok = int64_t(tile.start) + qi;
    const float inv = 1.0f / lsum;
    T* orow = out + tok * qstride + int64_t(h) * D;
#pragma unroll
    for (int nd = 0; nd < ND; ++nd) {
      const int d = nd * 8 + 2 * t4;
      if (d < D) store2<T>(orow + d, o[nd][2 * r] * inv, o[nd][2 * r + 1] * inv);
    }
    if (t4 == 0) lse[int64_t(h) * Ttot + tok] = m[r] * scale + logf(lsum);
  }
}

// ---- backward: dQ ----

constexpr int kDqBM = 64, kDqBN = 64;

// grid (query tiles, Hq); 4 warps x 16 query rows. dq (T, Hq, D) =.
template <class T, int DMAX>
__global__ void __launch_bounds__(kThreads) tc_dq_kernel(T* dq, const T* dout, const T* q, const T* k, const T* v,
                                                         const float* lse, const float* delta, const AttnTile* tiles,
                                                         int64_t Ttot, int Hq, int Hkv, int D, float scale) {
  constexpr int BM = kDqBM, BN = kDqBN, LDS = DMAX + 8, KD = DMAX / 16, ND = DMAX / 8, NS = BN / 8;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* Qs = reinterpret_cast<T*>(smem_raw);  // (BM, LDS)
  T* dOs = Qs + BM * LDS;                  // (BM, LDS)
  T* Ks = dOs + BM * LDS;                  // 2 x (BN, LDS)
  T* Vs = Ks + 2 * BN * LDS;               // 2 x (BN, LDS)
  const AttnTile tile = tiles[blockIdx.x];
  const int h = blockIdx.y, kvh = h / (Hq / Hkv);
  const int warp = threadIdx.x / 32, lane = threadIdx.x & 31, g = lane / 4, t4 = lane % 4;
  const int q0 = tile.row0, L = tile.len;
  const int64_t qstride = int64_t(Hq) * D, kstride = int64_t(Hkv) * D;
  const int64_t qoff = (int64_t(tile.start) + q0) * qstride + int64_t(h) * D;
  const T* kbase = k + int64_t(tile.start) * kstride + int64_t(kvh) * D;
  const T* vbase = v + int64_t(tile.start) * kstride + int64_t(kvh) * D;
  load_tile_async<T, DMAX>(Qs, BM, q + qoff, qstride, L - q0, D);
  load_tile_async<T, DMAX>(dOs, BM, dout + qoff, qstride, L - q0, D);
  const int kend = min(L, q0 + BM), ntiles = (kend + BN - 1) / BN;
  load_tile_async<T, DMAX>(Ks, BN, kbase, kstride, L, D);
  load_tile_async<T, DMAX>(Vs, BN, vbase, kstride, L, D);
  cp_async_commit();

  const float sl2 = scale * kLog2e;
  const int row_lo = q0 + warp * 16 + g;
  float lse2[2], dl[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int64_t tok = int64_t(tile.start) + min(row_lo + r * 8, L - 1);
    lse2[r] = lse[int64_t(h) * Ttot + tok] * kLog2e;
    dl[r] = delta[int64_t(h) * Ttot + tok];
  }
  float acc[ND][4] = {};
  for (int j = 0; j < ntiles; ++j) {
    const int k0 = j * BN, buf = j & 1;
    if (j + 1 < ntiles) {
      load_tile_async<T, DMAX>(Ks + (buf ^ 1) * BN * LDS, BN, kbase + int64_t(k0 + BN) * kstride, kstride, L - k0 - BN, D);
      load_tile_async<T, DMAX>(Vs + (buf ^ 1) * BN * LDS, BN, vbase + int64_t(k0 + BN) * kstride, kstride, L - k0 - BN, D);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    const T* Kt = Ks + buf * BN * LDS;
    const T* Vt = Vs + buf * BN * LDS;
    float s[NS][4] = {}, dp[NS][4] = {};
    mma_nt<T, NS, KD>(s, Qs + warp * 16 * LDS, LDS, Kt, LDS);
    mma_nt<T, NS, KD>(dp, dOs + warp * 16 * LDS, LDS, Vt, LDS);
    const bool need_mask = k0 + BN > q0 + warp * 16 || k0 + BN > L;
#pragma unroll
    for (int nt = 0; nt < NS; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = e / 2;
        float p = exp2f(s[nt][e] * sl2 - lse2[r]);
        if (need_mask) {
          const int qi = row_lo + r * 8, kj = k0 + nt * 8 + 2 * t4 + (e % 2);
          if (kj > qi || kj >= L || qi >= L) p = 0.0f;
        }
        s[nt][e] = p * (dp[nt][e] - dl[r]);  // dS
      }
    mma_nn_reg<T, ND, NS / 2>(acc, s, Kt, LDS);
    __syncthreads();
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int qi = row_lo + r * 8;
    if (qi >= L) continue;
    T* row = dq + (int64_t(tile.start) + qi) * qstride + int64_t(h) * D;
#pragma unroll
    for (int nd = 0; nd < ND; ++nd) {
      const int d = nd * 8 + 2 * t4;
      if (d < D) store2<T>(row + d, acc[nd][2 * r] * scale, acc[nd][2 * r + 1] * scale);
    }
  }
}

// ---- backward: dK, dV ----

constexpr int kKvBN = 64, kKvBM = 32;

// grid (key tiles, Hkv); 4 warps x 16 key rows; loops over the group's query heads and the query tiles at or after
// the key tile (causal). Scores are computed transposed: rows are keys, columns queries. dk, dv (T, Hkv, D) =.
template <class T, int DMAX>
__global__ void __launch_bounds__(kThreads) tc_dkdv_kernel(T* dk, T* dv, const T* dout, const T* q, const T* k,
                                                           const T* v, const float* lse, const float* delta,
                                                           const AttnTile* tiles, int64_t Ttot, int Hq, int Hkv, int D,
                                                           float scale) {
  constexpr int BN = kKvBN, BM = kKvBM, LDS = DMAX + 8, KD = DMAX / 16, ND = DMAX / 8, NQ = BM / 8;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* Ks = reinterpret_cast<T*>(smem_raw);  // (BN, LDS)
  T* Vs = Ks + BN * LDS;                   // (BN, LDS)
  T* Qs = Vs + BN * LDS;                   // 2 x (BM, LDS)
  T* dOs = Qs + 2 * BM * LDS;              // 2 x (BM, LDS)
  __shared__ float s_lse[2][BM], s_delta[2][BM];
  const AttnTile tile = tiles[blockIdx.x];
  const int kvh = blockIdx.y, group = Hq / Hkv;
  const int warp = threadIdx.x / 32, lane = threadIdx.x & 31, g = lane / 4, t4 = lane % 4;
  const int k0 = tile.row0, L = tile.len;
  const int64_t qstride = int64_t(Hq) * D, kstride = int64_t(Hkv) * D;
  const int64_t koff = (int64_t(tile.start) + k0) * kstride + int64_t(kvh) * D;
  load_tile_async<T, DMAX>(Ks, BN, k + koff, kstride, L - k0, D);
  load_tile_async<T, DMAX>(Vs, BN, v + koff, kstride, L - k0, D);
  const int nqt = (L - k0 + BM - 1) / BM, iters = group * nqt;  // (head, query tile) pairs
  // Stages one (head, query tile) pair: Q, dO rows and their lse / delta.
  auto stage = [&](int it, int buf) {
    const int h = kvh * group + it / nqt, qa = k0 + (it % nqt) * BM;
    const int64_t qoff = (int64_t(tile.start) + qa) * qstride + int64_t(h) * D;
    load_tile_async<T, DMAX>(Qs + buf * BM * LDS, BM, q + qoff, qstride, L - qa, D);
    load_tile_async<T, DMAX>(dOs + buf * BM * LDS, BM, dout + qoff, qstride, L - qa, D);
    if (threadIdx.x < BM) {
      const int64_t tok = int64_t(tile.start) + min(qa + int(threadIdx.x), L - 1);
      s_lse[buf][threadIdx.x] = lse[int64_t(h) * Ttot + tok] * kLog2e;
      s_delta[buf][threadIdx.x] = delta[int64_t(h) * Ttot + tok];
    }
  };
  stage(0, 0);
  cp_async_commit();

  const float sl2 = scale * kLog2e;
  const int key_lo = k0 + warp * 16 + g;  // this thread's key rows: key_lo, key_lo + 8
  float dK[ND][4] = {}, dV[ND][4] = {};
  for (int it = 0; it < iters; ++it) {
    const int buf = it & 1, qa = k0 + (it % nqt) * BM;
    if (it + 1 < iters) {  // the other buffer was last read in iteration it - 1, which ended with a barrier
      stage(it + 1, buf ^ 1);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    const T* Qt = Qs + buf * BM * LDS;
    const T* dOt = dOs + buf * BM * LDS;
    float s[NQ][4] = {}, dp[NQ][4] = {};
    mma_nt<T, NQ, KD>(s, Ks + warp * 16 * LDS, LDS, Qt, LDS);
    mma_nt<T, NQ, KD>(dp, Vs + warp * 16 * LDS, LDS, dOt, LDS);
    const bool need_mask = qa < k0 + warp * 16 + 16 || qa + BM > L;
#pragma unroll
    for (int nt = 0; nt < NQ; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int ql = nt * 8 + 2 * t4 + (e % 2);
        float p = exp2f(s[nt][e] * sl2 - s_lse[buf][ql]);
        if (need_mask) {
          const int kj = key_lo + (e / 2) * 8, qi = qa + ql;
          if (kj > qi || qi >= L || kj >= L) p = 0.0f;
        }
        s[nt][e] = p;                                    // P^T
        dp[nt][e] = p * (dp[nt][e] - s_delta[buf][ql]);  // dS^T
      }
    mma_nn_reg<T, ND, NQ / 2>(dV, s, dOt, LDS);
    mma_nn_reg<T, ND, NQ / 2>(dK, dp, Qt, LDS);
    __syncthreads();
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int kj = key_lo + r * 8;
    if (kj >= L) continue;
    const int64_t row = (int64_t(tile.start) + kj) * kstride + int64_t(kvh) * D;
#pragma unroll
    for (int nd = 0; nd < ND; ++nd) {
      const int d = nd * 8 + 2 * t4;
      if (d < D) {
        store2<T>(dk + row + d, dK[nd][2 * r] * scale, dK[nd][2 * r + 1] * scale);
        store2<T>(dv + row + d, dV[nd][2 * r], dV[nd][2 * r + 1]);
      }
    }
  }
}

template <class K> void set_smem(K kernel, size_t bytes) {
  ZT_CUDA(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
}

template <class F> void dispatch_tc(DType dt, int D, F&& f) {
  auto with_d = [&](auto t) {
    if (D <= 64) f(t, std::integral_constant<int, 64>{});
    else f(t, std::integral_constant<int, 128>{});
  };
  if (dt == DType::bf16) with_d(bf16{});
  else with_d(f16{});
}
}  // namespace

bool attention_tc_supported(DType dt, int D, float dropout_p, const Context& ctx) {
  if ((dt != DType::bf16 && dt != DType::f16) || D % 8 != 0 || D > 128 || dropout_p > 0.0f) return false;
  return ctx.props().major >= 8;
}

int attention_tc_rows(AttnTileKind kind) {
  switch (kind) {
    case AttnTileKind::forward: return kFwdBM;
    case AttnTileKind::dq: return kDqBM;
    case AttnTileKind::dkdv: return kKvBN;
  }
  return 0;
}

void attention_tc_forward(void* out, float* lse, const void* q, const void* k, const void* v, DType dt,
                          const AttnTile* tiles, int num_tiles, int64_t T, int Hq, int Hkv, int D, float scale,
                          cudaStream_t stream) {
  dispatch_tc(dt, D, [&](auto t, auto dmax) {
    using T_ = decltype(t);
    constexpr int DMAX = decltype(dmax)::value, LDS = DMAX + 8;
    const size_t smem = size_t((kFwdBM + 4 * kFwdBN) * LDS) * sizeof(T_);
    set_smem(tc_fwd_kernel<T_, DMAX>, smem);
    tc_fwd_kernel<T_, DMAX><<<dim3(unsigned(num_tiles), unsigned(Hq)), kThreads, smem, stream>>>(
        static_cast<T_*>(out), lse, static_cast<const T_*>(q), static_cast<const T_*>(k), static_cast<const T_*>(v),
        tiles, T, Hq, Hkv, D, scale);
    check_launch("tc_fwd_kernel");
  });
}

void attention_tc_backward(void* dq, void* dk, void* dv, const void* dout, const void* q, const void* k, const void* v,
                           const float* lse, const float* delta, DType dt, const AttnTile* q_tiles, int num_q_tiles,
                           const AttnTile* k_tiles, int num_k_tiles, int64_t T, int Hq, int Hkv, int D, float scale,
                           cudaStream_t stream) {
  dispatch_tc(dt, D, [&](auto t, auto dmax) {
    using T_ = decltype(t);
    constexpr int DMAX = decltype(dmax)::value, LDS = DMAX + 8;
    const size_t dq_smem = size_t((2 * kDqBM + 4 * kDqBN) * LDS) * sizeof(T_);
    set_smem(tc_dq_kernel<T_, DMAX>, dq_smem);
    tc_dq_kernel<T_, DMAX><<<dim3(unsigned(num_q_tiles), unsigned(Hq)), kThreads, dq_smem, stream>>>(
        static_cast<T_*>(dq), static_cast<const T_*>(dout), static_cast<const T_*>(q), static_cast<const T_*>(k),
        static_cast<const T_*>(v), lse, delta, q_tiles, T, Hq, Hkv, D, scale);
    check_launch("tc_dq_kernel");
    const size_t kv_smem = size_t((2 * kKvBN + 4 * kKvBM) * LDS) * sizeof(T_);
    set_smem(tc_dkdv_kernel<T_, DMAX>, kv_smem);
    tc_dkdv_kernel<T_, DMAX><<<dim3(unsigned(num_k_tiles), unsigned(Hkv)), kThreads, kv_smem, stream>>>(
        static_cast<T_*>(dk), static_cast<T_*>(dv), static_cast<const T_*>(dout), static_cast<const T_*>(q),
        static_cast<const T_*>(k), static_cast<const T_*>(v), lse, delta, k_tiles, T, Hq, Hkv, D, scale);
    check_launch("tc_dkdv_kernel");
  });
}

}  // namespace zt::cuda
