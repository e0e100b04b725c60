// Sequence-length distributions given by a few measured quantiles (for `zerotune bench --lengths hh`): an inverse
// CDF through the quantiles, draws from a seeded MT19937-64, lengths rounded and clamped to [min, max].
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace zt::data {

struct LengthQuantile {
  double q = 0;       // cumulative probability, strictly inside (0, 1)
  double length = 0;  // tokens at that quantile (> 0)
};

// ln(length) is piecewise linear in the normal score z = Phi^-1(q) through the knots (a log-normal between each
// pair of neighbouring knots), and the two end segments extend linearly in z below the first and above the last
// knot (log-normal tails). No p0 or p100 has to be invented, and with the HH quantiles the mean lands at the
// measured 151 by itself (piecewise log-linear in q overshoots it). Draws are real-valued lengths rounded to the
// nearest integer, then clamped to [min_len, max_len] (max_len is the max_seq_len truncation).
class LengthDistribution {
 public:
  LengthDistribution(std::string name, std::vector<LengthQuantile> knots, int64_t min_len, int64_t max_len);

  // prompt + chosen of HH-RLHF-family data (Dahoas/rm-static) under the Llama 3 tokenizer, as measured: p10 36,
  // median 120, p90 312, p99 599, 1.6% over 512 (the p98.4 knot), mean 151; truncated at max_len (DeepSpeed-Chat's
  // max_seq_len, 512 in the step-1 recipe).
  static LengthDistribution hh_rlhf_llama3(int64_t max_len = 512);

  // The real-valued length at cumulative probability q in (0, 1), before rounding and clamping.
  double quantile(double q) const;
  // quantile(q) rounded and clamped to [min_len, max_len].
  int64_t length_at(double q) const;
  // One draw: q from 53 random bits of `rng` (never 0 or 1), then length_at(q); uncapped() skips the clamp.
  int64_t draw(std::mt19937_64& rng) const;
  double draw_uncapped(std::mt19937_64& rng) const;
  // E[length_at(q)]: the mean drawn length after rounding and clamping (integrated over the normal score).
  double mean_length() const;

  const std::string& name() const { return name_; }
  int64_t min_len() const { return min_len_; }
  int64_t max_len() const { return max_len_; }

 private:
  double length_at_z(double z) const;       // the real-valued length at normal score z
  int64_t clamp_length(double x) const;    // rounded and clamped to [min_len, max_len]
  std::string name_;
  std::vector<double> z_, log_len_;  // the knots as (normal score, ln length), z increasing
  int64_t min_len_, max_len_;
};

// An epoch's time estimated from timed steps over micro-batches drawn from a length distribution.
struct EpochEstimate {
  int64_t steps = 0;                                   // timed steps it rests on
  double step_s = 0, step_s_sd = 0;                    // their mean and sample standard deviation
  double epoch_s = 0, epoch_s_lo = 0, epoch_s_hi = 0;  // epoch_steps x mean step, and +-2 standard errors of the mean
  // Least squares step_s = base_s + s_per_token x tokens over the timed steps (slope 0 when all had the same
  // tokens); epoch_s_fit = epoch_steps x the fit at the distribution's expected tokens per step, which removes
  // the luck of how long the few sampled micro-batches happened to be.
  double base_s = 0, s_per_token = 0, epoch_s_fit = 0;
};
// step_s and step_tokens: one entry per timed step (same length, at least one).
EpochEstimate estimate_epoch(const std::vector<double>& step_s, const std::vector<int64_t>& step_tokens,
                             int64_t epoch_steps, double expected_tokens_per_step);

// Phi^-1(q), the standard normal quantile, for q in (0, 1) (to ~1e-12 in z).
double normal_quantile(double q);

}  // namespace zt::data
