// config.json parsing for the Llama family (Llama 2/3/3.x, Mistral, Qwen2).
#include "model/config.hpp"

#include <filesystem>

#include "core/error.hpp"
#include "core/log.hpp"

namespace zt::model {

const char* arch_name(Arch a) {
  switch (a) {
    case Arch::llama: return "LlamaForCausalLM";
    case Arch::mistral: return "MistralForCausalLM";
    case Arch::qwen2: return "Qwen2ForCausalLM";
  }
  return "?";
}

static Arch parse_arch(const Json& j, const std::string& src) {
  std::string name;
  if (auto it = j.find("architectures"); it != j.end() && it->is_array() && !it->empty()) {
    check((*it)[0].is_string(), src + ": 'architectures' must be a list of strings");
    name = (*it)[0].get<std::string>();
  } else {
    auto mt = json_opt_string(j, "model_type", src);
    check(mt.has_value(), src + ": neither 'architectures' nor 'model_type' is set", "is this a Hugging Face config.json?");
    if (*mt == "llama") name = "LlamaForCausalLM";
    else if (*mt == "mistral") name = "MistralForCausalLM";
    else if (*mt == "qwen2") name = "Qwen2ForCausalLM";
    else name = *mt;
  }
  if (name == "LlamaForCausalLM") return Arch::llama;
  if (name == "MistralForCausalLM") return Arch::mistral;
  if (name == "Qwen2ForCausalLM") return Arch::qwen2;
  fail(src + ": architecture '" + name + "' is not supported",
       "supported: LlamaForCausalLM (Llama 2, 3, 3.1, 3.2), MistralForCausalLM, Qwen2ForCausalLM");
}

// rope settings live in rope_theta + rope_scaling (transformers <= 4.x) or rope_parameters (5.x).
static void parse_rope(ModelConfig& c, const Json& j, const std::string& src) {
  c.rope.head_dim = c.head_dim;
  c.rope.theta = json_opt_number(j, "rope_theta", src).value_or(10000.0);
  const Json* rs = nullptr;
  std::string key;
  for (const char* k : {"rope_parameters", "rope_scaling"}) {
    auto it = j.find(k);
    if (it != j.end() && !it->is_null()) {
      check(it->is_object(), src + ": '" + k + "' must be an object");
      rs = &*it;
      key = k;
      break;
    }
  }
  if (!rs) return;
  std::string where = src + " " + key;
  if (auto t = json_opt_number(*rs, "rope_theta", where)) c.rope.theta = *t;
  std::string type = json_opt_string(*rs, "rope_type", where).value_or(json_opt_string(*rs, "type", where).value_or("default"));
  if (type == "default") {
    c.rope.type = "default";
  } else if (type == "llama3") {
    c.rope.type = "llama3";
    c.rope.factor = json_number(*rs, "factor", where);
    c.rope.low_freq_factor = json_number(*rs, "low_freq_factor", where);
    c.rope.high_freq_factor = json_number(*rs, "high_freq_factor", where);
    c.rope.original_max_position_embeddings = json_int(*rs, "original_max_position_embeddings", where);
    check(c.rope.factor > 0 && c.rope.low_freq_factor > 0 && c.rope.high_freq_factor > c.rope.low_freq_factor,
          where + ": llama3 rope needs factor > 0 and high_freq_factor > low_freq_factor > 0");
  } else {
    fail(where + ".rope_type '" + type + "' is not supported", "supported rope types: default, llama3");
  }
}

ModelConfig parse_model_config(const Json& j, const std::string& src) {
  check(j.is_object(), src + ": expected a JSON object");
  ModelConfig c;
  c.raw = j;
  c.arch = parse_arch(j, src);
  c.model_type = json_opt_string(j, "model_type", src).value_or("");
  c.vocab_size = json_int(j, "vocab_size", src);
  c.hidden_size = json_int(j, "hidden_size", src);
  c.intermediate_size = json_int(j, "intermediate_size", src);
  c.num_hidden_layers = int(json_int(j, "num_hidden_layers", src));
  c.num_attention_heads = int(json_int(j, "num_attention_heads", src));
  c.num_key_value_heads = int(json_opt_int(j, "num_key_value_heads", src).value_or(c.num_attention_heads));
  check(c.vocab_size > 0 && c.hidden_size > 0 && c.intermediate_size > 0 && c.num_hidden_layers > 0 &&
            c.num_attention_heads > 0 && c.num_key_value_heads > 0,
        src + ": vocab_size, hidden_size, intermediate_size, num_hidden_layers and the head counts must be positive");
  check(c.num_attention_heads % c.num_key_value_heads == 0,
        src + ": num_attention_heads (" + std::to_string(c.num_attention_heads) + ") must be a multiple of num_key_value_heads (" +
            std::to_string(c.num_key_value_heads) + ")");
  auto hd = json_opt_int(j, "head_dim", src);
  if (hd) {
    c.head_dim = int(*hd);
  } else {
    check(c.hidden_size % c.num_attention_heads == 0, src + ": hidden_size is not a multiple of num_attention_heads and no head_dim is given");
    c.head_dim = int(c.hidden_size / c.num_attention_heads);
  }
  check(c.head_dim > 0 && c.head_dim % 2 == 0, src + ": head_dim must be positive and even for rotary embeddings");
  c.rms_norm_eps = json_opt_number(j, "rms_norm_eps", src).value_or(1e-6);
  c.max_position_embeddings = json_opt_int(j, "max_position_embeddings", src).value_or(0);
  c.tie_word_embeddings = json_opt_bool(j, "tie_word_embeddings", false, src);
  c.initializer_range = json_opt_number(j, "initializer_range", src).value_or(0.02);
  c.attention_dropout = json_opt_number(j, "attention_dropout", src).value_or(0.0);
  check(c.attention_dropout >= 0 && c.attention_dropout < 1, src + ": attention_dropout must be in [0, 1)");
  c.pad_token_id = json_opt_int(j, "pad_token_id", src);
  c.bos_token_id = json_opt_int(j, "bos_token_id", src);
  c.eos_token_id = json_opt_int(j, "eos_token_id", src);
  c.torch_dtype = json_opt_string(j, "dtype", src).value_or(json_opt_string(j, "torch_dtype", src).value_or("float32"));

  std::string act = json_opt_string(j, "hidden_act", src).value_or("silu");
  check(act == "silu", src + ": hidden_act '" + act + "' is not supported", "the Llama family uses silu (SwiGLU)");
  if (auto tp = json_opt_int(j, "pretraining_tp", src); tp && *tp != 1)
    log::warn_once("pretraining_tp", src + ": pretraining_tp = " + std::to_string(*tp) +
                                         " is a tensor-parallel slicing of the same computation; zerotune computes it unsliced");

  switch (c.arch) {
    case Arch::llama:
      c.attention_bias = json_opt_bool(j, "attention_bias", false, src);
      c.mlp_bias = json_opt_bool(j, "mlp_bias", false, src);
      break;
    case Arch::mistral:
      c.sliding_window = json_opt_int(j, "sliding_window", src);
      break;
    case Arch::qwen2:
      c.qkv_bias = true;
      if (json_opt_bool(j, "use_sliding_window", false, src))
        fail(src + ": use_sliding_window = true is not supported", "set use_sliding_window to false (Qwen2 checkpoints ship it off)");
      break;
  }
  parse_rope(c, j, src);
  return c;
}

ModelConfig load_model_config(const std::string& path) {
  namespace fs = std::filesystem;
  std::string file = fs::is_directory(path) ? (fs::path(path) / "config.json").string() : path;
  check(fs::exists(file), "no config.json at " + file, "--model_name_or_path must be a local Hugging Face model directory");
  return parse_model_config(load_json_file(file), file);
}

void override_dropout(ModelConfig& cfg, double p) {
  check(p >= 0 && p < 1, "--dropout must be in [0, 1), got " + std::to_string(p));
  cfg.attention_dropout = p;
  cfg.raw["attention_dropout"] = p;
}

}  // namespace zt::model
