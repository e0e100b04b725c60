// ModelConfig: the architecture facts zerotune needs, read from a Hugging Face config.json as the hub
// writes it (legacy rope_theta/rope_scaling and the newer rope_parameters spellings alike).
#pragma once
#include <optional>
#include <string>

#include "core/json.hpp"
#include "ops/rope.hpp"

namespace zt::model {

enum class Arch { llama, mistral, qwen2 };
const char* arch_name(Arch a);  // the HF architectures[] name, e.g. "LlamaForCausalLM"

struct ModelConfig {
  Arch arch = Arch::llama;
  std::string model_type;             // "llama", "mistral", "qwen2"
  int64_t vocab_size = 0;             // rows of embed_tokens / lm_head
  int64_t hidden_size = 0;            // C
  int64_t intermediate_size = 0;      // F (MLP width)
  int num_hidden_layers = 0;          // decoder blocks
  int num_attention_heads = 0;        // Hq
  int num_key_value_heads = 0;        // Hkv (GQA when < Hq)
  int head_dim = 0;                   // D (hidden_size / Hq unless given)
  double rms_norm_eps = 1e-6;
  ops::RopeConfig rope;               // theta, type, llama3 factors
  int64_t max_position_embeddings = 0;
  bool tie_word_embeddings = false;   // lm_head shares embed_tokens.weight
  bool attention_bias = false;        // bias on q/k/v/o (Llama attention_bias)
  bool qkv_bias = false;              // bias on q/k/v only (Qwen2)
  bool mlp_bias = false;              // bias on gate/up/down (Llama mlp_bias)
  double attention_dropout = 0.0;     // dropout on attention probabilities (training only)
  std::optional<int64_t> sliding_window;  // Mistral: sequences longer than this are refused
  double initializer_range = 0.02;    // std of transformers' normal init
  std::optional<int64_t> pad_token_id, bos_token_id, eos_token_id;
  std::string torch_dtype = "float32";  // dtype the checkpoint was saved in ("dtype"/"torch_dtype")
  Json raw;                           // the whole config.json, written back on save

  int64_t q_dim() const { return int64_t(num_attention_heads) * head_dim; }
  int64_t kv_dim() const { return int64_t(num_key_value_heads) * head_dim; }
};

// Parses config.json text; `source` names the file in errors. Unknown architectures and unsupported values
// (hidden_act other than silu, rope types other than default/llama3, ...) are errors naming the key.
ModelConfig parse_model_config(const Json& j, const std::string& source);
ModelConfig load_model_config(const std::string& dir_or_file);

// Applies DeepSpeed-Chat's --dropout: overrides the dropout fields this architecture has.
void override_dropout(ModelConfig& cfg, double p);

}  // namespace zt::model
