// Tests of the HF learning-rate schedules: against transformers itself (tests/fixtures/hf/schedules.json,
// generated on the GPU machine) and hand-computed values of the formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "core/json.hpp"
#include "train/lr_schedule.hpp"

using namespace zt;
using namespace zt::train;

namespace {
double lam(const char* type, int64_t step, int64_t w, int64_t n, double lr_init = 1.0) {
  return lr_lambda(parse_lr_schedule_type(type), step, w, n, lr_init);
}
}  // namespace

TEST(LrSchedule, MatchesTransformersFixture) {
  const std::string path = std::string(ZT_SOURCE_DIR) + "/tests/fixtures/hf/schedules.json";
  if (!std::filesystem::exists(path))
    GTEST_SKIP() << path << " is not there yet (the lead generates it from transformers on the GPU machine)";
  const Json j = load_json_file(path);
  for (const char* type : {"linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup"})
    EXPECT_TRUE(j.contains(type)) << "fixture lacks " << type;
  int checked = 0;
  for (const auto& [name, entry] : j.items()) {
    const LrScheduleType t = parse_lr_schedule_type(name, "schedules.json");
    const int64_t w = entry.at("num_warmup_steps").get<int64_t>();
    const int64_t n = entry.at("num_training_steps").get<int64_t>();
    const double base = entry.at("base_lr").get<double>();
    const auto& lrs = entry.at("lrs");
    ASSERT_GE(lrs.size(), size_t(n + 1)) << name;
    LrScheduler sched(t, w, n, {base}, base);
    for (size_t k = 0; k < lrs.size(); ++k) {
      const double want = lrs[k].get<double>();
      EXPECT_NEAR(sched.lr(0), want, 1e-12 + 1e-12 * std::fabs(want)) << name << " after " << k << " steps";
      sched.step();
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
}

TEST(LrSchedule, MatchesTheAdamWTrajectoryFixtureLrs) {
  // The HF fixtures' 5-step AdamW run records the lr used at each step (cosine, 2 warmup steps over 5).
  const std::string path = std::string(ZT_SOURCE_DIR) + "/tests/fixtures/hf/llama31/fixture.json";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is not there";
  const Json a = load_json_file(path).at("adamw");
  const double lr = a.at("lr").get<double>();
  LrScheduler sched(parse_lr_schedule_type(a.at("schedule").get<std::string>()), a.at("warmup").get<int64_t>(),
                    a.at("steps").get<int64_t>(), {lr}, lr);
  const auto& lrs = a.at("lrs");
  ASSERT_EQ(lrs.size(), size_t(a.at("steps").get<int64_t>()));
  for (size_t k = 0; k < lrs.size(); ++k, sched.step())
    EXPECT_NEAR(sched.lr(0), lrs[k].get<double>(), 1e-15) << "step " << k;
}

TEST(LrSchedule, LinearHandValues) {
  // W = 3, N = 10: warmup 0, 1/3, 2/3, then (10 - s) / 7 down to 0 and clamped at 0 afterwards.
  EXPECT_EQ(lam("linear", 0, 3, 10), 0.0);
  EXPECT_DOUBLE_EQ(lam("linear", 1, 3, 10), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(lam("linear", 2, 3, 10), 2.0 / 3.0);
  EXPECT_EQ(lam("linear", 3, 3, 10), 1.0);
  EXPECT_DOUBLE_EQ(lam("linear", 5, 3, 10), 5.0 / 7.0);
  EXPECT_EQ(lam("linear", 10, 3, 10), 0.0);
  EXPECT_EQ(lam("linear", 12, 3, 10), 0.0);
  EXPECT_EQ(lam("linear", 0, 0, 4), 1.0);  // no warmup: starts at the full lr
}

TEST(LrSchedule, CosineHandValues) {
  // Half a cycle over the decay: 1 at its start, exactly 0.5 at its midpoint, 0 at its end.
  EXPECT_EQ(lam("cosine", 2, 2, 6), 1.0);
  EXPECT_EQ(lam("cosine", 4, 2, 6), 0.5);
  EXPECT_EQ(lam("cosine", 6, 2, 6), 0.0);
  EXPECT_DOUBLE_EQ(lam("cosine", 3, 2, 6), 0.5 * (1.0 + std::cos(M_PI * 0.25)));
  EXPECT_DOUBLE_EQ(lam("cosine", 1, 2, 6), 0.5);  // warmup
  // HF's cosine is not clamped after num_training_steps: it rises again.
  EXPECT_NEAR(lam("cosine", 8, 2, 6), 0.5, 1e-15);
  // DeepSpeed-Chat's default: cosine, no warmup.
  EXPECT_EQ(lam("cosine", 0, 0, 100), 1.0);
}

TEST(LrSchedule, CosineWithRestartsHandValues) {
  // One full cosine over the decay (num_cycles 1 with hard restarts): midpoint 0.5, then 0 from the end on.
  EXPECT_EQ(lam("cosine_with_restarts", 3, 3, 11), 1.0);
  EXPECT_EQ(lam("cosine_with_restarts", 7, 3, 11), 0.5);
  EXPECT_DOUBLE_EQ(lam("cosine_with_restarts", 5, 3, 11), 0.5 * (1.0 + std::cos(M_PI * 0.25)));
  EXPECT_EQ(lam("cosine_with_restarts", 11, 3, 11), 0.0);
  EXPECT_EQ(lam("cosine_with_restarts", 13, 3, 11), 0.0);
}

TEST(LrSchedule, PolynomialHandValues) {
  // power 1: linear from lr_init to lr_end = 1e-7 over the decay; lr_end / lr_init after the end.
  EXPECT_EQ(lam("polynomial", 0, 0, 10), 1.0);
  EXPECT_DOUBLE_EQ(lam("polynomial", 5, 0, 10), (1.0 - 1e-7) * 0.5 + 1e-7);
  EXPECT_DOUBLE_EQ(lam("polynomial", 10, 0, 10), 1e-7);
  EXPECT_DOUBLE_EQ(lam("polynomial", 11, 0, 10), 1e-7);
  EXPECT_DOUBLE_EQ(lam("polynomial", 2, 4, 10), 0.5);  // warmup
  // lr_init is the optimizer's default lr, shared by every group: with 1e-3 the floor is 1e-4 of each base lr.
  EXPECT_DOUBLE_EQ(lam("polynomial", 20, 0, 10, 1e-3), 1e-4);
  EXPECT_DOUBLE_EQ(lam("polynomial", 5, 0, 10, 1e-3), ((1e-3 - 1e-7) * 0.5 + 1e-7) / 1e-3);
  EXPECT_THROW(LrScheduler(LrScheduleType::polynomial, 0, 10, {1e-8}, 1e-8), Error);
}

TEST(LrSchedule, ConstantsHandValues) {
  EXPECT_EQ(lam("constant", 0, 3, 10), 1.0);  // get_scheduler("constant") ignores warmup
  EXPECT_EQ(lam("constant", 50, 3, 10), 1.0);
  EXPECT_EQ(lam("constant_with_warmup", 0, 3, 10), 0.0);
  EXPECT_DOUBLE_EQ(lam("constant_with_warmup", 2, 3, 10), 2.0 / 3.0);
  EXPECT_EQ(lam("constant_with_warmup", 3, 3, 10), 1.0);
  EXPECT_EQ(lam("constant_with_warmup", 99, 3, 10), 1.0);
}

TEST(LrSchedule, ParsesHfNamesAndListsThemOnError) {
  for (const char* n : {"linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup"})
    EXPECT_STREQ(lr_schedule_name(parse_lr_schedule_type(n)), n);
  try {
    parse_lr_schedule_type("Cosine");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string all = std::string(e.what()) + " " + e.hint();
    EXPECT_NE(all.find("--lr_scheduler_type"), std::string::npos) << all;
    EXPECT_NE(all.find("'Cosine'"), std::string::npos) << all;
    EXPECT_NE(all.find("constant_with_warmup"), std::string::npos) << all;
    EXPECT_NE(all.find("cosine_with_restarts"), std::string::npos) << all;
  }
}

TEST(LrScheduler, GivesEveryGroupItsBaseLrTimesTheSharedLambda) {
  // DeepSpeed-Chat groups: decay and no-decay at --learning_rate, LoRA at --lora_learning_rate.
  LrScheduler s(LrScheduleType::linear, 2, 6, {1e-3, 5e-4, 1e-3}, 1e-3);
  EXPECT_EQ(s.last_step(), 0);
  EXPECT_EQ(s.lrs(), (std::vector<double>{0.0, 0.0, 0.0}));
  s.step();
  EXPECT_DOUBLE_EQ(s.lr(0), 0.5e-3);
  EXPECT_DOUBLE_EQ(s.lr(1), 0.25e-3);
  s.step();
  s.step();  // step 3 of 6: (6 - 3) / 4
  EXPECT_DOUBLE_EQ(s.lr(1), 5e-4 * 0.75);
  s.set_last_step(6);
  EXPECT_EQ(s.lambda(), 0.0);
  EXPECT_THROW(s.lr(3), Error);
  EXPECT_THROW(LrScheduler(LrScheduleType::cosine, -1, 6, {1.0}, 1.0), Error);
}
