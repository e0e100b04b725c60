// Tests of ops::adamw_step and the grouped train::Optimizer against a scalar double re-implementation of
// DeepSpeed FusedAdam (adam_w_mode), plus the gradient-accumulation cadence.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "ops/optim.hpp"
#include "train/optimizer.hpp"

using namespace zt;

namespace {

struct RefAdam {  // one parameter's state, all in double
  std::vector<double> p, m, v;
  void step(const std::vector<double>& g, double lr, double b1, double b2, double eps, double wd, int64_t t) {
    const double bc1 = 1.0 - std::pow(b1, double(t)), bc2 = 1.0 - std::pow(b2, double(t));
    for (size_t i = 0; i < p.size(); ++i) {
      m[i] = b1 * m[i] + (1.0 - b1) * g[i];
      v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
      const double denom = std::sqrt(v[i]) / std::sqrt(bc2) + eps;
      p[i] -= lr * ((m[i] / bc1) / denom + wd * p[i]);
    }
  }
};

Tensor from_vec(const std::vector<double>& x) {
  Tensor t = Tensor::empty({int64_t(x.size())}, DType::f32);
  for (size_t i = 0; i < x.size(); ++i) t.data<float>()[i] = float(x[i]);
  return t;
}

std::vector<double> randn(std::mt19937& rng, size_t n, double scale) {
  std::normal_distribution<double> d(0.0, scale);
  std::vector<double> x(n);
  for (auto& e : x) e = double(float(d(rng)));  // representable in f32, so both sides start equal
  return x;
}

void expect_close(const Tensor& t, const std::vector<double>& ref, double rtol, double atol, const char* what) {
  ASSERT_EQ(t.numel(), int64_t(ref.size()));
  const float* d = t.data<float>();
  for (size_t i = 0; i < ref.size(); ++i)
    ASSERT_NEAR(double(d[i]), ref[i], atol + rtol * std::fabs(ref[i])) << what << " element " << i;
}

}  // namespace

TEST(AdamW, FirstStepIsSignStepWithoutDecay) {
  // Step 1: m_hat = g and v_hat = g^2 exactly, so the update is lr * g / (|g| + eps) ~ lr * sign(g).
  Tensor p = from_vec({1.0, -2.0, 0.5, 3.0});
  Tensor g = from_vec({0.25, -4.0, 1e-3, -0.5});
  Tensor m = Tensor::zeros({4}, DType::f32), v = Tensor::zeros({4}, DType::f32);
  ops::AdamWParams hp;
  hp.lr = 0.1f;
  ops::adamw_step(p, m, v, g, hp);
  const float* d = p.data<float>();
  EXPECT_NEAR(d[0], 0.9, 1e-6);
  EXPECT_NEAR(d[1], -1.9, 1e-6);
  EXPECT_NEAR(d[2], 0.4, 1e-5);  // eps matters a little at |g| = 1e-3
  EXPECT_NEAR(d[3], 3.1, 1e-6);
  EXPECT_NEAR(m.data<float>()[1], 0.1 * -4.0, 1e-6);
  EXPECT_NEAR(v.data<float>()[1], 0.05 * 16.0, 1e-6);
}

TEST(AdamW, DecoupledWeightDecayWithZeroGradient) {
  // g = 0: the moment term vanishes and only p -= lr * wd * p remains.
  Tensor p = from_vec({2.0, -1.0});
  Tensor g = Tensor::zeros({2}, DType::f32), m = Tensor::zeros({2}, DType::f32), v = Tensor::zeros({2}, DType::f32);
  ops::AdamWParams hp;
  hp.lr = 0.01f;
  hp.weight_decay = 0.5f;
  ops::adamw_step(p, m, v, g, hp);
  EXPECT_NEAR(p.data<float>()[0], 2.0 * (1 - 0.005), 1e-6);
  EXPECT_NEAR(p.data<float>()[1], -1.0 * (1 - 0.005), 1e-6);
}

TEST(AdamW, MatchesDoubleReferenceOverManySteps) {
  std::mt19937 rng(7);
  const size_t n = 100003;  // large enough for the OpenMP path, odd for the tail
  RefAdam ref{randn(rng, n, 1.0), std::vector<double>(n, 0.0), std::vector<double>(n, 0.0)};
  Tensor p = from_vec(ref.p), m = Tensor::zeros({int64_t(n)}, DType::f32), v = Tensor::zeros({int64_t(n)}, DType::f32);
  for (int64_t t = 1; t <= 12; ++t) {
    std::vector<double> g = randn(rng, n, 0.01 * double(t));
    const double lr = 1e-3 * (1.0 + 0.1 * double(t));
    ref.step(g, lr, 0.9, 0.95, 1e-8, 0.1, t);
    ops::AdamWParams hp{float(lr), 0.9f, 0.95f, 1e-8f, 0.1f, t};
    ops::adamw_step(p, m, v, from_vec(g), hp);
  }
  expect_close(p, ref.p, 1e-5, 1e-6, "param");
  expect_close(m, ref.m, 1e-4, 1e-8, "m");
  expect_close(v, ref.v, 1e-4, 1e-10, "v");
}

