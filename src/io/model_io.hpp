// Loading a ResidentModel's parameters from a Hugging Face model directory and saving it back as one,
// with LoRA merged into the base weights (DeepSpeed-Chat's save) and tensor names as transformers uses.
#pragma once
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

// Writes `m` as a hub-format directory in `dtype`: LoRA merged (W += scaling * left^T right^T) and LoRA
// tensors dropped; lm_head omitted for tied models; config.json with torch_dtype/dtype updated.
void save_pretrained(const model::ResidentModel& m, const std::string& dir, DType dtype,
                     uint64_t max_shard_bytes = kDefaultMaxShardBytes);

}  // namespace zt
