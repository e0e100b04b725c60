// The preset table: each entry a function producing a complete config.json object.
#include "model/presets.hpp"

#include "core/error.hpp"

namespace zt::model {

Json llama3_8b_config(int layers) {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"vocab_size", 128256},
          {"hidden_size", 4096},
          {"intermediate_size", 14336},
          {"num_hidden_layers", layers},
          {"num_attention_heads", 32},
          {"num_key_value_heads", 8},
          {"hidden_act", "silu"},
          {"max_position_embeddings", 8192},
          {"rope_theta", 500000.0},
          {"rms_norm_eps", 1e-5},
          {"initializer_range", 0.02},
          {"attention_bias", false},
          {"mlp_bias", false},
          {"tie_word_embeddings", false},
          {"bos_token_id", 128000},
          {"eos_token_id", 128001},
          {"torch_dtype", "bfloat16"}};
}

std::vector<std::string> preset_names() { return {"llama3-8b"}; }

Json preset_config(const std::string& name) {
  if (name == "llama3-8b") return llama3_8b_config();
  std::string names;
  for (const auto& n : preset_names()) names += (names.empty() ? "" : ", ") + n;
  fail("no model preset named '" + name + "'", "presets: " + names + " (or pass --config with a config.json)");
}

}  // namespace zt::model
