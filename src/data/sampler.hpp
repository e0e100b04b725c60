// torch.utils.data.DistributedSampler as DeepSpeed-Chat uses it (seed 0, set_epoch never called): which dataset
// indices each rank reads, in order, and their grouping into micro-batches (DataLoader, drop_last=False).
#pragma once
#include <cstdint>
#include <vector>

namespace zt::data {

struct SamplerOptions {
  int world_size = 1;
  int rank = 0;
  bool shuffle = true;     // torch.randperm(n, generator=manual_seed(seed + epoch)) when true, else 0..n-1
  uint64_t seed = 0;
  int64_t epoch = 0;       // DeepSpeed-Chat never calls set_epoch: every epoch uses epoch 0
  bool drop_last = false;  // false: pad by repeating the permutation up to a multiple of world_size
};

// Indices rank `rank` visits: permutation, padded (or cut) to a multiple of world_size, then rank::world_size.
std::vector<int64_t> distributed_sampler_indices(int64_t n, const SamplerOptions& opt);

// Consecutive groups of `batch_size` (the last one may be shorter).
std::vector<std::vector<int64_t>> micro_batches(const std::vector<int64_t>& indices, int64_t batch_size);

}  // namespace zt::data
