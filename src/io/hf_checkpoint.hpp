// Hugging Face checkpoint directories: model.safetensors or model.safetensors.index.json + shards, read
// by tensor name across shards, and written the way transformers' save_pretrained lays them out.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/json.hpp"
#include "core/tensor.hpp"
#include "io/safetensors.hpp"

namespace zt {

class HfCheckpoint {
 public:
  // Opens a directory holding model.safetensors (preferred, as transformers does) or
  // model.safetensors.index.json and every shard it names; validates that each shard exists and holds
  // each tensor the index maps to it. A path to a single .safetensors file is accepted too.
  // Fails with a conversion hint when only PyTorch .bin weights are present.
  static HfCheckpoint open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  // All tensor names: shard by shard (in index file order of shards), file-offset order within a shard.
  const std::vector<std::string>& names() const { return names_; }
  size_t size() const { return names_.size(); }
  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  // Fails naming the directory when `name` is absent.
  const SafetensorsEntry& info(const std::string& name) const { return shard_of(name).info(name); }
  const SafetensorsFile& shard_of(const std::string& name) const;
  const std::vector<SafetensorsFile>& shards() const { return shards_; }
  // Zero-copy read-only view / converted writable copy, as SafetensorsFile::view / load.
  Tensor view(const std::string& name) const { return shard_of(name).view(name); }
  Tensor load(const std::string& name, DType want) const { return shard_of(name).load(name, want); }
  // dir/config.json parsed; fails naming the path when absent.
  Json config() const;

 private:
  std::string dir_;
  std::vector<SafetensorsFile> shards_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, size_t> where_;  // tensor name -> index into shards_
};

// transformers' default max_shard_size ("5GB" = 5 * 10^9 bytes).
constexpr uint64_t kDefaultMaxShardBytes = 5'000'000'000ull;

// Writes `tensors` (in order) into `dir` (created if needed) as transformers does: one model.safetensors
// when their bytes total <= max_shard_bytes (or there is one tensor), else model-0000K-of-0000N.safetensors shards filled in order
// (a tensor larger than the limit gets a shard of its own) plus model.safetensors.index.json
// {"metadata": {"total_size": bytes}, "weight_map": {name: shard}}. Every file carries metadata
// {"format": "pt"}. `config` (a JSON object) is written to config.json unless it is null. Each file is
// written atomically, the index after its shards; weight files of an earlier save into the same directory
// that this layout does not use are removed afterwards so the directory never reads as a mix.
void save_hf_checkpoint(const std::string& dir, const std::vector<std::pair<std::string, Tensor>>& tensors,
                        const Json& config, uint64_t max_shard_bytes = kDefaultMaxShardBytes);

// The same layout written tensor by tensor after planning (e.g. a model generated in parallel, never whole in memory):
// shards planned as save_hf_checkpoint does, each a SafetensorsWriter with its disk space reserved up front.
class HfCheckpointWriter {
 public:
  HfCheckpointWriter(std::string dir, std::vector<TensorSpec> specs, Json config, uint64_t max_shard_bytes = kDefaultMaxShardBytes);
  ~HfCheckpointWriter();  // uncommitted: the temporary shard files are removed, the directory keeps what it had
  HfCheckpointWriter(const HfCheckpointWriter&) = delete;
  HfCheckpointWriter& operator=(const HfCheckpointWriter&) = delete;

  size_t size() const { return where_.size(); }  // tensors, in the order given
  const TensorSpec& spec(size_t i) const;
  uint64_t total_bytes() const { return total_; }  // tensor data, all shards
  const std::vector<std::string>& files() const { return files_; }  // shard file names
  // Writes n bytes at byte `offset` of tensor i's data; thread-safe.
  void write(size_t i, uint64_t offset, const void* data, size_t n);
  // Shards (fsync + rename), then the index, config.json, and removal of stale weight files of an earlier save.
  void commit();

 private:
  std::string dir_;
  Json config_;
  uint64_t total_ = 0;
  std::vector<std::unique_ptr<SafetensorsWriter>> shards_;
  std::vector<std::string> files_;
  std::vector<std::pair<size_t, size_t>> where_;  // tensor -> (shard, index within the shard)
  bool committed_ = false;
};

}  // namespace zt
