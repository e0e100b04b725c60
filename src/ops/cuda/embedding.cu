// CUDA kernels for the token embedding: a row gather, and a scatter-add over tokens grouped by id (CSR built
// on the host) so every table row is updated once, in token order: deterministic and exact in fp32.
#include "ops/cuda/embedding.hpp"

#include <algorithm>
#include <numeric>
#include <vector>

#include "ops/cuda/common.cuh"

namespace zt::cuda {

namespace {
constexpr int kThreads = 256;

template <class T> __global__ void gather_kernel(T* out, const T* table, const int32_t* ids, int64_t T_, int64_t C) {
  const int64_t n = T_ * C;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t t = i / C, c = i % C;
    out[i] = table[int64_t(ids[t]) * C + c];
  }
}

// grid (U, column blocks): table row uniq[u] += sum of dout rows order[offs[u] .. offs[u+1]).
template <class G, class T>
__global__ void scatter_kernel(G* dtable, const T* dout, const int32_t* uniq, const int32_t* offs, const int32_t* order,
                               int64_t C) {
  const int64_t c = blockIdx.y * int64_t(blockDim.x) + threadIdx.x;
  if (c >= C) return;
  const int u = blockIdx.x;
  float s = 0.0f;
  for (int k = offs[u]; k < offs[u + 1]; ++k) s += to_f32(dout[int64_t(order[k]) * C + c]);
  G* dst = dtable + int64_t(uniq[u]) * C + c;
  *dst = from_f32<G>(to_f32(*dst) + s);
}
}  // namespace

void embedding_forward(void* out, const void* table, const int32_t* ids, DType dt, int64_t T, int64_t C,
                       cudaStream_t stream) {
  if (T * C == 0) return;
  dispatch_float(dt, "embedding_forward", [&](auto t) {
    using T_ = decltype(t);
    gather_kernel<T_><<<grid_for(T * C, kThreads), kThreads, 0, stream>>>(static_cast<T_*>(out),
                                                                          static_cast<const T_*>(table), ids, T, C);
  });
  check_launch("gather_kernel");
}

void embedding_backward(void* dtable, DType dtable_t, const void* dout, DType dt, const int32_t* ids_host, int64_t T,
                        int64_t C, Context& ctx) {
  if (T * C == 0) return;
  // CSR of tokens by id: order (T) token indices sorted by id (stable), uniq (U) ids, offs (U + 1).
  std::vector<int32_t> host(size_t(2 * T + 1));
  int32_t* order = host.data();
  std::iota(order, order + T, 0);
  std::stable_sort(order, order + T, [&](int32_t a, int32_t b) { return ids_host[a] < ids_host[b]; });
  std::vector<int32_t> uniq, offs;
  for (int64_t k = 0; k < T; ++k)
    if (k == 0 || ids_host[order[k]] != ids_host[order[k - 1]]) {
      uniq.push_back(ids_host[order[k]]);
      offs.push_back(int32_t(k));
    }
  offs.push_back(int32_t(T));
  const size_t U = uniq.size();
  std::copy(uniq.begin(), uniq.end(), host.begin() + T);
  host.resize(size_t(T) + U + U + 1);
  std::copy(offs.begin(), offs.end(), host.begin() + T + int64_t(U));
  auto* dev = static_cast<int32_t*>(ctx.scratch(host.size() * sizeof(int32_t)));
  ZT_CUDA(cudaMemcpyAsync(dev, host.data(), host.size() * sizeof(int32_t), cudaMemcpyHostToDevice, ctx.stream()));
  const dim3 grid(unsigned(U), unsigned((C + kThreads - 1) / kThreads));
  dispatch_float(dt, "embedding_backward", [&](auto t) {
    using T_ = decltype(t);
    const T_* src = static_cast<const T_*>(dout);
    if (dtable_t == DType::f32)
      scatter_kernel<float, T_><<<grid, kThreads, 0, ctx.stream()>>>(static_cast<float*>(dtable), src, dev + T,
                                                                     dev + T + U, dev, C);
    else
      scatter_kernel<T_, T_><<<grid, kThreads, 0, ctx.stream()>>>(static_cast<T_*>(dtable), src, dev + T, dev + T + U, dev, C);
  });
  check_launch("scatter_kernel");
  // No wait for the copy: from pageable memory cudaMemcpyAsync returns only after `host` was staged.
}

}  // namespace zt::cuda
