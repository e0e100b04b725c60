// CUDA kernels for cross-entropy fused with the logits: one block per row; forward keeps a running (max, sum)
// per thread and merges them across the block, backward rewrites the row in place as softmax - onehot.
// Rows are read with 16-byte loads when the vocabulary and the base pointer allow it.
#include "ops/cuda/loss.hpp"

#include "ops/cuda/common.cuh"
#include "ops/loss.hpp"

namespace zt::cuda {

namespace {
constexpr int kThreads = 512;

// Running log-sum-exp state: sum of exp(x - m).
struct Lse {
  float m, s;
};
__device__ __forceinline__ void lse_push(Lse& a, float x) {
  if (x > a.m) {
    a.s = a.s * expf(a.m - x) + 1.0f;  // a.m = -inf gives exp(-inf) = 0
    a.m = x;
  } else {
    a.s += expf(x - a.m);
  }
}
__device__ __forceinline__ Lse lse_merge(Lse a, Lse b) {
  const float m = fmaxf(a.m, b.m);
  if (m == -INFINITY) return {m, 0.0f};
  return {m, a.s * expf(a.m - m) + b.s * expf(b.m - m)};
}

template <class T> constexpr int kVec = 16 / sizeof(T);

// grid (T)
template <class T, bool kVectorized>
__global__ void ce_fwd_kernel(float* loss, float* lse, const T* logits, const int32_t* targets, int64_t V) {
  __shared__ Lse red[32];
  const T* row = logits + blockIdx.x * V;
  Lse st{-INFINITY, 0.0f};
  if constexpr (kVectorized) {
    const int64_t nv = V / kVec<T>;
    for (int64_t i = threadIdx.x; i < nv; i += blockDim.x) {
      const uint4 raw = reinterpret_cast<const uint4*>(row)[i];
      const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
      for (int k = 0; k < kVec<T>; ++k) lse_push(st, to_f32(e[k]));
    }
  } else {
    for (int64_t j = threadIdx.x; j < V; j += blockDim.x) lse_push(st, to_f32(row[j]));
  }
  // merge across the warp, then across warps
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    Lse other{__shfl_xor_sync(0xffffffffu, st.m, o), __shfl_xor_sync(0xffffffffu, st.s, o)};
    st = lse_merge(st, other);
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) red[warp] = st;
  __syncthreads();
  if (threadIdx.x == 0) {
    Lse tot = red[0];
    for (int w = 1; w < int(blockDim.x >> 5); ++w) tot = lse_merge(tot, red[w]);
    const float l = tot.m + logf(tot.s);
    lse[blockIdx.x] = l;
    const int32_t tg = targets[blockIdx.x];
    loss[blockIdx.x] = tg == ops::kIgnoreIndex ? 0.0f : l - to_f32(row[tg]);
  }
}

// grid (T); each element read before it is written by the same thread, so dlogits may alias logits.
template <class T, bool kVectorized>
__global__ void ce_bwd_kernel(T* dlogits, const T* logits, const float* lse, const int32_t* targets, float g, int64_t V) {
  const T* row = logits + blockIdx.x * V;
  T* drow = dlogits + blockIdx.x * V;
  const int32_t tg = targets[blockIdx.x];
  const bool ignored = tg == ops::kIgnoreIndex;
  const float l = lse[blockIdx.x];
  if constexpr (kVectorized) {
    const int64_t nv = V / kVec<T>;
    for (int64_t i = threadIdx.x; i < nv; i += blockDim.x) {
      const uint4 raw = reinterpret_cast<const uint4*>(row)[i];
      const T* e = reinterpret_cast<const T*>(&raw);
      uint4 outv;
      T* o = reinterpret_cast<T*>(&outv);
#pragma unroll
      for (int k = 0; k < kVec<T>; ++k) {
        const int64_t j = i * kVec<T> + k;
        float d = ignored ? 0.0f : g * expf(to_f32(e[k]) - l);
        if (j == tg) d -= g;
        o[k] = from_f32<T>(d);
      }
      reinterpret_cast<uint4*>(drow)[i] = outv;
    }
  } else {
    for (int64_t j = threadIdx.x; j < V; j += blockDim.x) {
      float d = ignored ? 0.0f : g * expf(to_f32(row[j]) - l);
      if (j == tg) d -= g;
      drow[j] = from_f32<T>(d);
    }
  }
}

template <class T> bool vectorizable(const void* p, const void* q, int64_t V) {
  return V % kVec<T> == 0 && reinterpret_cast<uintptr_t>(p) % 16 == 0 && reinterpret_cast<uintptr_t>(q) % 16 == 0;
}
}  // namespace

void cross_entropy_forward(float* loss, float* lse, const void* logits, DType dt, const int32_t* targets, int64_t T,
                           int64_t V, cudaStream_t stream) {
  if (T == 0) return;
  check(T <= INT32_MAX, "cross_entropy_forward: too many rows for one launch");
  dispatch_float(dt, "cross_entropy_forward", [&](auto t) {
    using T_ = decltype(t);
    const T_* x = static_cast<const T_*>(logits);
    if (vectorizable<T_>(logits, logits, V)) ce_fwd_kernel<T_, true><<<unsigned(T), kThreads, 0, stream>>>(loss, lse, x, targets, V);
    else ce_fwd_kernel<T_, false><<<unsigned(T), kThreads, 0, stream>>>(loss, lse, x, targets, V);
  });
  check_launch("ce_fwd_kernel");
}

void cross_entropy_backward(void* dlogits, const void* logits, DType dt, const float* lse, const int32_t* targets,
                            float grad_scale, int64_t T, int64_t V, cudaStream_t stream) {
  if (T == 0) return;
  check(T <= INT32_MAX, "cross_entropy_backward: too many rows for one launch");
  dispatch_float(dt, "cross_entropy_backward", [&](auto t) {
    using T_ = decltype(t);
    T_* d = static_cast<T_*>(dlogits);
    const T_* x = static_cast<const T_*>(logits);
    if (vectorizable<T_>(dlogits, logits, V))
      ce_bwd_kernel<T_, true><<<unsigned(T), kThreads, 0, stream>>>(d, x, lse, targets, grad_scale, V);
    else
      ce_bwd_kernel<T_, false><<<unsigned(T), kThreads, 0, stream>>>(d, x, lse, targets, grad_scale, V);
  });
  check_launch("ce_bwd_kernel");
}

}  // namespace zt::cuda