TEST(AdamW, RejectsBadArguments) {
  Tensor p = Tensor::zeros({4}, DType::f32), m = Tensor::zeros({4}, DType::f32), v = Tensor::zeros({4}, DType::f32);
  ops::AdamWParams hp;
  EXPECT_THROW(ops::adamw_step(p, m, v, Tensor::zeros({3}, DType::f32), hp), Error);
  EXPECT_THROW(ops::adamw_step(p, m, v, Tensor::zeros({4}, DType::f64), hp), Error);
  EXPECT_THROW(ops::adamw_step(p, m, Tensor(), Tensor::zeros({4}, DType::f32), hp), Error);
  hp.step = 0;
  EXPECT_THROW(ops::adamw_step(p, m, v, Tensor::zeros({4}, DType::f32), hp), Error);
}

TEST(AdamW, CudaTensorsGetAClearError) {
  // Host memory labelled as a CUDA buffer: enough to reach the dispatcher's device check.
  static float host[4] = {};
  auto buf = Buffer::wrap(host, sizeof(host), Device::CUDA(0), nullptr);
  Tensor c = Tensor::view_of(buf, 0, {4}, DType::f32);
  try {
    ops::adamw_step(c, c, c, c, ops::AdamWParams{});
    FAIL() << "expected an error";
  } catch (const Error& e) {
#ifdef ZT_HAVE_CUDA  // CUDA builds take the GPU branch, which first needs cuda::initialize()
    EXPECT_NE(std::string(e.what()).find("CUDA backend was not initialised"), std::string::npos) << e.what();
#else
    EXPECT_NE(std::string(e.what()).find("no CUDA kernel in this build"), std::string::npos) << e.what();
#endif
  }
}

TEST(Optimizer, GroupsShareTheStepCounterAndUseTheirOwnLrAndDecay) {
  std::mt19937 rng(11);
  const std::vector<size_t> sizes = {37, 5, 64, 9};
  const std::vector<int> group_of = {0, 2, 1, 0};
  const std::vector<double> wds = {0.1, 0.1, 0.0};  // decay, lora, no_decay
  train::AdamConfig cfg;
  train::Optimizer opt(wds, cfg);
  std::vector<RefAdam> refs;
  std::vector<Tensor> masters, grads;
  for (size_t i = 0; i < sizes.size(); ++i) {
    refs.push_back({randn(rng, sizes[i], 0.5), std::vector<double>(sizes[i], 0.0), std::vector<double>(sizes[i], 0.0)});
    masters.push_back(from_vec(refs.back().p).reshape({int64_t(sizes[i])}));
    grads.push_back(Tensor::zeros({int64_t(sizes[i])}, DType::f32));
    EXPECT_EQ(opt.add_param(group_of[i], masters.back(), grads.back(), "p" + std::to_string(i)), int(i));
  }
  for (int64_t t = 1; t <= 6; ++t) {
    const std::vector<double> lrs = {1e-3 / double(t), 5e-4, 2e-3};
    for (size_t i = 0; i < sizes.size(); ++i) {
      std::vector<double> g = randn(rng, sizes[i], 0.1);
      grads[i].copy_from(from_vec(g));
      refs[i].step(g, lrs[size_t(group_of[i])], cfg.beta1, cfg.beta2, cfg.eps, wds[size_t(group_of[i])], t);
    }
    opt.step(lrs);
    EXPECT_EQ(opt.step_count(), t);
  }
  for (size_t i = 0; i < sizes.size(); ++i) {
    expect_close(masters[i], refs[i].p, 1e-5, 1e-6, "master");
    expect_close(opt.param(int(i)).exp_avg, refs[i].m, 1e-4, 1e-8, "exp_avg");
    expect_close(opt.param(int(i)).exp_avg_sq, refs[i].v, 1e-4, 1e-10, "exp_avg_sq");
    EXPECT_EQ(opt.param(int(i)).group, group_of[i]);
  }
  EXPECT_THROW(opt.step({1e-3}), Error);  // one lr for three groups
  EXPECT_EQ(opt.step_count(), 6);         // a rejected step leaves the counter alone
}

