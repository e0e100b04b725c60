// HF learning-rate schedule multipliers (transformers.optimization formulas, computed in double like Python)
// and the per-group scheduler used by the trainer.
#include "train/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.hpp"

namespace zt::train {

namespace {
constexpr LrScheduleType kAll[] = {LrScheduleType::linear,     LrScheduleType::cosine,
                                   LrScheduleType::cosine_with_restarts, LrScheduleType::polynomial,
                                   LrScheduleType::constant,   LrScheduleType::constant_with_warmup};

double warmup_ratio(int64_t step, int64_t warmup) { return double(step) / double(std::max<int64_t>(1, warmup)); }
}  // namespace

const char* lr_schedule_name(LrScheduleType t) {
  switch (t) {
    case LrScheduleType::linear: return "linear";
    case LrScheduleType::cosine: return "cosine";
    case LrScheduleType::cosine_with_restarts: return "cosine_with_restarts";
    case LrScheduleType::polynomial: return "polynomial";
    case LrScheduleType::constant: return "constant";
    case LrScheduleType::constant_with_warmup: return "constant_with_warmup";
  }
  return "?";
}

std::string lr_schedule_names() {
  std::string s;
  for (auto t : kAll) s += (s.empty() ? "" : ", ") + std::string(lr_schedule_name(t));
  return s;
}

LrScheduleType parse_lr_schedule_type(const std::string& name, const std::string& where) {
  for (auto t : kAll)
    if (name == lr_schedule_name(t)) return t;
  fail(where + ": unknown learning-rate schedule '" + name + "'", "use one of: " + lr_schedule_names());
}

double lr_lambda(LrScheduleType type, int64_t step, int64_t num_warmup, int64_t num_training, double poly_lr_init) {
  const double pi = std::numbers::pi;
  switch (type) {
    case LrScheduleType::constant: return 1.0;
    case LrScheduleType::constant_with_warmup:
      return step < num_warmup ? double(step) / std::max(1.0, double(num_warmup)) : 1.0;
    case LrScheduleType::linear:
      if (step < num_warmup) return warmup_ratio(step, num_warmup);
      return std::max(0.0, double(num_training - step) / double(std::max<int64_t>(1, num_training - num_warmup)));
    case LrScheduleType::cosine: {
      if (step < num_warmup) return warmup_ratio(step, num_warmup);
      const double progress = double(step - num_warmup) / double(std::max<int64_t>(1, num_training - num_warmup));
      return std::max(0.0, 0.5 * (1.0 + std::cos(pi * kCosineCycles * 2.0 * progress)));
    }
    case LrScheduleType::cosine_with_restarts: {
      if (step < num_warmup) return warmup_ratio(step, num_warmup);
      const double progress = double(step - num_warmup) / double(std::max<int64_t>(1, num_training - num_warmup));
      if (progress >= 1.0) return 0.0;
      // Python's % on non-negative floats is fmod.
      return std::max(0.0, 0.5 * (1.0 + std::cos(pi * std::fmod(kCosineRestartCycles * progress, 1.0))));
    }
    case LrScheduleType::polynomial: {
      if (step < num_warmup) return warmup_ratio(step, num_warmup);
      if (step > num_training) return kPolyLrEnd / poly_lr_init;
      const int64_t decay_steps = num_training - num_warmup;
      // HF divides by zero here when num_training == num_warmup; we hold lr_end instead.
      if (decay_steps <= 0) return kPolyLrEnd / poly_lr_init;
      const double lr_range = poly_lr_init - kPolyLrEnd;
      const double pct_remaining = 1.0 - double(step - num_warmup) / double(decay_steps);
      const double decay = lr_range * std::pow(pct_remaining, kPolyPower) + kPolyLrEnd;
      return decay / poly_lr_init;
    }
  }
  fail("lr_lambda: invalid schedule type");
}

LrScheduler::LrScheduler(LrScheduleType type, int64_t num_warmup_steps, int64_t num_training_steps,
                         std::vector<double> base_lrs, double poly_lr_init)
    : type_(type), warmup_(num_warmup_steps), training_(num_training_steps), base_lrs_(std::move(base_lrs)),
      poly_lr_init_(poly_lr_init) {
  check(num_warmup_steps >= 0, "--num_warmup_steps must be >= 0, got " + std::to_string(num_warmup_steps));
  check(num_training_steps >= 0,
        "learning-rate schedule: num_training_steps must be >= 0, got " + std::to_string(num_training_steps));
  if (type == LrScheduleType::polynomial)
    check(poly_lr_init > kPolyLrEnd,
          "polynomial schedule: lr_end (1e-07) must be smaller than the initial lr (" + std::to_string(poly_lr_init) + ")",
          "raise --learning_rate or pick another --lr_scheduler_type");
}

void LrScheduler::set_last_step(int64_t s) {
  check(s >= 0, "LrScheduler: step must be >= 0, got " + std::to_string(s));
  step_ = s;
}

double LrScheduler::lambda() const { return lr_lambda(type_, step_, warmup_, training_, poly_lr_init_); }

double LrScheduler::lr(size_t group) const {
  check(group < base_lrs_.size(), "LrScheduler: group " + std::to_string(group) + " out of range (" +
                                      std::to_string(base_lrs_.size()) + " groups)");
  return base_lrs_[group] * lambda();
}

std::vector<double> LrScheduler::lrs() const {
  const double l = lambda();
  std::vector<double> out;
  out.reserve(base_lrs_.size());
  for (double b : base_lrs_) out.push_back(b * l);
  return out;
}

}  // namespace zt::train
