// Optimizer parameter groups as DeepSpeed-Chat's get_optimizer_grouped_parameters builds them from HF
// parameter names: [decay (non-LoRA), decay LoRA at lora_learning_rate, no-decay], empty groups dropped.
#pragma once
#include <string>
#include <vector>

namespace zt::train {

struct ParamInfo {
  std::string name;  // HF parameter name, e.g. "model.layers.0.self_attn.q_proj.weight"
  bool trainable = true;
};

struct ParamGroup {
  std::string kind;           // "decay", "lora", "no_decay" (for logs and checkpoints)
  double lr = 0.0;            // the group's base lr
  double weight_decay = 0.0;
  std::vector<int> params;    // indices into the input list, in input order
};

struct ParamGroupConfig {
  double learning_rate = 1e-3;       // --learning_rate
  double weight_decay = 0.0;         // --weight_decay
  double lora_learning_rate = 5e-4;  // --lora_learning_rate
};

// Name matching (lower-cased, substring), in DeepSpeed-Chat's order: a name containing any of "bias",
// "layer_norm.weight", "layernorm.weight", "norm.weight", "ln_f.weight" is no-decay (weight_decay 0,
// lr = learning_rate) even if it is also a LoRA name; otherwise "lora_right_weight"/"lora_left_weight" go to the
// LoRA group (weight_decay, lora_learning_rate); the rest decay at learning_rate. Frozen params are left out.
enum class GroupKind { decay, lora, no_decay };
GroupKind classify_param(const std::string& name);

std::vector<ParamGroup> build_param_groups(const std::vector<ParamInfo>& params, const ParamGroupConfig& cfg);

}  // namespace zt::train
