// The step-1 loop: reproduces transformers' 5-step AdamW trajectory through the Trainer, gradient
// accumulation semantics (global micro-step count, trailing partial windows, 1/GAS scaling), and
// evaluation before training and after each epoch.
#include <gtest/gtest.h>

#include "cpu/model/fixture_util.hpp"
#include "io/model_io.hpp"
#include "train/trainer.hpp"

using namespace zt;
using namespace zt::train;

namespace {

// Samples held in memory.
struct VecSet : SampleSet {
  std::vector<std::vector<int32_t>> ids, labels;
  int64_t size() const override { return int64_t(ids.size()); }
  void get(int64_t i, std::vector<int32_t>& a, std::vector<int32_t>& b) const override {
    a = ids[size_t(i)];
    b = labels[size_t(i)];
  }
};

VecSet fixture_samples(const test::Fixture& f) {
  VecSet s;
  Tensor ids = f.tensors.view("input_ids"), labels = f.tensors.view("labels");
  auto lengths = f.scalars.at("lengths").get<std::vector<int64_t>>();
  int64_t L = ids.size(1);
  for (size_t b = 0; b < lengths.size(); ++b) {
    s.ids.emplace_back();
    s.labels.emplace_back();
    for (int64_t j = 0; j < lengths[b]; ++j) {
      s.ids.back().push_back(int32_t(ids.data<int64_t>()[b * L + j]));
      s.labels.back().push_back(int32_t(labels.data<int64_t>()[b * L + j]));
    }
  }
  return s;
}

LoopOptions fixture_options(const Json& a) {
  LoopOptions o;
  o.epochs = 1;
  o.gradient_clipping = a.at("clip").get<double>();
  o.schedule = parse_lr_schedule_type(a.at("schedule").get<std::string>());
  o.num_warmup_steps = a.at("warmup").get<int64_t>();
  o.groups = {a.at("lr").get<double>(), a.at("weight_decay").get<double>(), 5e-4};
  o.progress = false;
  return o;
}

TEST(Trainer, ReproducesTransformersTrajectory) {
  auto f = test::Fixture::open("llama31");
  const Json& a = f.scalars.at("adamw");
  auto m = load_pretrained(test::fixture_dir("llama31") + "/model", model::LoraSpec{}, DType::f32);
  VecSet s = fixture_samples(f);
  EpochPlan plan;
  for (int i = 0; i < a.at("steps").get<int>(); ++i) plan.train_batches.push_back({0, 1, 2});
  Trainer t(*m, fixture_options(a));
  LoopResult r = t.train(s, s, plan);
  auto losses = a.at("losses").get<std::vector<double>>();
  auto norms = a.at("grad_norms").get<std::vector<double>>();
  ASSERT_EQ(r.step_losses.size(), losses.size());
  for (size_t i = 0; i < losses.size(); ++i) {
    EXPECT_NEAR(r.step_losses[i], losses[i], 1e-5 * losses[i]) << i;
    EXPECT_NEAR(r.grad_norms[i], norms[i], 1e-5 * norms[i]) << i;
  }
  for (auto& u : m->layout().units)
    for (auto& p : u.params) EXPECT_LT(test::rel_err(m->param(p.name), f.tensors.view("adamw_final." + p.name)), 2e-5) << p.name;
}

TEST(Trainer, AccumulationOfIdenticalMicroBatchesEqualsOneBatch) {
  auto f = test::Fixture::open("llama2");
  const Json& a = f.scalars.at("adamw");
  VecSet s = fixture_samples(f);
  auto m1 = load_pretrained(test::fixture_dir("llama2") + "/model", model::LoraSpec{}, DType::f32);
  auto m2 = load_pretrained(test::fixture_dir("llama2") + "/model", model::LoraSpec{}, DType::f32);
  EpochPlan p1, p2;
  for (int i = 0; i < 3; ++i) {
    p1.train_batches.push_back({0, 1, 2});
    p2.train_batches.push_back({0, 1, 2});
    p2.train_batches.push_back({0, 1, 2});
  }
  LoopOptions o1 = fixture_options(a), o2 = fixture_options(a);
  o2.gradient_accumulation_steps = 2;
  LoopResult r1 = Trainer(*m1, o1).train(s, s, p1);
  LoopResult r2 = Trainer(*m2, o2).train(s, s, p2);
  EXPECT_EQ(r1.applied_steps, 3);
  EXPECT_EQ(r2.applied_steps, 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(r1.step_losses[i], r2.step_losses[i], 1e-6 * r1.step_losses[i]);
    EXPECT_NEAR(r1.grad_norms[i], r2.grad_norms[i], 1e-5 * r1.grad_norms[i]);
  }
  for (auto& u : m1->layout().units)
    for (auto& p : u.params) EXPECT_LT(test::rel_err(m2->param(p.name), m1->param(p.name)), 1e-5) << p.name;
}

TEST(Trainer, WindowsCountAcrossEpochsAndPartialWindowsAreDropped) {
  auto f = test::Fixture::open("llama2");
  VecSet s = fixture_samples(f);
  auto m = load_pretrained(test::fixture_dir("llama2") + "/model", model::LoraSpec{}, DType::f32);
  EpochPlan plan;
  plan.train_batches = {{0}, {1}, {2}};
  plan.eval_batches = {{0, 1}, {2}};
  LoopOptions o = fixture_options(f.scalars.at("adamw"));
  o.gradient_accumulation_steps = 2;
  o.epochs = 3;  // 9 micro-steps: windows end at micro-steps 2, 4, 6, 8; the 9th is left over
  Trainer t(*m, o);
  EXPECT_EQ(t.num_training_steps(3), 6);  // DeepSpeed-Chat's schedule length: epochs x ceil(3 / 2)
  LoopResult r = t.train(s, s, plan);
  EXPECT_EQ(r.micro_steps, 9);
  EXPECT_EQ(r.applied_steps, 4);
  ASSERT_EQ(r.evals.size(), 4u);  // before training and after each epoch
  EXPECT_LT(r.evals.back().loss, r.evals.front().loss);
  EXPECT_NEAR(r.evals[0].perplexity, std::exp(r.evals[0].loss), 1e-9 * r.evals[0].perplexity);
}

TEST(Trainer, OnlyLoraTrainsWhenAsked) {
  auto m = load_pretrained(test::fixture_dir("qwen2") + "/model", model::LoraSpec{4, "model.layers.", true, 0.0}, DType::f32);
  auto f = test::Fixture::open("qwen2");
  VecSet s = fixture_samples(f);
  Tensor base_before = m->param("model.layers.0.mlp.up_proj.weight").clone();
  Tensor left_before = m->param("model.layers.0.mlp.up_proj.lora_left_weight").clone();
  EpochPlan plan;
  plan.train_batches = {{0, 1, 2}, {0, 1, 2}};
  LoopOptions o = fixture_options(f.scalars.at("adamw"));
  o.num_warmup_steps = 0;
  Trainer t(*m, o);
  ASSERT_EQ(t.groups().size(), 1u);
  EXPECT_EQ(t.groups()[0].kind, "lora");
  t.train(s, s, plan);
  EXPECT_EQ(test::rel_err(m->param("model.layers.0.mlp.up_proj.weight"), base_before), 0.0);
  EXPECT_GT(test::rel_err(m->param("model.layers.0.mlp.up_proj.lora_left_weight"), left_before), 0.0);
}

}  // namespace
