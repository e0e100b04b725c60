// config.json parsing: hub spellings old and new, defaults, and errors that name the key.
#include <gtest/gtest.h>

#include "model/config.hpp"

using namespace zt;
using namespace zt::model;

namespace {

Json base() {
  return Json{{"architectures", {"LlamaForCausalLM"}}, {"vocab_size", 128256}, {"hidden_size", 4096},
              {"intermediate_size", 14336}, {"num_hidden_layers", 32}, {"num_attention_heads", 32},
              {"num_key_value_heads", 8}, {"rms_norm_eps", 1e-5}, {"rope_theta", 500000.0}};
}

std::string error_of(const Json& j) {
  try {
    parse_model_config(j, "config.json");
  } catch (const Error& e) {
    return std::string(e.what()) + " | " + e.hint();
  }
  return "";
}

TEST(Config, Llama31LegacySpelling) {
  Json j = base();
  j["rope_scaling"] = {{"factor", 8.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                       {"original_max_position_embeddings", 8192}, {"rope_type", "llama3"}};
  ModelConfig c = parse_model_config(j, "config.json");
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.rope.type, "llama3");
  EXPECT_EQ(c.rope.theta, 500000.0);
  EXPECT_EQ(c.rope.original_max_position_embeddings, 8192);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.q_dim(), 4096);
  EXPECT_EQ(c.kv_dim(), 1024);
}

TEST(Config, NewRopeParametersSpellingAndLegacyTypeKey) {
  Json j = base();
  j.erase("rope_theta");
  j["rope_parameters"] = {{"rope_theta", 1234.0}, {"rope_type", "default"}};
  EXPECT_EQ(parse_model_config(j, "c").rope.theta, 1234.0);
  Json k = base();
  k["rope_scaling"] = {{"type", "llama3"}, {"factor", 32.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                       {"original_max_position_embeddings", 8192}};
  EXPECT_EQ(parse_model_config(k, "c").rope.factor, 32.0);
}

TEST(Config, ErrorsNameTheKey) {
  Json j = base();
  j["architectures"] = {"GPTNeoXForCausalLM"};
  EXPECT_NE(error_of(j).find("GPTNeoXForCausalLM"), std::string::npos);
  j = base();
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  EXPECT_NE(error_of(j).find("rope_type 'yarn'"), std::string::npos);
  j = base();
  j["hidden_act"] = "gelu";
  EXPECT_NE(error_of(j).find("hidden_act"), std::string::npos);
  j = base();
  j["num_key_value_heads"] = 5;
  EXPECT_NE(error_of(j).find("num_key_value_heads"), std::string::npos);
  j = base();
  j["hidden_size"] = "4096";
  EXPECT_NE(error_of(j).find("'hidden_size' must be an integer"), std::string::npos);
  j = base();
  j.erase("vocab_size");
  EXPECT_NE(error_of(j).find("vocab_size"), std::string::npos);
  Json q = base();
  q["architectures"] = {"Qwen2ForCausalLM"};
  q["use_sliding_window"] = true;
  EXPECT_NE(error_of(q).find("use_sliding_window"), std::string::npos);
}

TEST(Config, ArchitectureSpecifics) {
  Json q = base();
  q["architectures"] = {"Qwen2ForCausalLM"};
  q["tie_word_embeddings"] = true;
  ModelConfig c = parse_model_config(q, "c");
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_TRUE(c.tie_word_embeddings);
  Json m = base();
  m["architectures"] = {"MistralForCausalLM"};
  m["sliding_window"] = 4096;
  EXPECT_EQ(*parse_model_config(m, "c").sliding_window, 4096);
  Json l = base();
  l["attention_bias"] = true;
  l["mlp_bias"] = true;
  ModelConfig lc = parse_model_config(l, "c");
  EXPECT_TRUE(lc.attention_bias && lc.mlp_bias);
}

}  // namespace
