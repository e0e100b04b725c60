// CUDA kernels for RMSNorm: one block per row for the forward and dx (fp32 row sums), and dweight as per-block
// column partials in shared memory (each thread owns its columns, no atomics) summed by a second kernel.
#include "ops/cuda/rmsnorm.hpp"

#include <algorithm>

#include "ops/cuda/common.cuh"

namespace zt::cuda {

namespace {
constexpr int kThreads = 256;
constexpr int kMaxPartialBlocks = 512;

// ---- kernels ----

// grid (N): out row = weight * (x row * rstd)
template <class T> __global__ void rmsnorm_fwd_kernel(T* out, float* rstd, const T* x, const T* w, int64_t C, float eps) {
  __shared__ float red[32];
  const T* xr = x + blockIdx.x * C;
  float ss = 0.0f;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    const float v = to_f32(xr[c]);
    ss += v * v;
  }
  ss = block_sum(ss, red);
  const float r = rsqrtf(ss / float(C) + eps);
  if (threadIdx.x == 0) rstd[blockIdx.x] = r;
  T* o = out + blockIdx.x * C;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) o[c] = from_f32<T>(to_f32(w[c]) * (to_f32(xr[c]) * r));
}

// grid (blocks): rows blockIdx.x, +gridDim.x, ...; dx = r*w*g - r^3/C * x * sum(w*g*x);
// partial (gridDim.x, C) f32 (nullable) = this block's sum over its rows of g * x * r.
template <class T>
__global__ void rmsnorm_bwd_kernel(T* dx, float* partial, const T* dout, const T* x, const T* w, const float* rstd,
                                   int64_t N, int64_t C) {
  extern __shared__ float dw_acc[];  // (C) this block's dweight partial, column c owned by thread c % blockDim
  __shared__ float red[32];
  if (partial)
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) dw_acc[c] = 0.0f;
  for (int64_t t = blockIdx.x; t < N; t += gridDim.x) {
    const T* xr = x + t * C;
    const T* g = dout + t * C;
    const float r = rstd[t];
    float dot = 0.0f;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const float gv = to_f32(g[c]), xv = to_f32(xr[c]);
      dot += to_f32(w[c]) * gv * xv;
      if (partial) dw_acc[c] += gv * (xv * r);
    }
    dot = block_sum(dot, red);
    const float k = r * r * r * dot / float(C);
    T* d = dx + t * C;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
      d[c] = from_f32<T>(r * to_f32(w[c]) * to_f32(g[c]) - k * to_f32(xr[c]));
  }
  if (partial)
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) partial[blockIdx.x * C + c] = dw_acc[c];
}

// dweight (C) += sum over blocks of partial (blocks, C), in block order.
template <class G> __global__ void column_sum_kernel(G* dweight, const float* partial, int blocks, int64_t C) {
  const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (c >= C) return;
  float s = 0.0f;
  for (int b = 0; b < blocks; ++b) s += partial[b * C + c];
  dweight[c] = from_f32<G>(to_f32(dweight[c]) + s);
}
}  // namespace

// ---- launchers ----

void rmsnorm_forward(void* out, float* rstd, const void* x, const void* weight, DType dt, int64_t N, int64_t C, float eps,
                     cudaStream_t stream) {
  if (N == 0) return;
  check(N <= INT32_MAX, "rmsnorm_forward: too many rows for one launch");
  dispatch_float(dt, "rmsnorm_forward", [&](auto t) {
    using T = decltype(t);
    rmsnorm_fwd_kernel<T><<<unsigned(N), kThreads, 0, stream>>>(static_cast<T*>(out), rstd, static_cast<const T*>(x),
                                                                static_cast<const T*>(weight), C, eps);
  });
  check_launch("rmsnorm_fwd_kernel");
}

void rmsnorm_backward(void* dx, void* dweight, DType dweight_t, const void* dout, const void* x, const void* weight,
                      const float* rstd, DType dt, int64_t N, int64_t C, Context& ctx) {
  if (N == 0) return;
  const size_t smem = dweight ? size_t(C) * sizeof(float) : 0;
  const int max_smem = ctx.props().sharedMemPerBlockOptin;
  check(smem <= size_t(max_smem), "rmsnorm_backward: hidden size " + std::to_string(C) + " exceeds the " +
                                      std::to_string(max_smem / 4) + " columns one block can reduce on this GPU");
  // Without a weight gradient every row is its own block (a few blocks per SM keep the loads in flight); with one,
  // blocks share rows so the (blocks, C) partials stay small.
  const int blocks = dweight ? int(std::min<int64_t>(N, kMaxPartialBlocks)) : int(std::min<int64_t>(N, INT32_MAX));
  float* partial = dweight ? static_cast<float*>(ctx.scratch(size_t(blocks) * size_t(C) * sizeof(float))) : nullptr;
  dispatch_float(dt, "rmsnorm_backward", [&](auto t) {
    using T = decltype(t);
    if (smem > 48 * 1024)
      ZT_CUDA(cudaFuncSetAttribute(rmsnorm_bwd_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    rmsnorm_bwd_kernel<T><<<unsigned(blocks), kThreads, smem, ctx.stream()>>>(
        static_cast<T*>(dx), partial, static_cast<const T*>(dout), static_cast<const T*>(x), static_cast<const T*>(weight),
        rstd, N, C);
    check_launch("rmsnorm_bwd_kernel");
    if (!dweight) return;
    const unsigned g = unsigned((C + kThreads - 1) / kThreads);
    if (dweight_t == DType::f32)
      column_sum_kernel<float><<<g, kThreads, 0, ctx.stream()>>>(static_cast<float*>(dweight), partial, blocks, C);
    else {
      check(dweight_t == dt, "rmsnorm_backward: dweight must be f32 or x's dtype");
      column_sum_kernel<T><<<g, kThreads, 0, ctx.stream()>>>(static_cast<T*>(dweight), partial, blocks, C);
    }
    check_launch("column_sum_kernel");
  });
}

}  // namespace zt::cuda
