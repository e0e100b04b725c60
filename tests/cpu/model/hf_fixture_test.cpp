// The CPU engine (fp32) against Hugging Face transformers/peft (float64) on tiny Llama 3.1 (GQA, llama3
// rope scaling exercised past original_max_position_embeddings), Qwen2 (q/k/v bias, tied, bf16 on disk),
// Llama 2 and Mistral: logits, loss, every parameter gradient, and LoRA-matrix gradients.
#include <gtest/gtest.h>

#include "fixture_util.hpp"
#include "io/model_io.hpp"
#include "model/batch.hpp"

using namespace zt;
using namespace zt::model;

namespace {

// Tolerances for fp32 against a float64 reference (norm-relative, per tensor).
constexpr double kLossTol = 2e-6;
constexpr double kLogitsTol = 1e-5;
constexpr double kGradTol = 1e-5;

PackedBatch fixture_batch(const test::Fixture& f) {
  return pack_padded(f.tensors.view("input_ids"), f.tensors.view("attention_mask"), f.tensors.view("labels"));
}

// Gathers the real-token rows of the fixture's padded (B, L, V) logits into the pad-free order.
Tensor real_rows(const Tensor& padded, const test::Fixture& f) {
  auto lengths = f.scalars.at("lengths").get<std::vector<int64_t>>();
  int64_t B = padded.size(0), L = padded.size(1), V = padded.size(2), T = 0;
  for (auto n : lengths) T += n;
  Tensor out = Tensor::empty({T, V}, DType::f32);
  int64_t t = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < lengths[b]; ++j, ++t)
      std::copy_n(padded.data<float>() + (b * L + j) * V, V, out.data<float>() + t * V);
  return out;
}

class HfFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(HfFixture, LogitsLossAndEveryGradient) {
  auto f = test::Fixture::open(GetParam());
  auto m = load_pretrained(test::fixture_dir(GetParam()) + "/model", LoraSpec{}, DType::f32);
  PackedBatch b = fixture_batch(f);
  Tensor logits;
  double loss = m->run(b, RunOptions{}, true, 0.0f, &logits);
  EXPECT_NEAR(loss, f.scalars.at("loss").get<double>(), kLossTol * loss);
  EXPECT_LT(test::rel_err(logits, real_rows(f.tensors.view("logits"), f)), kLogitsTol);
  int checked = 0;
  for (auto& u : m->layout().units)
    for (auto& p : u.params) {
      std::string key = "grad." + p.name;
      ASSERT_TRUE(f.tensors.contains(key)) << key;
      double e = test::rel_err(m->grad(p.name), f.tensors.view(key));
      EXPECT_LT(e, kGradTol) << p.name;
      ++checked;
    }
  EXPECT_GT(checked, 0);
  // every gradient in the fixture belongs to a model parameter
  for (auto& n : f.tensors.names())
    if (n.starts_with("grad.")) {
      EXPECT_TRUE(m->layout().find(n.substr(5)).second) << n;
    }
}

TEST_P(HfFixture, LoraGradientsMatchPeft) {
  auto f = test::Fixture::open(GetParam());
  LoraSpec lora;
  lora.dim = f.scalars.at("lora_dim").get<int>();
  lora.module_name = "model.layers.";
  auto m = load_pretrained(test::fixture_dir(GetParam()) + "/model", lora, DType::f32);
  int loaded = 0;
  for (auto& n : f.tensors.names())
    if (n.starts_with("lora.")) {
      Tensor dst = m->param(n.substr(5));
      dst.copy_from(f.tensors.view(n));
      ++loaded;
    }
  EXPECT_EQ(loaded, 2 * 7 * m->config().num_hidden_layers);  // q k v o gate up down, right + left
  double loss = m->run(fixture_batch(f), RunOptions{}, true);
  EXPECT_NEAR(loss, f.scalars.at("lora_loss").get<double>(), kLossTol * loss);
  for (auto& n : f.tensors.names())
    if (n.starts_with("lora_grad.")) {
      EXPECT_LT(test::rel_err(m->grad(n.substr(10)), f.tensors.view(n)), kGradTol) << n;
    }
}

INSTANTIATE_TEST_SUITE_P(Models, HfFixture, ::testing::Values("llama31", "qwen2", "llama2", "mistral"));

}  // namespace
