// A caching device allocator for zt::Buffer: freed blocks are kept by (size, device) and handed out again, so a
// training loop that allocates the same shapes every micro-step stops calling cudaMalloc/cudaFree after its first.
#pragma once
#include <cstddef>
#include <memory>

namespace zt::cuda {

struct AllocatorStats {
  size_t in_use = 0, peak_in_use = 0;      // bytes handed out (torch.cuda.max_memory_allocated's measure)
  size_t reserved = 0, peak_reserved = 0;  // bytes held from the driver
  size_t device_allocs = 0;                // cudaMalloc calls so far
};

// Installs the caching allocator as zt::Buffer's device allocator (idempotent; after cuda::initialize()).
void install_caching_allocator();
bool caching_allocator_installed();
AllocatorStats allocator_stats();
void reset_allocator_peak();
// Device memory allocated outside the allocator (NCCL's registered buffers) counted into in_use and reserved, so the
// peaks stay the whole footprint: +bytes when allocated, -bytes when freed.
void count_external_bytes(std::ptrdiff_t bytes);

}  // namespace zt::cuda
