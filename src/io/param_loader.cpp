// Checkpoint -> parameter views through the uploader: shape and dtype checks per tensor, the mapped bytes queued as
// they lie in the shard, one fence per unit, and the byte count behind the progress report and the final rate.
#include "io/param_loader.hpp"

#include <cstdio>

#include "core/error.hpp"

namespace zt {

std::string LoadStats::str() const {
  char s[160];
  std::snprintf(s, sizeof s, "loaded %zu tensors, %.2f GB in %.2f s (%.2f GB/s)", tensors, double(bytes) / 1e9, seconds, gb_per_s());
  return s;
}

CheckpointLoader::CheckpointLoader(const HfCheckpoint& ckpt, const model::ModelLayout& layout, Device dev, LoadOptions opt)
    : ckpt_(ckpt), start_(std::chrono::steady_clock::now()), up_(dev, opt.upload) {
  uint64_t total = 0;
  for (const auto& u : layout.units)
    for (const auto& p : u.params)
      if (ckpt.contains(p.name)) total += ckpt.info(p.name).nbytes();
  progress_ = std::make_unique<ByteProgress>("loading " + ckpt.dir(), total, opt.progress, [this] { return up_.bytes_done(); });
}

CheckpointLoader::~CheckpointLoader() = default;

size_t CheckpointLoader::load_unit(const model::UnitLayout& u, const model::UnitParams& dst) {
  const size_t n = queue_unit(u, dst);
  fence();
  return n;
}

size_t CheckpointLoader::queue_unit(const model::UnitLayout& u, const model::UnitParams& dst,
                                    const std::function<bool(const model::ParamInfo&)>& pick) {
  check(!finished_, "CheckpointLoader: load_unit after finish");
  size_t loaded = 0;
  for (const auto& p : u.params) {
    if (!ckpt_.contains(p.name) || (pick && !pick(p))) continue;
    const SafetensorsEntry& e = ckpt_.info(p.name);
    check(e.shape == p.shape, ckpt_.dir() + ": tensor '" + p.name + "' has shape " + shape_str(e.shape) +
                                  ", the model's config.json implies " + shape_str(p.shape),
          "the weights do not belong to this config.json");
    const Tensor& d = dst.get(p.name);
    check(e.supported && (e.dtype == d.dtype() || (is_float(e.dtype) && is_float(d.dtype()))),
          ckpt_.shard_of(p.name).source() + ": tensor '" + p.name + "' is " + e.st_dtype + " and cannot be loaded as " +
              dtype_name(d.dtype()),
          "the checkpoint's weights must be float (F32, BF16, F16 or F64)");
    Tensor src = ckpt_.view(p.name);  // zero-copy over the mapped shard (an aligned copy only for misaligned data)
    up_.upload(d, src.raw(), src.dtype());
    keep_.push_back(std::move(src));
    bytes_ += e.nbytes();
    ++loaded;
  }
  tensors_ += loaded;
  return loaded;
}

void CheckpointLoader::fence() {
  up_.fence();
  keep_.clear();  // the host side of every queued copy is done
}

LoadStats CheckpointLoader::finish() {
  if (finished_) return stats_;
  up_.finish();
  finished_ = true;
  stats_.tensors = tensors_;
  stats_.bytes = bytes_;
  progress_->stop();
  stats_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return stats_;
}

}  // namespace zt