TEST(Optimizer, ResumedStateContinuesTheSameTrajectory) {
  std::mt19937 rng(3);
  auto g1 = randn(rng, 16, 0.2), g2 = randn(rng, 16, 0.2), g3 = randn(rng, 16, 0.2);
  auto p0 = randn(rng, 16, 1.0);
  // Run A: three steps straight.
  Tensor pa = from_vec(p0), ga = Tensor::zeros({16}, DType::f32);
  train::Optimizer a({0.05});
  a.add_param(0, pa, ga);
  for (auto* g : {&g1, &g2, &g3}) {
    ga.copy_from(from_vec(*g));
    a.step({1e-2});
  }
  // Run B: two steps, then a fresh optimizer restored from B's state takes the third.
  Tensor pb = from_vec(p0), gb = Tensor::zeros({16}, DType::f32);
  train::Optimizer b({0.05});
  b.add_param(0, pb, gb);
  for (auto* g : {&g1, &g2}) {
    gb.copy_from(from_vec(*g));
    b.step({1e-2});
  }
  train::Optimizer c({0.05});
  c.add_param(0, pb, gb);
  Tensor cm = c.param(0).exp_avg, cv = c.param(0).exp_avg_sq;  // handles onto c's moments
  cm.copy_from(b.param(0).exp_avg);
  cv.copy_from(b.param(0).exp_avg_sq);
  c.set_step_count(b.step_count());
  gb.copy_from(from_vec(g3));
  c.step({1e-2});
  for (int i = 0; i < 16; ++i) EXPECT_EQ(pa.data<float>()[i], pb.data<float>()[i]) << i;
}

TEST(Optimizer, RejectsBadSetup) {
  EXPECT_THROW(train::Optimizer({}), Error);
  EXPECT_THROW(train::Optimizer({-0.1}), Error);
  train::Optimizer opt({0.0});
  Tensor p = Tensor::zeros({4}, DType::f32);
  EXPECT_THROW(opt.add_param(1, p, Tensor::zeros({4}, DType::f32)), Error);  // no group 1
  EXPECT_THROW(opt.add_param(0, p, Tensor::zeros({5}, DType::f32)), Error);  // numel mismatch
  EXPECT_THROW(opt.add_param(0, Tensor::zeros({4}, DType::bf16), Tensor::zeros({4}, DType::f32)), Error);
  EXPECT_EQ(opt.add_param(0, p, Tensor::zeros({2, 2}, DType::f32)), 0);  // shapes may differ, numel may not
  EXPECT_THROW(opt.step({std::nan("")}), Error);
}

TEST(GradAccumulation, CountsGloballyAcrossEpochsAndDropsTheTrailingWindow) {
  // 5 micro-batches per epoch, GAS 2, 2 epochs: windows end at micro-steps 2, 4, 6 (spanning the epoch
  // boundary), 8, 10. The schedule is sized epochs * ceil(5/2) = 6, as DeepSpeed-Chat does.
  train::GradAccumulation acc(2);
  std::vector<int64_t> boundaries;
  for (int epoch = 0; epoch < 2; ++epoch)
    for (int mb = 0; mb < 5; ++mb) {
      const bool next = acc.next_is_boundary();
      const bool done = acc.micro_step();
      EXPECT_EQ(next, done);
      if (done) boundaries.push_back(acc.micro_steps());
    }
  EXPECT_EQ(boundaries, (std::vector<int64_t>{2, 4, 6, 8, 10}));
  EXPECT_EQ(acc.windows_completed(), 5);
  EXPECT_EQ(acc.pending(), 0);
  EXPECT_EQ(train::GradAccumulation::num_training_steps(2, 5, 2), 6);
  EXPECT_EQ(train::GradAccumulation::num_applied_steps(2, 5, 2), 5);

  // 3 epochs: 15 micro-steps -> 7 applied, the 15th is a trailing partial window that is never applied.
  train::GradAccumulation acc3(2);
  int applied = 0;
  for (int i = 0; i < 15; ++i) applied += acc3.micro_step();
  EXPECT_EQ(applied, 7);
  EXPECT_EQ(acc3.pending(), 1);
  EXPECT_EQ(train::GradAccumulation::num_training_steps(3, 5, 2), 9);
  EXPECT_EQ(train::GradAccumulation::num_applied_steps(3, 5, 2), 7);

  train::GradAccumulation one(1);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(one.micro_step());
  EXPECT_EQ(train::GradAccumulation::num_training_steps(1, 4, 1), 4);
  EXPECT_EQ(train::GradAccumulation::num_training_steps(1, 4, 8), 1);
  EXPECT_EQ(train::GradAccumulation::num_applied_steps(1, 4, 8), 0);
  EXPECT_THROW(train::GradAccumulation(0), Error);
}
