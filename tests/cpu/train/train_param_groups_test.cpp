// Tests of the DeepSpeed-Chat parameter grouping on Llama/Qwen2/OPT/GPT-2 style HF names, with LoRA.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "train/param_groups.hpp"

using namespace zt::train;

TEST(ParamGroups, ClassifiesLlamaNames) {
  EXPECT_EQ(classify_param("model.embed_tokens.weight"), GroupKind::decay);
  EXPECT_EQ(classify_param("model.layers.0.self_attn.q_proj.weight"), GroupKind::decay);
  EXPECT_EQ(classify_param("model.layers.31.mlp.down_proj.weight"), GroupKind::decay);
  EXPECT_EQ(classify_param("lm_head.weight"), GroupKind::decay);
  EXPECT_EQ(classify_param("model.layers.0.input_layernorm.weight"), GroupKind::no_decay);
  EXPECT_EQ(classify_param("model.layers.0.post_attention_layernorm.weight"), GroupKind::no_decay);
  EXPECT_EQ(classify_param("model.norm.weight"), GroupKind::no_decay);
  EXPECT_EQ(classify_param("model.layers.0.self_attn.q_proj.lora_right_weight"), GroupKind::lora);
  EXPECT_EQ(classify_param("model.layers.0.self_attn.q_proj.lora_left_weight"), GroupKind::lora);
}

TEST(ParamGroups, ClassifiesOtherFamiliesAndIgnoresCase) {
  EXPECT_EQ(classify_param("model.layers.0.self_attn.q_proj.bias"), GroupKind::no_decay);             // Qwen2
  EXPECT_EQ(classify_param("model.decoder.layers.0.self_attn_layer_norm.weight"), GroupKind::no_decay);  // OPT
  EXPECT_EQ(classify_param("model.decoder.final_layer_norm.bias"), GroupKind::no_decay);
  EXPECT_EQ(classify_param("transformer.ln_f.weight"), GroupKind::no_decay);  // GPT-2
  EXPECT_EQ(classify_param("Model.Layers.0.Input_LayerNorm.Weight"), GroupKind::no_decay);
  EXPECT_EQ(classify_param("model.layers.0.mlp.up_proj.LORA_LEFT_WEIGHT"), GroupKind::lora);
  // A LoRA name that also matches a no-decay pattern goes to no-decay: DeepSpeed-Chat's no-decay group
  // takes every such name "irrespective of lora", and its LoRA group excludes them.
  EXPECT_EQ(classify_param("model.layers.0.q_proj.bias.lora_right_weight"), GroupKind::no_decay);
  // Substrings, not whole components: "norm.weight" also catches e.g. Qwen3's q_norm.weight.
  EXPECT_EQ(classify_param("model.layers.0.self_attn.q_norm.weight"), GroupKind::no_decay);
}

TEST(ParamGroups, BuildsDeepSpeedChatGroupsInOrder) {
  const std::vector<ParamInfo> params = {
      {"model.embed_tokens.weight", false},
      {"model.layers.0.self_attn.q_proj.weight", false},  // base weight under LoRA: frozen
      {"model.layers.0.self_attn.q_proj.lora_right_weight", true},
      {"model.layers.0.self_attn.q_proj.lora_left_weight", true},
      {"model.layers.0.mlp.gate_proj.weight", true},
      {"model.layers.0.input_layernorm.weight", true},
      {"model.norm.weight", true},
      {"lm_head.weight", true},
  };
  ParamGroupConfig cfg;
  cfg.learning_rate = 1e-3;
  cfg.weight_decay = 0.1;
  cfg.lora_learning_rate = 5e-4;
  const auto groups = build_param_groups(params, cfg);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].kind, "decay");
  EXPECT_EQ(groups[0].lr, 1e-3);
  EXPECT_EQ(groups[0].weight_decay, 0.1);
  EXPECT_EQ(groups[0].params, (std::vector<int>{4, 7}));
  EXPECT_EQ(groups[1].kind, "lora");
  EXPECT_EQ(groups[1].lr, 5e-4);
  EXPECT_EQ(groups[1].weight_decay, 0.1);
  EXPECT_EQ(groups[1].params, (std::vector<int>{2, 3}));
  EXPECT_EQ(groups[2].kind, "no_decay");
  EXPECT_EQ(groups[2].lr, 1e-3);
  EXPECT_EQ(groups[2].weight_decay, 0.0);
  EXPECT_EQ(groups[2].params, (std::vector<int>{5, 6}));
}

TEST(ParamGroups, DropsEmptyGroups) {
  // --only_optimize_lora: just the LoRA group remains.
  const std::vector<ParamInfo> lora_only = {{"model.layers.0.self_attn.v_proj.weight", false},
                                            {"model.layers.0.self_attn.v_proj.lora_right_weight", true},
                                            {"model.layers.0.self_attn.v_proj.lora_left_weight", true},
                                            {"model.norm.weight", false}};
  auto g = build_param_groups(lora_only, {});
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].kind, "lora");
  EXPECT_EQ(g[0].lr, 5e-4);
  EXPECT_EQ(g[0].params, (std::vector<int>{1, 2}));
  // Full fine-tune without LoRA: decay + no_decay.
  g = build_param_groups({{"model.layers.0.mlp.up_proj.weight", true}, {"model.norm.weight", true}}, {});
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].kind, "decay");
  EXPECT_EQ(g[1].kind, "no_decay");
  // Nothing trainable: no groups (the caller reports it).
  EXPECT_TRUE(build_param_groups({{"model.norm.weight", false}}, {}).empty());
}
