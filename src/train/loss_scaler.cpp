// DeepSpeed-compatible fp16 loss scaler: the dynamic update rule, its overflow log lines and the error when
// the scale cannot shrink further; plus the static variant.
#include "train/loss_scaler.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.hpp"
#include "core/log.hpp"

namespace zt::train {

namespace {
// Python's int(x) of a positive float (DeepSpeed formats scales with int()).
std::string int_str(double x) {
  char buf[400];
  std::snprintf(buf, sizeof(buf), "%.0f", std::trunc(x));
  return buf;
}
}  // namespace

LossScalerConfig LossScalerConfig::zero_no_keys_defaults() {
  LossScalerConfig c;
  c.initial_scale = 4294967296.0;  // 2^32
  c.scale_window = 1000;
  c.hysteresis = 1;
  c.consecutive_hysteresis = false;
  c.min_scale = 1.0;
  return c;
}

double LossScalerConfig::scale_from_power(int power) {
  check(power >= 0 && power <= 63, "fp16.initial_scale_power must be in 0..63, got " + std::to_string(power),
        "fix fp16.initial_scale_power in the ds_config (16 is DeepSpeed's default)");
  return std::ldexp(1.0, power);
}

LossScaler::LossScaler(const LossScalerConfig& cfg, int rank)
    : cfg_(cfg), dynamic_(cfg.loss_scale == 0.0), rank_(rank),
      cur_scale_(dynamic_ ? cfg.initial_scale : cfg.loss_scale), cur_hysteresis_(cfg.hysteresis) {
  check(std::isfinite(cfg.loss_scale) && cfg.loss_scale >= 0.0,
        "fp16.loss_scale must be >= 0 (0 = dynamic), got " + std::to_string(cfg.loss_scale), "fix fp16.loss_scale in the ds_config");
  if (!dynamic_) return;
  check(std::isfinite(cfg.initial_scale) && cfg.initial_scale > 0.0,
        "fp16 initial loss scale must be finite and > 0, got " + std::to_string(cfg.initial_scale),
        "fix fp16.initial_scale_power in the ds_config");
  check(cfg.scale_window >= 1, "fp16.loss_scale_window must be >= 1, got " + std::to_string(cfg.scale_window),
        "fix fp16.loss_scale_window in the ds_config");
  check(cfg.hysteresis >= 1, "fp16.hysteresis must be >= 1, got " + std::to_string(cfg.hysteresis),
        "fix fp16.hysteresis in the ds_config");
  check(std::isfinite(cfg.min_scale) && cfg.min_scale > 0.0,
        "fp16.min_loss_scale must be finite and > 0, got " + std::to_string(cfg.min_scale),
        "fix fp16.min_loss_scale in the ds_config");
}

ScaleUpdate LossScaler::update(bool overflow) {
  ScaleUpdate u;
  u.previous_scale = cur_scale_;
  u.skipped = overflow;
  const std::string head = "OVERFLOW! Rank " + std::to_string(rank_) + " Skipping step.";
  if (!dynamic_) {
    if (overflow) u.message = head + " Static loss scale: " + int_str(cur_scale_) + " (unchanged)";
  } else if (overflow) {
    if (cfg_.hysteresis == 1 || cur_hysteresis_ == 1) {
      if (cur_scale_ == cfg_.min_scale)
        fail("fp16 gradients overflowed with the loss scale already at its minimum (" + int_str(cfg_.min_scale) +
                 "); the loss scale cannot decrease any further",
             "training diverged or the data yields inf/nan: lower --learning_rate, inspect the data, use --dtype bf16, "
             "or lower fp16.min_loss_scale in the ds_config");
      const double next = std::max(cur_scale_ / 2.0, cfg_.min_scale);
      u.message = head + " Attempted loss scale: " + int_str(cur_scale_) + ", reducing to " + int_str(next);
      cur_scale_ = next;
    } else {
      u.message = head + " Attempted loss scale: " + int_str(cur_scale_) + ", but hysteresis is " +
                  std::to_string(cur_hysteresis_) + ". Reducing hysteresis to " + std::to_string(cur_hysteresis_ - 1);
      --cur_hysteresis_;
    }
    last_overflow_iter_ = cur_iter_;
  } else {
    if (cfg_.consecutive_hysteresis) cur_hysteresis_ = cfg_.hysteresis;
    if ((cur_iter_ - last_overflow_iter_) % cfg_.scale_window == 0) {
      if (!cfg_.consecutive_hysteresis) cur_hysteresis_ = cfg_.hysteresis;
      cur_scale_ *= 2.0;
    }
  }
  if (dynamic_) ++cur_iter_;
  if (overflow) {
    ++skipped_;
    if (rank_ == 0) log::info(u.message);
  }
  u.scale = cur_scale_;
  return u;
}

LossScaler::State LossScaler::state() const {
  return State{cur_scale_, cur_iter_, last_overflow_iter_, cur_hysteresis_, skipped_};
}

void LossScaler::load_state(const State& s) {
  check(std::isfinite(s.cur_scale) && s.cur_scale > 0.0, "loss scaler state: scale must be finite and > 0, got " +
                                                             std::to_string(s.cur_scale),
        "the checkpoint's loss-scaler state is corrupt; resume from another checkpoint");
  check(s.cur_iter >= 0 && s.last_overflow_iter >= -1 && s.last_overflow_iter < s.cur_iter &&
            s.cur_hysteresis >= 0 && s.skipped_steps >= 0,
        "loss scaler state: inconsistent counters", "the checkpoint's loss-scaler state is corrupt; resume from another checkpoint");
  if (!dynamic_)
    check(s.cur_scale == cfg_.loss_scale, "loss scaler state: the checkpoint's scale " + std::to_string(s.cur_scale) +
                                              " differs from the static fp16.loss_scale " + std::to_string(cfg_.loss_scale),
          "resume with the same fp16.loss_scale as the run that wrote the checkpoint");
  cur_scale_ = s.cur_scale;
  cur_iter_ = s.cur_iter;
  last_overflow_iter_ = s.last_overflow_iter;
  cur_hysteresis_ = s.cur_hysteresis;
  skipped_ = s.skipped_steps;
}

}  // namespace zt::train
