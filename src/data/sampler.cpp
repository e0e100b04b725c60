// DistributedSampler semantics (num_samples, total_size, padding by repetition, strided rank slices) over
// torch_randperm, plus the DataLoader's micro-batch grouping.
#include "data/sampler.hpp"

#include "core/error.hpp"
#include "data/permute.hpp"

namespace zt::data {

std::vector<int64_t> distributed_sampler_indices(int64_t n, const SamplerOptions& opt) {
  check(opt.world_size >= 1 && opt.rank >= 0 && opt.rank < opt.world_size,
        "sampler: rank " + std::to_string(opt.rank) + " of world size " + std::to_string(opt.world_size) + " is invalid");
  check(n >= 0, "sampler: negative dataset size");
  const int64_t w = opt.world_size;
  std::vector<int64_t> idx;
  if (opt.shuffle) {
    idx = torch_randperm(n, opt.seed + uint64_t(opt.epoch));
  } else {
    idx.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) idx[size_t(i)] = i;
  }
  int64_t num_samples = (opt.drop_last && n % w != 0) ? (n - w + w - 1) / w : (n + w - 1) / w;
  if (num_samples < 0) num_samples = 0;
  int64_t total = num_samples * w;
  if (!opt.drop_last) {
    // indices += (indices * ceil(pad / len))[:pad]: repeat the permutation from its start.
    check(n > 0 || total == 0, "sampler: empty dataset");
    for (int64_t k = 0; int64_t(idx.size()) < total; ++k) idx.push_back(idx[size_t(k % n)]);
  } else {
    idx.resize(size_t(total));
  }
  std::vector<int64_t> out;
  out.reserve(size_t(num_samples));
  for (int64_t i = opt.rank; i < total; i += w) out.push_back(idx[size_t(i)]);
  return out;
}

std::vector<std::vector<int64_t>> micro_batches(const std::vector<int64_t>& indices, int64_t batch_size) {
  check(batch_size >= 1, "micro-batch size " + std::to_string(batch_size) + " must be at least 1");
  std::vector<std::vector<int64_t>> out;
  for (size_t i = 0; i < indices.size(); i += size_t(batch_size))
    out.emplace_back(indices.begin() + long(i), indices.begin() + long(std::min(indices.size(), i + size_t(batch_size))));
  return out;
}

}  // namespace zt::data
