// rank_device(): GPU LOCAL_RANK or the CPU, shared by the commands every rank of a launched job runs.
#include "cli/rank_device.hpp"

#include <string>

#include "core/error.hpp"
#ifdef ZT_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "ops/cuda/caching_allocator.hpp"
#include "ops/cuda/runtime.hpp"
#endif

namespace zt::cli {

Device rank_device(int local_rank) {
#ifdef ZT_HAVE_CUDA
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
    cudaGetLastError();
    return Device::CPU();
  }
  cuda::initialize();
  cuda::install_caching_allocator();
  check(local_rank >= 0 && local_rank < n,
        "LOCAL_RANK=" + std::to_string(local_rank) + " but only " + std::to_string(n) + " GPU(s) are visible",
        "launch at most one process per visible GPU (a hostfile's slots at most its GPUs), or set CUDA_VISIBLE_DEVICES");
  return Device::CUDA(local_rank);
#else
  (void)local_rank;
  return Device::CPU();
#endif
}

}  // namespace zt::cli
