// The base model into the ZeRO engine: the checkpoint streamed unit by unit onto the engine's device
// (io/param_loader) with LoRA matrices initialised from the run's seed, the same on every rank.
#pragma once
#include <cstdint>
#include <string>

#include "dist/zero.hpp"
#include "io/param_loader.hpp"

namespace zt::train {

// Opens the Hugging Face directory `model_dir`, checks that it holds every base parameter of the engine's layout
// (shapes included), initialises the LoRA matrices from `lora_seed` (init_unit_lora; LoRA tensors in the checkpoint
// win) and loads every tensor. Returns the load's statistics (the caller logs stats.str()).
LoadStats load_base_model(dist::ZeroEngine& engine, const std::string& model_dir, uint64_t lora_seed, const LoadOptions& opt = {});

}  // namespace zt::train
