// CUDA kernels for SwiGLU forward and backward; silu(g) = g / (1 + exp(-g)) in fp32 like the CPU reference.
// One grid-stride loop per pass: each element is independent.
#include "ops/cuda/activation.hpp"

#include "ops/cuda/common.cuh"

namespace zt::cuda {

namespace {
constexpr int kThreads = 256;

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
    swiglu_bwd_kernel<T><<<grid_for(n, kThreads), kThreads, 0, stream>>>(
        static_cast<T*>(dgate), static_cast<T*>(dup), static_cast<const T*>(dout), static_cast<const T*>(gate),
        static_cast<const T*>(up), n);
  });
  check_launch("swiglu_bwd_kernel");
}

}  // namespace zt::cuda
