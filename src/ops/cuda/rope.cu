// CUDA kernel for rotary embeddings: one thread per (token, head, pair), rotating x[d] with x[d + D/2] in fp32.
// sincosf is the accurate (not fast-math) version so angles match the CPU's std::cos/std::sin to a few ulp.
#include "ops/cuda/rope.hpp"

#include "ops/cuda/common.cuh"

namespace zt::cuda {

namespace {
constexpr int kThreads = 256;

template <class T>
__global__ void rope_kernel(T* x, const int32_t* positions, const float* inv_freq, int64_t T_, int64_t H, int64_t half,
                            bool inverse) {
  const int64_t n = T_ * H * half;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < n; idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = idx % half, th = idx / half, t = th / H;
    float s, c;
    sincosf(float(positions[t]) * inv_freq[i], &s, &c);
    if (inverse) s = -s;
    T* v = x + th * 2 * half;
    const float a = to_f32(v[i]), b = to_f32(v[i + half]);
    v[i] = from_f32<T>(a * c - b * s);
    v[i + half] = from_f32<T>(b * c + a * s);
  }
}
}  // namespace

void rope_apply(void* x, const int32_t* positions, const float* inv_freq, DType dt, int64_t T, int64_t H, int64_t D,
                bool inverse, cudaStream_t stream) {
  const int64_t n = T * H * (D / 2);
  if (n == 0) return;
  dispatch_float(dt, "rope", [&](auto t) {
    using T_ = decltype(t);
    rope_kernel<T_><<<grid_for(n, kThreads), kThreads, 0, stream>>>(static_cast<T_*>(x), positions, inv_freq, T, H, D / 2,
                                                                    inverse);
  });
  check_launch("rope_kernel");
}

}  // namespace zt::cuda
