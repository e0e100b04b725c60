// Built-in model shapes as Hugging Face config.json objects: what `zerotune init --preset` writes and what
// `zerotune bench` times when no config.json is given, so that both describe the same model.
#pragma once
#include <string>
#include <vector>

#include "core/json.hpp"

namespace zt::model {

// meta-llama/Meta-Llama-3-8B's config.json (32 layers, vocab 128256, GQA 32/8, rope_theta 500000 without rope
// scaling, untied head, bf16; 8.03 B parameters), with `layers` decoder blocks.
Json llama3_8b_config(int layers = 32);

// The names preset_config() knows ("llama3-8b").
std::vector<std::string> preset_names();
// The config of a named preset; fails listing the names.
Json preset_config(const std::string& name);

}  // namespace zt::model
