// Parameter layout: which parameters exist (HF names, shapes), which carry LoRA, which train, and how
// they pack into per-unit flat buffers (one frozen, one trainable) — the shape the ZeRO engine shards.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "model/config.hpp"

namespace zt::model {

// DeepSpeed-Chat LoRA: every linear whose HF module name contains `module_name` gets rank-`dim` LoRA.
struct LoraSpec {
  int dim = 0;                                // 0 = no LoRA
  std::string module_name = "decoder.layers.";  // substring of module names, DeepSpeed-Chat's default
  bool only_optimize_lora = false;            // freeze everything but the LoRA matrices
  double dropout = 0.0;                       // dropout on the LoRA input (DeepSpeed-Chat uses 0)
  bool enabled() const { return dim > 0; }
  float scaling() const { return 1.0f / float(dim); }
};

enum class Init { normal, ones, zeros, lora_right, embedding };

struct ParamInfo {
  std::string name;      // HF name: "model.layers.3.self_attn.q_proj.weight", "...q_proj.lora_right_weight"
  Shape shape;
  bool trainable = true;
  Init init = Init::normal;
  int64_t offset = 0;    // element offset inside its class's flat buffer (frozen or trainable)
  int64_t numel() const { return shape_numel(shape); }
};

enum class UnitKind { embedding, block, head };

struct UnitLayout {
  std::string name;        // "embed", "layers.0", ..., "head"
  UnitKind kind = UnitKind::block;
  int layer = -1;          // block index for blocks
  std::vector<ParamInfo> params;
  int64_t frozen_numel = 0, trainable_numel = 0;
  const ParamInfo* find(const std::string& name) const;
};

struct ModelLayout {
  std::vector<UnitLayout> units;  // embed, layers.0 .. layers.{L-1}, head
  std::vector<std::string> lora_modules;  // HF module names that received LoRA
  int64_t total_numel() const;
  int64_t trainable_numel() const;
  // Finds a parameter by HF name; returns {unit index, info} or {-1, nullptr}.
  std::pair<int, const ParamInfo*> find(const std::string& name) const;
};

// Builds the layout for cfg + lora. With lora.enabled() and no module matching lora.module_name, fails
// with the list of module prefixes that exist (DeepSpeed-Chat silently trains nothing there).
ModelLayout make_layout(const ModelConfig& cfg, const LoraSpec& lora);

}  // namespace zt::model
