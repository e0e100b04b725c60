// Model-level properties: double-precision finite differences through the whole model (LoRA, biases,
// tied head, GQA, llama3 rope), activation checkpointing is exact, packing sequences together changes
// nothing, LoRA merge on save, and config.json handling.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "fixture_util.hpp"
#include "io/model_io.hpp"
#include "model/batch.hpp"
#include "model/resident.hpp"

using namespace zt;
using namespace zt::model;

namespace {

Json tiny_config(bool tied, bool qwen) {
  Json j = {{"architectures", {qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM"}},
            {"model_type", qwen ? "qwen2" : "llama"},
            {"vocab_size", 23},
            {"hidden_size", 8},
            {"intermediate_size", 12},
            {"num_hidden_layers", 2},
            {"num_attention_heads", 4},
            {"num_key_value_heads", 2},
            {"rms_norm_eps", 1e-5},
            {"tie_word_embeddings", tied},
            {"initializer_range", 0.3},
            {"pad_token_id", 0}};
  if (!qwen)
    j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 4.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                         {"original_max_position_embeddings", 4}};
  return j;
}

PackedBatch tiny_batch(int vocab) {
  std::vector<std::vector<int32_t>> ids = {{3, 5, 7, 1, 2, 9, 11}, {4, 4, 8}, {13, 2, 6, 15, 1}};
  std::vector<std::vector<int32_t>> labels = ids;
  labels[0][2] = -100;
  for (auto& s : ids)
    for (auto& t : s) t %= vocab;
  return pack_sequences(ids, labels);
}

// Central differences in double on a sample of every parameter's elements.
void gradcheck(bool tied, bool qwen, int lora_dim, bool ckpt) {
  ModelConfig cfg = parse_model_config(tiny_config(tied, qwen), "tiny");
  LoraSpec lora;
  lora.dim = lora_dim;
  lora.module_name = "model.layers.";
  ResidentModel m(cfg, lora, DType::f64);
  m.init_random(7);
  if (lora_dim) {  // non-zero left matrices so both LoRA factors get gradients
    std::mt19937 rng(3);
    std::normal_distribution<double> nd(0, 0.3);
    for (auto& u : m.layout().units)
      for (auto& p : u.params)
        if (p.name.ends_with("lora_left_weight")) {
          Tensor t = m.param(p.name);
          for (int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = nd(rng);
        }
  }
  PackedBatch b = tiny_batch(int(cfg.vocab_size));
  RunOptions opt;
  opt.gradient_checkpointing = ckpt;
  m.zero_grad();
  m.run(b, opt, true);
  std::mt19937 pick(11);
  int checked = 0;
  for (auto& u : m.layout().units)
    for (auto& p : u.params) {
      if (!p.trainable) continue;
      Tensor w = m.param(p.name), g = m.grad(p.name);
      for (int k = 0; k < 4; ++k) {
        int64_t i = std::uniform_int_distribution<int64_t>(0, w.numel() - 1)(pick);
        double* x = w.data<double>() + i;
        const double h = 1e-6, x0 = *x;
        *x = x0 + h;
        double lp = m.run(b, opt, false);
        *x = x0 - h;
        double lm = m.run(b, opt, false);
        *x = x0;
        double fd = (lp - lm) / (2 * h), an = g.data<double>()[i];
        EXPECT_NEAR(an, fd, 1e-7 + 1e-5 * std::fabs(fd)) << p.name << "[" << i << "]";
        ++checked;
      }
    }
  EXPECT_GT(checked, 40);
}

TEST(ModelGradcheck, LlamaGqaLlama3Rope) { gradcheck(false, false, 0, false); }
TEST(ModelGradcheck, Qwen2TiedBiasesWithLora) { gradcheck(true, true, 3, false); }
TEST(ModelGradcheck, LoraWithCheckpointing) { gradcheck(false, false, 2, true); }

std::vector<float> flat_grads(ResidentModel& m) {
  std::vector<float> out;
  for (auto& u : m.layout().units)
    for (auto& p : u.params)
      if (p.trainable) {
        Tensor g = m.grad(p.name);
        out.insert(out.end(), g.data<float>(), g.data<float>() + g.numel());
      }
  return out;
}

TEST(Model, CheckpointingGivesIdenticalResults) {
  auto m = load_pretrained(test::fixture_dir("llama31") + "/model", LoraSpec{4, "model.layers.", false, 0.0}, DType::f32);
  m->init_lora(5);
  // make LoRA left non-zero so that LoRA paths matter
  for (auto& mod : m->layout().lora_modules) m->param(mod + ".lora_left_weight").fill(0.01);
  PackedBatch b = tiny_batch(160);
  RunOptions plain, ck;
  ck.gradient_checkpointing = true;
  m->zero_grad();
  double l1 = m->run(b, plain, true);
  auto g1 = flat_grads(*m);
  m->zero_grad();
  double l2 = m->run(b, ck, true);
  auto g2 = flat_grads(*m);
  EXPECT_EQ(l1, l2);
  ASSERT_EQ(g1.size(), g2.size());
  EXPECT_EQ(0, std::memcmp(g1.data(), g2.data(), g1.size() * sizeof(float)));
}

TEST(Model, PackingSequencesTogetherChangesNothing) {
  auto m = load_pretrained(test::fixture_dir("llama31") + "/model", LoraSpec{}, DType::f32);
  std::vector<std::vector<int32_t>> seqs = {{5, 6, 7, 8, 9, 10, 40, 41, 42, 43, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59,
                                             60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75},
                                            {100, 3, 4}, {11, 12, 13, 14, 15, 16, 17}};
  // all together, summed loss (grad_scale 1)
  m->zero_grad();
  PackedBatch all = pack_sequences(seqs, {});
  double mean = m->run(all, RunOptions{}, true, 1.0f);
  double sum_all = mean * double(all.num_targets);
  auto g_all = flat_grads(*m);
  // one at a time, accumulated
  m->zero_grad();
  double sum_each = 0;
  for (auto& s : seqs) {
    PackedBatch one = pack_sequences({s}, {});
    sum_each += m->run(one, RunOptions{}, true, 1.0f) * double(one.num_targets);
  }
  auto g_each = flat_grads(*m);
  EXPECT_NEAR(sum_all, sum_each, 1e-5 * std::fabs(sum_all));
  double num = 0, den = 0;
  for (size_t i = 0; i < g_all.size(); ++i) num += double(g_all[i] - g_each[i]) * (g_all[i] - g_each[i]), den += double(g_all[i]) * g_all[i];
  EXPECT_LT(std::sqrt(num / den), 1e-5);
}

TEST(Model, SaveMergesLoraAndReloads) {
  LoraSpec lora{4, "model.layers.", false, 0.0};
  auto m = load_pretrained(test::fixture_dir("qwen2") + "/model", lora, DType::f32);
  for (auto& mod : m->layout().lora_modules) m->param(mod + ".lora_left_weight").fill(0.05);
  PackedBatch b = tiny_batch(160);
  double with_lora = m->run(b, RunOptions{}, false);
  auto dir = std::filesystem::temp_directory_path() / ("zt_merge_" + std::to_string(::getpid()));
  save_pretrained(*m, dir.string(), DType::f32);
  EXPECT_TRUE(std::filesystem::exists(dir / "config.json"));
  HfCheckpoint ck = HfCheckpoint::open(dir.string());
  for (auto& n : ck.names()) EXPECT_EQ(n.find("lora"), std::string::npos) << n;
  EXPECT_FALSE(ck.contains("lm_head.weight"));  // tied
  auto merged = load_pretrained(dir.string(), LoraSpec{}, DType::f32);
  double reloaded = merged->run(b, RunOptions{}, false);
  EXPECT_NEAR(with_lora, reloaded, 1e-5 * with_lora);
  EXPECT_GT(std::fabs(with_lora - load_pretrained(test::fixture_dir("qwen2") + "/model", LoraSpec{}, DType::f32)
                                      ->run(b, RunOptions{}, false)),
            1e-4);  // the LoRA really changed the function
  std::filesystem::remove_all(dir);
}

TEST(Model, LoraModuleNameMatchingNothingIsAnError) {
  ModelConfig cfg = parse_model_config(tiny_config(false, false), "tiny");
  try {
    make_layout(cfg, LoraSpec{8, "decoder.layers.", false, 0.0});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("decoder.layers."), std::string::npos);
    EXPECT_NE(e.hint().find("model.layers."), std::string::npos);
  }
  // DeepSpeed-Chat semantics: LoRA-wrapped weights frozen, their biases and the rest trainable.
  ModelConfig q = parse_model_config(tiny_config(true, true), "tiny");
  ModelLayout l = make_layout(q, LoraSpec{2, "self_attn.q_proj", false, 0.0});
  EXPECT_FALSE(l.find("model.layers.0.self_attn.q_proj.weight").second->trainable);
  EXPECT_TRUE(l.find("model.layers.0.self_attn.q_proj.bias").second->trainable);
  EXPECT_TRUE(l.find("model.layers.0.self_attn.k_proj.weight").second->trainable);
  EXPECT_EQ(l.lora_modules.size(), 2u);
  ModelLayout only = make_layout(q, LoraSpec{2, "model.layers.", true, 0.0});
  for (auto& u : only.units)
    for (auto& p : u.params) EXPECT_EQ(p.trainable, p.name.find("lora_") != std::string::npos) << p.name;
}

TEST(Model, SlidingWindowExceededIsAnError) {
  auto m = load_pretrained(test::fixture_dir("mistral") + "/model", LoraSpec{}, DType::f32);
  std::vector<int32_t> long_seq(65, 5);
  EXPECT_THROW(m->run(pack_sequences({long_seq}, {}), RunOptions{}, false), Error);
  std::vector<int32_t> ok_seq(64, 5);
  EXPECT_NO_THROW(m->run(pack_sequences({ok_seq}, {}), RunOptions{}, false));
}

TEST(Model, InitRandomFollowsTransformers) {
  ModelConfig cfg = parse_model_config(tiny_config(false, false), "tiny");
  cfg.vocab_size = 2000;
  cfg.hidden_size = 64;
  cfg.head_dim = 16;
  ResidentModel m(cfg, LoraSpec{}, DType::f32);
  m.init_random(1);
  Tensor e = m.param("model.embed_tokens.weight");
  double s2 = 0;
  for (int64_t i = 64; i < e.numel(); ++i) s2 += double(e.data<float>()[i]) * e.data<float>()[i];
  EXPECT_NEAR(std::sqrt(s2 / double(e.numel() - 64)), 0.3, 0.01);
  for (int j = 0; j < 64; ++j) EXPECT_EQ(e.data<float>()[j], 0.0f);  // padding_idx 0 row
  Tensor n = m.param("model.norm.weight");
  for (int64_t i = 0; i < n.numel(); ++i) EXPECT_EQ(n.data<float>()[i], 1.0f);
}

}  // namespace
