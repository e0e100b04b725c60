// Tests of the fp16 loss scaler against DeepSpeed's DynamicLossScaler rules: the spec's worked example,
// growth windows, ZeRO defaults, hysteresis variants, the minimum-scale error, static scales and resume.
#include <gtest/gtest.h>

#include <vector>

#include "core/error.hpp"
#include "train/loss_scaler.hpp"

using namespace zt::train;

namespace {
LossScalerConfig cfg(double init, int64_t window, int64_t hysteresis, double min_scale = 1.0, bool consecutive = false) {
  LossScalerConfig c;
  c.initial_scale = init;
  c.scale_window = window;
  c.hysteresis = hysteresis;
  c.min_scale = min_scale;
  c.consecutive_hysteresis = consecutive;
  return c;
}

std::vector<double> run(LossScaler& s, const std::vector<bool>& overflows) {
  std::vector<double> scales;
  for (bool o : overflows) scales.push_back(s.update(o).scale);
  return scales;
}
}  // namespace

TEST(LossScaler, WorkedExampleFromTheSpec) {
  // init 65536, window 4, hysteresis 2; overflows T,F,T,T,F,F,F,F.
  LossScaler s(cfg(65536, 4, 2));
  ScaleUpdate u = s.update(true);  // counter 2 -> 1, scale kept
  EXPECT_TRUE(u.skipped);
  EXPECT_EQ(u.previous_scale, 65536);
  EXPECT_EQ(u.scale, 65536);
  EXPECT_EQ(u.message,
            "OVERFLOW! Rank 0 Skipping step. Attempted loss scale: 65536, but hysteresis is 2. Reducing hysteresis to 1");
  u = s.update(false);
  EXPECT_FALSE(u.skipped);
  EXPECT_EQ(u.message, "");
  EXPECT_EQ(u.scale, 65536);
  u = s.update(true);
  EXPECT_EQ(u.scale, 32768);
  EXPECT_EQ(u.message, "OVERFLOW! Rank 0 Skipping step. Attempted loss scale: 65536, reducing to 32768");
  u = s.update(true);
  EXPECT_EQ(u.scale, 16384);
  EXPECT_EQ(u.message, "OVERFLOW! Rank 0 Skipping step. Attempted loss scale: 32768, reducing to 16384");
  EXPECT_EQ(run(s, {false, false, false, false}), (std::vector<double>{16384, 16384, 16384, 32768}));
  EXPECT_EQ(s.skipped_steps(), 3);
  EXPECT_EQ(s.state().cur_hysteresis, 2);  // refilled with the growth
  // So the next overflow only spends hysteresis again.
  u = s.update(true);
  EXPECT_EQ(u.scale, 32768);
  EXPECT_EQ(s.state().cur_hysteresis, 1);
}

TEST(LossScaler, GrowsEveryWindowOfCleanSteps) {
  LossScaler s(cfg(1024, 4, 2));
  EXPECT_EQ(run(s, {false, false, false, false, false, false, false, false}),
            (std::vector<double>{1024, 1024, 1024, 2048, 2048, 2048, 2048, 4096}));
  EXPECT_EQ(s.skipped_steps(), 0);
  // An overflow restarts the window count: 4 clean steps after it, not at the old cadence.
  LossScaler t(cfg(1024, 3, 1));
  EXPECT_EQ(run(t, {false, true, false, false, false, false}), (std::vector<double>{1024, 512, 512, 512, 1024, 1024}));
}

TEST(LossScaler, DeepSpeedDefaults) {
  const LossScalerConfig present = LossScalerConfig::keys_present_defaults();
  EXPECT_EQ(present.initial_scale, 65536.0);
  EXPECT_EQ(present.scale_window, 1000);
  EXPECT_EQ(present.hysteresis, 2);
  EXPECT_EQ(present.min_scale, 1.0);
  EXPECT_FALSE(present.consecutive_hysteresis);
  EXPECT_EQ(present.loss_scale, 0.0);
  EXPECT_EQ(LossScalerConfig::scale_from_power(16), 65536.0);
  EXPECT_THROW(LossScalerConfig::scale_from_power(-1), zt::Error);

  const LossScalerConfig none = LossScalerConfig::zero_no_keys_defaults();
  EXPECT_EQ(none.initial_scale, 4294967296.0);
  EXPECT_EQ(none.scale_window, 1000);
  EXPECT_EQ(none.hysteresis, 1);
  EXPECT_EQ(none.min_scale, 1.0);
  LossScaler s(none);
  EXPECT_TRUE(s.dynamic());
  const ScaleUpdate u = s.update(true);  // hysteresis 1: the first overflow halves
  EXPECT_EQ(u.scale, 2147483648.0);
  EXPECT_EQ(u.message, "OVERFLOW! Rank 0 Skipping step. Attempted loss scale: 4294967296, reducing to 2147483648");
  // 999 clean steps later the scale doubles back (window 1000 counted from the overflow).
  std::vector<bool> clean(999, false);
  EXPECT_EQ(run(s, clean).back(), 2147483648.0);
  EXPECT_EQ(s.update(false).scale, 4294967296.0);
}

