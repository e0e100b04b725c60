// CUDA kernels for counter-based dropout: the keep decision is ops::dropout_keep (shared with the CPU), the
// scale 1/(1-p) is applied in fp32 and the result stored in the tensor's dtype.
#include "ops/cuda/dropout.hpp"

#include "ops/cuda/common.cuh"

namespace zt::cuda {

namespace {
constexpr int kThreads = 256;

template <class T> __global__ void dropout_kernel(T* out, const T* x, int64_t n, ops::DropoutSpec d, float scale) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = from_f32<T>(ops::dropout_keep(d, uint64_t(i)) ? to_f32(x[i]) * scale : 0.0f);
}

template <class T> __global__ void dropout_acc_kernel(T* dst, const T* src, int64_t n, ops::DropoutSpec d, float scale) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    if (ops::dropout_keep(d, uint64_t(i))) dst[i] = from_f32<T>(to_f32(dst[i]) + to_f32(src[i]) * scale);
}
}  // namespace

void dropout_apply(void* out, const void* x, DType dt, int64_t n, const ops::DropoutSpec& d, cudaStream_t stream) {
  if (n == 0) return;
  const float scale = 1.0f / (1.0f - d.p);
  dispatch_float(dt, "dropout", [&](auto t) {
    using T = decltype(t);
    dropout_kernel<T><<<grid_for(n, kThreads), kThreads, 0, stream>>>(static_cast<T*>(out), static_cast<const T*>(x), n, d, scale);
  });
  check_launch("dropout_kernel");
}

void dropout_accumulate(void* dst, const void* src, DType dt, int64_t n, const ops::DropoutSpec& d, cudaStream_t stream) {
  if (n == 0) return;
  const float scale = 1.0f / (1.0f - d.p);
  dispatch_float(dt, "dropout", [&](auto t) {
    using T = decltype(t);
    dropout_acc_kernel<T><<<grid_for(n, kThreads), kThreads, 0, stream>>>(static_cast<T*>(dst), static_cast<const T*>(src), n,
                                                                          d, scale);
  });
  check_launch("dropout_acc_kernel");
}

}  // namespace zt::cuda
