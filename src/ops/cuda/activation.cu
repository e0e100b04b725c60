// CUDA kernels for SwiGLU forward and backward; silu(g) = g / (1 + exp(-g)) in fp32 like the CPU reference.
// One grid-stride loop per pass: each element is independent. When every pointer is 16-byte aligned and n a
// multiple of the vector width, each thread moves 16 bytes per load and store (8 bf16/f16 or 4 f32 values).
#include "ops/cuda/activation.hpp"

#include <initializer_list>

#include "ops/cuda/common.cuh"

namespace zt::cuda {

namespace {
constexpr int kThreads = 256;

// 16 bytes of T, loaded and stored as one uint4.
template <class T> union Pack16 {
  static constexpr int n = 16 / int(sizeof(T));
  uint4 raw;
  T v[n];
};

template <class T> __global__ void swiglu_fwd_vec_kernel(T* out, const T* gate, const T* up, int64_t nv) {
  using P = Pack16<T>;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < nv; i += int64_t(gridDim.x) * blockDim.x) {
    P g, u, o;
    g.raw = reinterpret_cast<const uint4*>(gate)[i];
    u.raw = reinterpret_cast<const uint4*>(up)[i];
#pragma unroll
    for (int e = 0; e < P::n; ++e) {
      const float x = to_f32(g.v[e]);
      o.v[e] = from_f32<T>(x / (1.0f + expf(-x)) * to_f32(u.v[e]));
    }
    reinterpret_cast<uint4*>(out)[i] = o.raw;
  }
}

template <class T>
__global__ void swiglu_bwd_vec_kernel(T* dgate, T* dup, const T* dout, const T* gate, const T* up, int64_t nv) {
  using P = Pack16<T>;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < nv; i += int64_t(gridDim.x) * blockDim.x) {
    P g, u, d, dg, du;
    g.raw = reinterpret_cast<const uint4*>(gate)[i];
    u.raw = reinterpret_cast<const uint4*>(up)[i];
    d.raw = reinterpret_cast<const uint4*>(dout)[i];
#pragma unroll
    for (int e = 0; e < P::n; ++e) {
      const float x = to_f32(g.v[e]), y = to_f32(u.v[e]), dd = to_f32(d.v[e]);
      const float s = 1.0f / (1.0f + expf(-x));
      dg.v[e] = from_f32<T>(dd * y * (s * (1.0f + x * (1.0f - s))));
      du.v[e] = from_f32<T>(dd * (x * s));
    }
    reinterpret_cast<uint4*>(dgate)[i] = dg.raw;
    reinterpret_cast<uint4*>(dup)[i] = du.raw;
  }
}

bool aligned16(std::initializer_list<const void*> ps) {
  for (const void* p : ps)
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0) return false;
  return true;
}

template <class T> __global__ void swiglu_fwd_kernel(T* out, const T* gate, const T* up, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float g = to_f32(gate[i]);
    out[i] = from_f32<T>(g / (1.0f + expf(-g)) * to_f32(up[i]));
  }
}

template <class T> __global__ void swiglu_bwd_kernel(T* dgate, T* dup, const T* dout, const T* gate, const T* up, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float g = to_f32(gate[i]), u = to_f32(up[i]), d = to_f32(dout[i]);
    const float s = 1.0f / (1.0f + expf(-g));  // sigmoid(g)
    dgate[i] = from_f32<T>(d * u * (s * (1.0f + g * (1.0f - s))));
    dup[i] = from_f32<T>(d * (g * s));
  }
}
}  // namespace

void swiglu_forward(void* out, const void* gate, const void* up, DType dt, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  dispatch_float(dt, "swiglu_forward", [&](auto t) {
    using T = decltype(t);
    constexpr int V = Pack16<T>::n;
    if (n % V == 0 && aligned16({out, gate, up})) {
      swiglu_fwd_vec_kernel<T><<<grid_for(n / V, kThreads), kThreads, 0, stream>>>(
          static_cast<T*>(out), static_cast<const T*>(gate), static_cast<const T*>(up), n / V);
      return;
    }
    swiglu_fwd_kernel<T><<<grid_for(n, kThreads), kThreads, 0, stream>>>(static_cast<T*>(out), static_cast<const T*>(gate),
                                                                         static_cast<const T*>(up), n);
  });
  check_launch("swiglu_fwd_kernel");
}

void swiglu_backward(void* dgate, void* dup, const void* dout, const void* gate, const void* up, DType dt, int64_t n,
                     cudaStream_t stream) {
  if (n == 0) return;
  dispatch_float(dt, "swiglu_backward", [&](auto t) {
    using T = decltype(t);
    constexpr int V = Pack16<T>::n;
    if (n % V == 0 && aligned16({dgate, dup, dout, gate, up})) {
      swiglu_bwd_vec_kernel<T><<<grid_for(n / V, kThreads), kThreads, 0, stream>>>(
          static_cast<T*>(dgate), static_cast<T*>(dup), static_cast<const T*>(dout), static_cast<const T*>(gate),
          static_cast<const T*>(up), n / V);
      return;
    }
    swiglu_bwd_kernel<T><<<grid_for(n, kThreads), kThreads, 0, stream>>>(
        static_cast<T*>(dgate), static_cast<T*>(dup), static_cast<const T*>(dout), static_cast<const T*>(gate),
        static_cast<const T*>(up), n);
  });
  check_launch("swiglu_bwd_kernel");
}

}  // namespace zt::cuda
