// The device a rank computes on, picked the same way by `train` and the internal `comm-bench`: GPU LOCAL_RANK when
// this build has CUDA and a GPU is visible (CUDA_VISIBLE_DEVICES="" forces the CPU), else the CPU.
#pragma once
#include "core/tensor.hpp"

namespace zt::cli {

// On a GPU also initialises CUDA and installs the caching allocator (no cudaMalloc/cudaFree inside a step loop);
// fails when local_rank is not a visible GPU.
Device rank_device(int local_rank);

}  // namespace zt::cli
