// Five AdamW steps of full fine-tuning against transformers + torch.optim.AdamW (float64 reference):
// DeepSpeed-Chat parameter groups, betas (0.9, 0.95), eps 1e-8, weight decay 0.1, cosine schedule with
// warmup, global-norm clipping at 1.0. Checks per-step losses, gradient norms, lrs and the final weights.
#include <gtest/gtest.h>

#include "cpu/model/fixture_util.hpp"
#include "io/model_io.hpp"
#include "model/batch.hpp"
#include "train/grad_clip.hpp"
#include "train/lr_schedule.hpp"
#include "train/optimizer.hpp"
#include "train/param_groups.hpp"

using namespace zt;

namespace {

class AdamWTrajectory : public ::testing::TestWithParam<std::string> {};

TEST_P(AdamWTrajectory, MatchesTransformers) {
  auto f = test::Fixture::open(GetParam());
  const Json& a = f.scalars.at("adamw");
  auto m = load_pretrained(test::fixture_dir(GetParam()) + "/model", model::LoraSpec{}, DType::f32);
  model::PackedBatch b =
      model::pack_padded(f.tensors.view("input_ids"), f.tensors.view("attention_mask"), f.tensors.view("labels"));

  // Parameter groups in DeepSpeed-Chat's way, over the model's trainable parameters.
  std::vector<train::ParamInfo> infos;
  std::vector<std::string> names;
  for (auto& u : m->layout().units)
    for (auto& p : u.params) {
      infos.push_back({p.name, p.trainable});
      names.push_back(p.name);
    }
  train::ParamGroupConfig gc{a.at("lr").get<double>(), a.at("weight_decay").get<double>(), 5e-4};
  auto groups = train::build_param_groups(infos, gc);
  std::vector<double> wds, base_lrs;
  for (auto& g : groups) wds.push_back(g.weight_decay), base_lrs.push_back(g.lr);
  train::Optimizer opt(wds, train::AdamConfig{0.9, 0.95, 1e-8});
  std::vector<Tensor> grads;
  for (size_t gi = 0; gi < groups.size(); ++gi)
    for (int pi : groups[gi].params) {
      opt.add_param(int(gi), m->param(names[pi]), m->grad(names[pi]), names[pi]);
      grads.push_back(m->grad(names[pi]));
    }
  const int steps = a.at("steps").get<int>(), warm = a.at("warmup").get<int>();
  train::LrScheduler sched(train::parse_lr_schedule_type(a.at("schedule").get<std::string>()), warm, steps, base_lrs,
                           gc.learning_rate);
  auto losses = a.at("losses").get<std::vector<double>>();
  auto norms = a.at("grad_norms").get<std::vector<double>>();
  auto lrs = a.at("lrs").get<std::vector<double>>();
  for (int s = 0; s < steps; ++s) {
    m->zero_grad();
    double loss = m->run(b, model::RunOptions{}, true);
    EXPECT_NEAR(loss, losses[s], 1e-5 * losses[s]) << "step " << s;
    double norm = train::clip_grad_norm(grads, a.at("clip").get<double>());
    EXPECT_NEAR(norm, norms[s], 1e-5 * norms[s]) << "step " << s;
    EXPECT_NEAR(sched.lr(0), lrs[s], 1e-12) << "step " << s;
    opt.step(sched.lrs());
    sched.step();
  }
  int compared = 0;
  for (auto& n : names) {
    double e = test::rel_err(m->param(n), f.tensors.view("adamw_final." + n));
    // Ill-conditioned for Adam: with rope_theta 1e6 the slowest rotary pairs barely turn over 48 positions,
    // so some k_proj.bias gradient elements are ~1e-7 (vs ~1e-2 typical) and fp32 rounding decides their
    // sign, which Adam turns into full-size steps. Everything else must match to fp32 precision.
    const bool ill = n.ends_with("self_attn.k_proj.bias");
    EXPECT_LT(e, ill ? 1e-2 : 2e-5) << n;
    ++compared;
  }
  EXPECT_EQ(compared, int(names.size()));
}

INSTANTIATE_TEST_SUITE_P(Models, AdamWTrajectory, ::testing::Values("llama31", "qwen2", "llama2", "mistral"));

}  // namespace
