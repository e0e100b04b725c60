// Loading a ResidentModel's parameters from a Hugging Face model directory and saving it back as one,
// with LoRA merged into the base weights (DeepSpeed-Chat's save) and tensor names as transformers uses.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "io/hf_checkpoint.hpp"
#include "model/resident.hpp"

namespace zt {

// Reads config.json of `dir`, builds the model and fills every base parameter from the checkpoint
// (converting dtypes). Missing tensors are an error listing them; tensors the model does not use are
// listed in a warning. LoRA matrices are initialised with `lora_seed` unless the checkpoint has them.
std::unique_ptr<model::ResidentModel> load_pretrained(const std::string& dir, const model::LoraSpec& lora, DType dtype,
                                                      uint64_t lora_seed = 1234, Device dev = Device::CPU());

// Copies every parameter present in `ckpt` into `m`; returns the number of tensors loaded.
size_t load_parameters(model::ResidentModel& m, const HfCheckpoint& ckpt, bool require_all_base);

// The same per unit, for owners of other parameter storage (the ZeRO engine's staging):
// every base parameter of `layout` present with the right shape, else an error listing what is missing; unused
// checkpoint tensors in a warning.
void check_checkpoint_covers(const HfCheckpoint& ckpt, const model::ModelLayout& layout, const model::ModelConfig& cfg);
// Copies unit `u`'s parameters found in `ckpt` into `dst` (converting dtypes); returns how many.
size_t load_unit_parameters(const HfCheckpoint& ckpt, const model::UnitLayout& u, const model::UnitParams& dst);

// config.json's name of a dtype ("float32", "bfloat16", "float16"); fails for other dtypes.
const char* torch_dtype_name(DType t);

// Writes a hub-format directory from parameters fetched by name (`param` returns any dtype/device): LoRA merged
// and dropped, lm_head omitted for tied models, config.json with torch_dtype/dtype set.
void save_pretrained(const model::ModelConfig& cfg, const model::ModelLayout& layout, const model::LoraSpec& lora,
                     const std::function<Tensor(const std::string&)>& param, const std::string& dir, DType dtype,
                     uint64_t max_shard_bytes = kDefaultMaxShardBytes);

// Writes `m` as a hub-format directory in `dtype`: LoRA merged (W += scaling * left^T right^T) and LoRA
// tensors dropped; lm_head omitted for tied models; config.json with torch_dtype/dtype updated.
void save_pretrained(const model::ResidentModel& m, const std::string& dir, DType dtype,
                     uint64_t max_shard_bytes = kDefaultMaxShardBytes);

}  // namespace zt
