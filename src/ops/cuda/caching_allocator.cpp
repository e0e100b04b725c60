// The caching device allocator (see caching_allocator.hpp).
#include "ops/cuda/caching_allocator.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/tensor.hpp"
#include "ops/cuda/block_cache.hpp"
#include "ops/cuda/runtime.hpp"

namespace zt::cuda {

namespace {

// cudaMalloc-backed allocator that keeps freed blocks for reuse (a training step allocates the same shapes every
// micro-step, so after the first step nothing reaches cudaMalloc/cudaFree; pad-free micro-batches vary their
// shapes, so blocks come in size classes and a request may take a slightly larger one: block_cache.hpp), and
// counts the bytes asked for (rounded to 512; peak = torch.cuda.max_memory_allocated's measure) and the bytes
// held from the driver.
class CachingAllocator {
 public:
  AllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return {in_use_, peak_in_use_, reserved_, peak_reserved_, device_allocs_};
  }

 public:
  void* alloc(size_t bytes, int device) {
    const size_t asked = (std::max<size_t>(bytes, 1) + 511) / 512 * 512;
    std::lock_guard<std::mutex> lock(mu_);
    auto [p, size] = free_.take(bytes, device);
    if (!p) {
      size = block_size(bytes);
      cuda::DeviceGuard g(device);
      cudaError_t e = cudaMalloc(&p, size);
      if (e != cudaSuccess) {  // give cached blocks back and retry once
        cudaGetLastError();
        release_locked();
        e = cudaMalloc(&p, size);
      }
      ZT_CUDA(e);
      reserved_ += size;
      ++device_allocs_;
      peak_reserved_ = std::max(peak_reserved_, reserved_);
    }
    live_[p] = {size, asked, device};
    in_use_ += asked;
    peak_in_use_ = std::max(peak_in_use_, in_use_);
    return p;
  }
  void free(void* p, int) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(p);
    if (it == live_.end()) return;
    in_use_ -= it->second.asked;
    free_.put(p, it->second.size, it->second.device);
    live_.erase(it);
  }
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mu_);
    peak_in_use_ = in_use_;
    peak_reserved_ = reserved_;
  }
  void count_external(std::ptrdiff_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    in_use_ = size_t(std::ptrdiff_t(in_use_) + bytes);
    reserved_ = size_t(std::ptrdiff_t(reserved_) + bytes);
    peak_in_use_ = std::max(peak_in_use_, in_use_);
    peak_reserved_ = std::max(peak_reserved_, reserved_);
  }
  size_t peak_in_use() const { return peak_in_use_; }
  size_t peak_reserved() const { return peak_reserved_; }

 private:
  struct Live {
    size_t size, asked;  // the block's bytes, the request's (rounded to 512)
    int device;
  };
  void release_locked() {
    free_.drain([&](void* p, size_t size, int device) {
      cuda::DeviceGuard g(device);
      cudaDeviceSynchronize();
      cudaFree(p);
      reserved_ -= size;
    });
  }
  std::mutex mu_;
  FreeBlocks free_;
  std::unordered_map<void*, Live> live_;
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

void count_external_bytes(std::ptrdiff_t bytes) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_alloc) g_alloc->count_external(bytes);
}

}  // namespace zt::cuda
