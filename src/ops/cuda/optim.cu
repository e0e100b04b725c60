// CUDA AdamW kernel: multi-tensor (up to kMaxSegments flat buffers per launch, each block owns one chunk of one
// segment), per-element math in fp32 in the same order as the CPU reference in ops/cpu/optim.cpp.
#include "ops/cuda/optim.hpp"

#include <cmath>

#include "ops/cuda/common.cuh"

namespace zt::cuda {

namespace {
constexpr int kThreads = 256;
constexpr int64_t kChunk = 8192;  // elements per block
constexpr int kMaxSegments = 32;

struct SegmentBatch {
  AdamSegment seg[kMaxSegments];
  int64_t first_block[kMaxSegments + 1];  // block index where each segment starts
  int count;
};

struct AdamScalars {
  float lr, beta1, beta2, eps, wd, inv_bc1, inv_sqrt_bc2;
};

__global__ void adamw_kernel(const __grid_constant__ SegmentBatch batch, AdamScalars h) {
  int s = 0;
  while (s + 1 < batch.count && int64_t(blockIdx.x) >= batch.first_block[s + 1]) ++s;
  const AdamSegment seg = batch.seg[s];
  const int64_t lo = (int64_t(blockIdx.x) - batch.first_block[s]) * kChunk;
  const int64_t hi = lo + kChunk < seg.n ? lo + kChunk : seg.n;
  const float one_minus_b1 = 1.0f - h.beta1, one_minus_b2 = 1.0f - h.beta2;
  for (int64_t i = lo + threadIdx.x; i < hi; i += blockDim.x) {
    const float g = seg.grad[i];
    const float mi = h.beta1 * seg.m[i] + one_minus_b1 * g;
    const float vi = h.beta2 * seg.v[i] + one_minus_b2 * g * g;
    seg.m[i] = mi;
    seg.v[i] = vi;
    const float denom = sqrtf(vi) * h.inv_sqrt_bc2 + h.eps;
    const float update = (mi * h.inv_bc1) / denom + h.wd * seg.param[i];
    seg.param[i] -= h.lr * update;
  }
}
}  // namespace

void adamw_step(std::span<const AdamSegment> segments, float lr, float beta1, float beta2, float eps, float weight_decay,
                int64_t step, cudaStream_t stream) {
  const double bc1 = 1.0 - std::pow(double(beta1), double(step));
  const double bc2 = 1.0 - std::pow(double(beta2), double(step));
  const AdamScalars h{lr, beta1, beta2, eps, weight_decay, float(1.0 / bc1), float(1.0 / std::sqrt(bc2))};
  size_t i = 0;
  while (i < segments.size()) {
    SegmentBatch b{};
    int64_t blocks = 0;
    while (i < segments.size() && b.count < kMaxSegments) {
      if (segments[i].n > 0) {
        b.seg[b.count] = segments[i];
        b.first_block[b.count] = blocks;
        blocks += (segments[i].n + kChunk - 1) / kChunk;
        ++b.count;
      }
      ++i;
    }
    if (b.count == 0) continue;
    b.first_block[b.count] = blocks;
    check(blocks <= INT32_MAX, "adamw_step: buffers too large for one launch");
    adamw_kernel<<<unsigned(blocks), kThreads, 0, stream>>>(b, h);
    check_launch("adamw_kernel");
  }
}

}  // namespace zt::cuda