TEST(LossScaler, ConsecutiveHysteresisRefillsOnEveryCleanStep) {
  // hysteresis 3, large window: with consecutive_hysteresis a clean step between overflows refills the counter.
  LossScaler c(cfg(256, 1000, 3, 1.0, /*consecutive=*/true));
  EXPECT_EQ(run(c, {true, false, true, true, true}), (std::vector<double>{256, 256, 256, 256, 128}));
  LossScaler n(cfg(256, 1000, 3, 1.0, /*consecutive=*/false));
  EXPECT_EQ(run(n, {true, false, true, true, true}), (std::vector<double>{256, 256, 256, 128, 64}));
  EXPECT_EQ(n.skipped_steps(), 4);
}

TEST(LossScaler, OverflowAtMinimumScaleIsAnError) {
  LossScaler s(cfg(4, 1000, 1));
  EXPECT_EQ(run(s, {true, true}), (std::vector<double>{2, 1}));
  try {
    s.update(true);
    FAIL() << "expected an error";
  } catch (const zt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("minimum"), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("fp16.min_loss_scale"), std::string::npos) << e.hint();
  }
  // The floor clamps the halving; only an overflow at the floor itself stops the run.
  LossScaler f(cfg(4, 1000, 1, /*min_scale=*/3));
  EXPECT_EQ(f.update(true).scale, 3);
  EXPECT_THROW(f.update(true), zt::Error);
  // With hysteresis left an overflow at the minimum only spends hysteresis.
  LossScaler h(cfg(1, 1000, 2));
  EXPECT_EQ(h.update(true).scale, 1);
  EXPECT_THROW(h.update(true), zt::Error);
}

TEST(LossScaler, StaticScaleNeverChangesButStillSkips) {
  LossScalerConfig c;
  c.loss_scale = 128;
  LossScaler s(c);
  EXPECT_FALSE(s.dynamic());
  EXPECT_EQ(s.scale(), 128);
  const ScaleUpdate u = s.update(true);
  EXPECT_TRUE(u.skipped);
  EXPECT_EQ(u.scale, 128);
  EXPECT_NE(u.message.find("OVERFLOW! Rank 0 Skipping step."), std::string::npos);
  std::vector<bool> clean(3000, false);
  EXPECT_EQ(run(s, clean).back(), 128);
  EXPECT_EQ(s.skipped_steps(), 1);
}

TEST(LossScaler, RankInMessageAndBadConfig) {
  LossScaler s(cfg(8, 10, 1), /*rank=*/3);
  EXPECT_EQ(s.update(true).message, "OVERFLOW! Rank 3 Skipping step. Attempted loss scale: 8, reducing to 4");
  EXPECT_THROW(LossScaler(cfg(8, 0, 1)), zt::Error);
  EXPECT_THROW(LossScaler(cfg(8, 10, 0)), zt::Error);
  EXPECT_THROW(LossScaler(cfg(8, 10, 1, 0.0)), zt::Error);
  LossScalerConfig neg;
  neg.loss_scale = -1;
  EXPECT_THROW(LossScaler{neg}, zt::Error);
}

TEST(LossScaler, ResumeContinuesTheSameSequence) {
  const std::vector<bool> seq = {false, true, false, false, true, true, false, false, false, false, false, true, false};
  LossScaler a(cfg(1 << 20, 3, 2));
  const std::vector<double> full = run(a, seq);
  LossScaler b(cfg(1 << 20, 3, 2));
  run(b, std::vector<bool>(seq.begin(), seq.begin() + 6));
  LossScaler c(cfg(1 << 20, 3, 2));
  c.load_state(b.state());
  const std::vector<double> tail = run(c, std::vector<bool>(seq.begin() + 6, seq.end()));
  EXPECT_EQ(tail, std::vector<double>(full.begin() + 6, full.end()));
  EXPECT_EQ(c.skipped_steps(), a.skipped_steps());
  LossScaler::State bad = b.state();
  bad.cur_scale = 0;
  EXPECT_THROW(c.load_state(bad), zt::Error);
}
