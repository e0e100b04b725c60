// load_base_model: checkpoint coverage check, then per unit LoRA init + streamed tensors, in the engine's unit order.
#include "train/base_model.hpp"

#include <random>

#include "io/model_io.hpp"
#include "model/resident.hpp"

namespace zt::train {

LoadStats load_base_model(dist::ZeroEngine& engine, const std::string& model_dir, uint64_t lora_seed, const LoadOptions& opt) {
  HfCheckpoint ckpt = HfCheckpoint::open(model_dir);
  check_checkpoint_covers(ckpt, engine.layout(), engine.config());
  const model::LoraSpec& lora = engine.model().lora();
  std::mt19937_64 lora_rng(lora_seed);
  CheckpointLoader loader(ckpt, engine.layout(), engine.device(), opt);
  engine.load([&](int u, const model::UnitParams& dst) {
    const model::UnitLayout& ul = engine.layout().units[size_t(u)];
    // The base weights stream in while this thread draws the LoRA matrices; LoRA tensors the checkpoint has are
    // queued after their initialisation (whose copies are complete when it returns), so the checkpoint wins.
    auto is_lora = [](const model::ParamInfo& p) { return p.name.ends_with(".lora_right_weight") || p.name.ends_with(".lora_left_weight"); };
    loader.queue_unit(ul, dst, [&](const model::ParamInfo& p) { return !is_lora(p); });
    model::init_unit_lora(lora, ul, dst, lora_rng);
    loader.queue_unit(ul, dst, is_lora);
    loader.fence();
  });
  return loader.finish();
}

}  // namespace zt::train
