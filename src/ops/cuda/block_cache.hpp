// The size classes and free list of the caching device allocator, apart from CUDA so a CPU test can drive them:
// blocks cut to a few sizes per power of two, and a request may take a cached block up to 1/8 larger.
#pragma once
#include <algorithm>
#include <bit>
#include <cstddef>
#include <map>
#include <utility>
#include <vector>

namespace zt::cuda {

// Pad-free micro-batches change shape every step; with exact sizes each new shape was a cudaMalloc and the cache
// only grew. With classes a few dozen sizes serve every length.

// The bytes a request is allocated with (>= bytes, a multiple of 512):
//   up to 64 KiB:       a multiple of 512;
//   64 KiB .. 256 MiB:  one of 8 sizes per power of two (at most 12.5% more than asked);
//   above 256 MiB:      a multiple of 2 MiB (weights and other one-time buffers lose almost nothing).
inline size_t block_size(size_t bytes) {
  const size_t n = (std::max<size_t>(bytes, 1) + 511) / 512 * 512;
  if (n <= (size_t(64) << 10)) return n;
  const size_t g = n <= (size_t(256) << 20) ? std::bit_floor(n) / 8 : size_t(2) << 20;
  return (n + g - 1) / g * g;
}

// The largest cached block a request may take: its block size plus 1/8.
inline size_t max_fit(size_t bytes) {
  const size_t b = block_size(bytes);
  return b + b / 8;
}

// Cached blocks by (device, size), smallest first.
class FreeBlocks {
 public:
  // The smallest cached block on `device` of block_size(bytes) .. max_fit(bytes) bytes, removed from the cache;
  // {nullptr, 0} when there is none.
  std::pair<void*, size_t> take(size_t bytes, int device) {
    auto it = blocks_.lower_bound({device, block_size(bytes)});
    if (it == blocks_.end() || it->first.first != device || it->first.second > max_fit(bytes)) return {nullptr, 0};
    void* p = it->second.back();
    const size_t size = it->first.second;
    it->second.pop_back();
    if (it->second.empty()) blocks_.erase(it);
    return {p, size};
  }
  void put(void* p, size_t size, int device) { blocks_[{device, size}].push_back(p); }
  // Calls release(p, size, device) on every cached block and forgets them all.
  template <class F> void drain(F&& release) {
    for (auto& [key, list] : blocks_)
      for (void* p : list) release(p, key.second, key.first);
    blocks_.clear();
  }
  size_t count() const {
    size_t n = 0;
    for (auto& kv : blocks_) n += kv.second.size();
    return n;
  }

 private:
  std::map<std::pair<int, size_t>, std::vector<void*>> blocks_;
};

}  // namespace zt::cuda
