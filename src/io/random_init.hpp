// A randomly initialised hub-format checkpoint written without ever holding the model: tensors generated block by
// block (model/init.hpp) by worker threads and written straight into their place in the shards, in the output dtype.
#pragma once
#include <cstdint>
#include <string>

#include "core/dtype.hpp"
#include "io/hf_checkpoint.hpp"
#include "model/config.hpp"

namespace zt {

struct RandomInitOptions {
  uint64_t seed = 1234;
  DType dtype = DType::bf16;  // of the written tensors (f32, bf16 or f16)
  int threads = 0;            // 0: every hardware thread; the bytes written do not depend on it
  bool progress = true;       // bar / lines on stderr
  uint64_t max_shard_bytes = kDefaultMaxShardBytes;
};

struct RandomInitStats {
  size_t tensors = 0, shards = 0;
  int64_t parameters = 0;
  uint64_t bytes = 0;  // tensor data written
  double seconds = 0;  // generation and writing, fsync included
};

// Writes config.json (cfg.raw with dtype/torch_dtype set) and the weights of every base parameter of `cfg` (the
// names and order save_pretrained uses; no lm_head for tied models) into `dir`, sharded as transformers does.
RandomInitStats write_random_checkpoint(const model::ModelConfig& cfg, const std::string& dir, const RandomInitOptions& opt);

}  // namespace zt
