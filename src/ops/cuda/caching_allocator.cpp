// The caching device allocator (see caching_allocator.hpp).
#include "ops/cuda/caching_allocator.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/tensor.hpp"
#include "ops/cuda/runtime.hpp"

namespace zt::cuda {

namespace {

// cudaMalloc-backed allocator that keeps freed blocks for reuse by size (a training step allocates the same
// shapes every micro-step, so after the first step nothing reaches cudaMalloc/cudaFree), and counts the
// bytes handed out (peak = torch.cuda.max_memory_allocated's measure) and the bytes held from the driver.
class CachingAllocator {
 public:
  AllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return {in_use_, peak_in_use_, reserved_, peak_reserved_, device_allocs_};
  }

 public:
  void* alloc(size_t bytes, int device) {
    const size_t n = (std::max<size_t>(bytes, 1) + 511) / 512 * 512;
    std::lock_guard<std::mutex> lock(mu_);
    void* p = nullptr;
    auto& free_list = free_[key(n, device)];
    if (!free_list.empty()) {
      p = free_list.back();
      free_list.pop_back();
    } else {
      cuda::DeviceGuard g(device);
      cudaError_t e = cudaMalloc(&p, n);
      if (e != cudaSuccess) {  // give cached blocks back and retry once
        cudaGetLastError();
        release_locked();
        e = cudaMalloc(&p, n);
      }
      ZT_CUDA(e);
      reserved_ += n;
      ++device_allocs_;
      peak_reserved_ = std::max(peak_reserved_, reserved_);
    }
    live_[p] = {n, device};
    in_use_ += n;
    peak_in_use_ = std::max(peak_in_use_, in_use_);
    return p;
  }
  void free(void* p, int) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(p);
    if (it == live_.end()) return;
    in_use_ -= it->second.first;
    free_[key(it->second.first, it->second.second)].push_back(p);
    live_.erase(it);
  }
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mu_);
    peak_in_use_ = in_use_;
    peak_reserved_ = reserved_;
  }
  size_t peak_in_use() const { return peak_in_use_; }
  size_t peak_reserved() const { return peak_reserved_; }

 private:
  static uint64_t key(size_t n, int device) { return (uint64_t(n) << 4) | uint64_t(device & 15); }
  void release_locked() {
    for (auto& [k, list] : free_)
      for (void* p : list) {
        cuda::DeviceGuard g(int(k & 15));
        cudaDeviceSynchronize();
        cudaFree(p);
        reserved_ -= k >> 4;
      }
    free_.clear();
  }
  std::mutex mu_;
  std::unordered_map<uint64_t, std::vector<void*>> free_;
  std::unordered_map<void*, std::pair<size_t, int>> live_;
  size_t device_allocs_ = 0;
  size_t in_use_ = 0, peak_in_use_ = 0, reserved_ = 0, peak_reserved_ = 0;
};

std::mutex g_mu;
std::shared_ptr<CachingAllocator> g_alloc;  // the one installed into zt::Buffer (lives for the process)

}  // namespace

void install_caching_allocator() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_alloc) return;
  g_alloc = std::make_shared<CachingAllocator>();
  auto a = g_alloc;
  Buffer::set_cuda_allocator([a](size_t n, int d) { return a->alloc(n, d); }, [a](void* p, int d) { a->free(p, d); });
}

bool caching_allocator_installed() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_alloc != nullptr;
}

AllocatorStats allocator_stats() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_alloc ? g_alloc->stats() : AllocatorStats{};
}

void reset_allocator_peak() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_alloc) g_alloc->reset_peak();
}

}  // namespace zt::cuda
