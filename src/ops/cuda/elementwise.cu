// CUDA kernels for the elementwise helpers: grid-stride loops in fp32 over any float storage type, and
// two-stage reductions (per-block partials in double, summed on the host) so results do not depend on timing.
#include "ops/cuda/elementwise.hpp"

#include <vector>

#include "ops/cuda/common.cuh"

namespace zt::cuda {

namespace {
constexpr int kThreads = 256;
constexpr int kReduceBlocks = 1024;

// ---- kernels ----

template <class D, class S> __global__ void convert_kernel(D* dst, const S* src, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = from_f32<D>(to_f32(src[i]));
}

template <class T> __global__ void add_kernel(T* out, const T* a, const T* b, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = from_f32<T>(to_f32(a[i]) + to_f32(b[i]));
}

template <class T, class Y> __global__ void axpy_kernel(T* x, const Y* y, float alpha, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    x[i] = from_f32<T>(to_f32(x[i]) + alpha * to_f32(y[i]));
}

template <class T> __global__ void scale_kernel(T* x, float s, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    x[i] = from_f32<T>(to_f32(x[i]) * s);
}

// partial (gridDim.x): each block's sum of x^2 in double.
template <class T> __global__ void sum_squares_kernel(double* partial, const T* x, int64_t n) {
  __shared__ double red[kThreads];
  double acc = 0.0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const double v = to_f32(x[i]);
    acc += v * v;
  }
  red[threadIdx.x] = acc;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (int(threadIdx.x) < s) red[threadIdx.x] += red[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = red[0];
}

template <class T> __global__ void nonfinite_kernel(int* flag, const T* x, int64_t n) {
  bool bad = false;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    bad |= !isfinite(to_f32(x[i]));
  if (__syncthreads_or(bad) && threadIdx.x == 0) *flag = 1;
}
}  // namespace

// ---- launchers ----

void convert(void* dst, DType dst_t, const void* src, DType src_t, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  dispatch_float(dst_t, "copy", [&](auto d) {
    dispatch_float(src_t, "copy", [&](auto s) {
      using D = decltype(d);
      using S = decltype(s);
      convert_kernel<D, S><<<grid_for(n, kThreads), kThreads, 0, stream>>>(static_cast<D*>(dst), static_cast<const S*>(src), n);
    });
  });
  check_launch("convert_kernel");
}

void add(void* out, const void* a, const void* b, DType dt, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  dispatch_float(dt, "add", [&](auto t) {
    using T = decltype(t);
    add_kernel<T><<<grid_for(n, kThreads), kThreads, 0, stream>>>(static_cast<T*>(out), static_cast<const T*>(a),
                                                                  static_cast<const T*>(b), n);
  });
  check_launch("add_kernel");
}

void add_(void* x, DType x_t, const void* y, DType y_t, float alpha, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  dispatch_float(x_t, "add_", [&](auto xt) {
    dispatch_float(y_t, "add_", [&](auto yt) {
      using T = decltype(xt);
      using Y = decltype(yt);
      axpy_kernel<T, Y><<<grid_for(n, kThreads), kThreads, 0, stream>>>(static_cast<T*>(x), static_cast<const Y*>(y), alpha, n);
    });
  });
  check_launch("axpy_kernel");
}

void scale_(void* x, DType dt, float s, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  dispatch_float(dt, "scale_", [&](auto t) {
    using T = decltype(t);
    scale_kernel<T><<<grid_for(n, kThreads), kThreads, 0, stream>>>(static_cast<T*>(x), s, n);
  });
  check_launch("scale_kernel");
}

double sum_squares(const void* x, DType dt, int64_t n, Context& ctx) {
  if (n == 0) return 0.0;
  const unsigned blocks = grid_for(n, kThreads, kReduceBlocks);
  auto* partial = static_cast<double*>(ctx.scratch(blocks * sizeof(double)));
  dispatch_float(dt, "sum_squares", [&](auto t) {
    using T = decltype(t);
    sum_squares_kernel<T><<<blocks, kThreads, 0, ctx.stream()>>>(partial, static_cast<const T*>(x), n);
  });
  check_launch("sum_squares_kernel");
  auto* host = static_cast<double*>(ctx.host_scratch(blocks * sizeof(double)));
  ZT_CUDA(cudaMemcpyAsync(host, partial, blocks * sizeof(double), cudaMemcpyDeviceToHost, ctx.stream()));
  ctx.synchronize();
  double total = 0.0;
  for (unsigned b = 0; b < blocks; ++b) total += host[b];
  return total;
}

bool has_inf_or_nan(const void* x, DType dt, int64_t n, Context& ctx) {
  if (n == 0) return false;
  auto* flag = static_cast<int*>(ctx.scratch(sizeof(int)));
  ZT_CUDA(cudaMemsetAsync(flag, 0, sizeof(int), ctx.stream()));
  dispatch_float(dt, "has_inf_or_nan", [&](auto t) {
    using T = decltype(t);
    nonfinite_kernel<T><<<grid_for(n, kThreads, kReduceBlocks), kThreads, 0, ctx.stream()>>>(flag, static_cast<const T*>(x), n);
  });
  check_launch("nonfinite_kernel");
  auto* host = static_cast<int*>(ctx.host_scratch(sizeof(int)));
  ZT_CUDA(cudaMemcpyAsync(host, flag, sizeof(int), cudaMemcpyDeviceToHost, ctx.stream()));
  ctx.synchronize();
  return *host != 0;
}

}  // namespace zt::cuda
