// Llama-family parameter inventory and its packing into per-unit flat buffers.
#include "model/layout.hpp"

#include <set>

#include "core/error.hpp"

namespace zt::model {

const ParamInfo* UnitLayout::find(const std::string& n) const {
  for (auto& p : params)
    if (p.name == n) return &p;
  return nullptr;
}

int64_t ModelLayout::total_numel() const {
  int64_t n = 0;
  for (auto& u : units) n += u.frozen_numel + u.trainable_numel;
  return n;
}

int64_t ModelLayout::trainable_numel() const {
  int64_t n = 0;
  for (auto& u : units) n += u.trainable_numel;
  return n;
}

std::pair<int, const ParamInfo*> ModelLayout::find(const std::string& n) const {
  for (size_t i = 0; i < units.size(); ++i)
    if (auto* p = units[i].find(n)) return {int(i), p};
  return {-1, nullptr};
}

namespace {

struct Builder {
  const LoraSpec& lora;
  std::vector<std::string>* lora_modules;
  std::set<std::string>* all_linears;

  void add(UnitLayout& u, std::string name, Shape shape, Init init, bool trainable = true) {
    if (lora.only_optimize_lora) trainable = false;
    u.params.push_back({std::move(name), std::move(shape), trainable, init, 0});
  }
  // A linear module `mod` (HF module name) with weight (out, in) and optional bias.
  void linear(UnitLayout& u, const std::string& mod, int64_t out, int64_t in, bool bias) {
    all_linears->insert(mod);
    bool has_lora = lora.enabled() && mod.find(lora.module_name) != std::string::npos;
    // DeepSpeed-Chat freezes the wrapped linear's weight even without --only_optimize_lora; its bias trains.
    add(u, mod + ".weight", {out, in}, Init::normal, !has_lora);
    if (bias) add(u, mod + ".bias", {out}, Init::zeros);
    if (has_lora) {
      lora_modules->push_back(mod);
      u.params.push_back({mod + ".lora_right_weight", {in, lora.dim}, true, Init::lora_right, 0});
      u.params.push_back({mod + ".lora_left_weight", {lora.dim, out}, true, Init::zeros, 0});
    }
  }
};

void pack(UnitLayout& u) {
  for (auto& p : u.params) {
    int64_t& acc = p.trainable ? u.trainable_numel : u.frozen_numel;
    p.offset = acc;
    acc += p.numel();
  }
}

}  // namespace

ModelLayout make_layout(const ModelConfig& c, const LoraSpec& lora) {
  check(!lora.enabled() || lora.dim > 0, "--lora_dim must be positive");
  ModelLayout m;
  std::set<std::string> linears;
  Builder b{lora, &m.lora_modules, &linears};
  const int64_t C = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;

  UnitLayout emb{"embed", UnitKind::embedding, -1, {}, 0, 0};
  b.add(emb, "model.embed_tokens.weight", {V, C}, Init::embedding);
  m.units.push_back(std::move(emb));

  const bool qkv_bias = c.attention_bias || c.qkv_bias;
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    UnitLayout u{"layers." + std::to_string(l), UnitKind::block, l, {}, 0, 0};
    b.add(u, p + "input_layernorm.weight", {C}, Init::ones);
    b.linear(u, p + "self_attn.q_proj", c.q_dim(), C, qkv_bias);
    b.linear(u, p + "self_attn.k_proj", c.kv_dim(), C, qkv_bias);
    b.linear(u, p + "self_attn.v_proj", c.kv_dim(), C, qkv_bias);
    b.linear(u, p + "self_attn.o_proj", C, c.q_dim(), c.attention_bias);
    b.add(u, p + "post_attention_layernorm.weight", {C}, Init::ones);
    b.linear(u, p + "mlp.gate_proj", F, C, c.mlp_bias);
    b.linear(u, p + "mlp.up_proj", F, C, c.mlp_bias);
    b.linear(u, p + "mlp.down_proj", C, F, c.mlp_bias);
    m.units.push_back(std::move(u));
  }

  UnitLayout head{"head", UnitKind::head, -1, {}, 0, 0};
  b.add(head, "model.norm.weight", {C}, Init::ones);
  if (!c.tie_word_embeddings) b.linear(head, "lm_head", V, C, false);
  m.units.push_back(std::move(head));

  if (lora.enabled() && m.lora_modules.empty()) {
    std::set<std::string> prefixes;
    for (auto& n : linears) {
      auto pos = n.find("layers.");
      prefixes.insert(pos == std::string::npos ? n : n.substr(0, pos + 7));
    }
    std::string list;
    for (auto& p : prefixes) list += (list.empty() ? "" : ", ") + p;
    fail("--lora_module_name '" + lora.module_name + "' matches no linear layer of this " + arch_name(c.arch) +
             " model, so LoRA would train nothing",
         "module names here start with: " + list + " (e.g. --lora_module_name model.layers.)");
  }
  for (auto& u : m.units) pack(u);
  return m;
}

}  // namespace zt::model
