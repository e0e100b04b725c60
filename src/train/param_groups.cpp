// DeepSpeed-Chat parameter grouping (dschat/utils/utils.py get_optimizer_grouped_parameters) by HF names.
// The no-decay test runs first, so a LoRA name that contains "bias" lands in the no-decay group, as there.
#include "train/param_groups.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>

namespace zt::train {

namespace {
constexpr const char* kNoDecay[] = {"bias", "layer_norm.weight", "layernorm.weight", "norm.weight", "ln_f.weight"};
constexpr const char* kLora[] = {"lora_right_weight", "lora_left_weight"};

template <size_t N> bool contains_any(const std::string& s, const char* const (&subs)[N]) {
  return std::any_of(std::begin(subs), std::end(subs), [&](const char* sub) { return s.find(sub) != std::string::npos; });
}
}  // namespace

GroupKind classify_param(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (contains_any(lower, kNoDecay)) return GroupKind::no_decay;
  if (contains_any(lower, kLora)) return GroupKind::lora;
  return GroupKind::decay;
}

std::vector<ParamGroup> build_param_groups(const std::vector<ParamInfo>& params, const ParamGroupConfig& cfg) {
  ParamGroup decay{"decay", cfg.learning_rate, cfg.weight_decay, {}};
  ParamGroup lora{"lora", cfg.lora_learning_rate, cfg.weight_decay, {}};
  ParamGroup no_decay{"no_decay", cfg.learning_rate, 0.0, {}};
  for (size_t i = 0; i < params.size(); ++i) {
    if (!params[i].trainable) continue;
    switch (classify_param(params[i].name)) {
      case GroupKind::decay: decay.params.push_back(int(i)); break;
      case GroupKind::lora: lora.params.push_back(int(i)); break;
      case GroupKind::no_decay: no_decay.params.push_back(int(i)); break;
    }
  }
  std::vector<ParamGroup> out;
  for (auto* g : {&decay, &lora, &no_decay})
    if (!g->params.empty()) out.push_back(std::move(*g));
  return out;
}

}  // namespace zt::train
