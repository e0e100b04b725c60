// Quantile-defined sequence-length distributions (see lengths.hpp): the normal quantile function and the
// piecewise log-normal inverse CDF.
#include "data/lengths.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace zt::data {

namespace {
double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }
double normal_pdf(double z) { return std::exp(-0.5 * z * z) / std::sqrt(2.0 * M_PI); }
}  // namespace

double normal_quantile(double q) {
  check(q > 0.0 && q < 1.0, "normal_quantile: q = " + std::to_string(q) + " is outside (0, 1)");
  if (q > 0.5) return -normal_quantile(1.0 - q);  // 1 - q is exact here; the lower tail keeps full precision
  if (q == 0.5) return 0.0;
  // Newton on ln Phi(z) = ln q (well scaled in the far tail), kept inside a shrinking bracket [lo, hi].
  double lo = -40.0, hi = 0.0, z = -std::sqrt(-2.0 * std::log(q));
  const double lq = std::log(q);
  for (int it = 0; it < 200; ++it) {
    const double p = normal_cdf(z);
    double next;
    if (p <= 0.0) {
      lo = z;
      next = 0.5 * (lo + hi);
    } else {
      (p < q ? lo : hi) = z;
      next = z - (std::log(p) - lq) * p / normal_pdf(z);
      if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    }
    if (std::fabs(next - z) < 1e-13) return next;
    z = next;
  }
  return z;
}

LengthDistribution::LengthDistribution(std::string name, std::vector<LengthQuantile> knots, int64_t min_len, int64_t max_len)
    : name_(std::move(name)), min_len_(min_len), max_len_(max_len) {
  check(knots.size() >= 2, "length distribution '" + name_ + "': needs at least two quantiles");
  check(min_len >= 1 && max_len >= min_len,
        "length distribution '" + name_ + "': bad length range [" + std::to_string(min_len) + ", " + std::to_string(max_len) + "]");
  for (size_t i = 0; i < knots.size(); ++i) {
    const LengthQuantile& k = knots[i];
    check(k.q > 0.0 && k.q < 1.0 && k.length > 0.0,
          "length distribution '" + name_ + "': quantile " + std::to_string(i) + " (q " + std::to_string(k.q) + ", length " +
              std::to_string(k.length) + ") needs 0 < q < 1 and length > 0");
    if (i > 0)
      check(k.q > knots[i - 1].q && k.length >= knots[i - 1].length,
            "length distribution '" + name_ + "': quantiles must increase in q and not decrease in length");
    z_.push_back(normal_quantile(k.q));
    log_len_.push_back(std::log(k.length));
  }
}

LengthDistribution LengthDistribution::hh_rlhf_llama3(int64_t max_len) {
  return LengthDistribution("hh", {{0.10, 36}, {0.50, 120}, {0.90, 312}, {0.984, 512}, {0.99, 599}}, 2, max_len);
}

double LengthDistribution::quantile(double q) const { return length_at_z(normal_quantile(q)); }

double LengthDistribution::length_at_z(double z) const {
  // the segment [i, i + 1] holding z; below the first or above the last knot, the end segment extended
  const size_t n = z_.size();
  size_t i = size_t(std::upper_bound(z_.begin(), z_.end(), z) - z_.begin());
  i = std::clamp<size_t>(i, 1, n - 1) - 1;
  const double t = (z - z_[i]) / (z_[i + 1] - z_[i]);
  return std::exp(log_len_[i] + t * (log_len_[i + 1] - log_len_[i]));
}

int64_t LengthDistribution::clamp_length(double x) const {
  x = std::min(std::round(x), double(max_len_));  // min first: the far tail may exceed int64
  return std::clamp(int64_t(x), min_len_, max_len_);
}

int64_t LengthDistribution::length_at(double q) const { return clamp_length(quantile(q)); }

namespace {
// (k + 0.5) / 2^53 for 53 random bits k: uniform on (0, 1), never 0 or 1.
double open_unit(std::mt19937_64& rng) { return (double(rng() >> 11) + 0.5) * 0x1.0p-53; }
}  // namespace

int64_t LengthDistribution::draw(std::mt19937_64& rng) const { return length_at(open_unit(rng)); }
double LengthDistribution::draw_uncapped(std::mt19937_64& rng) const { return quantile(open_unit(rng)); }

double LengthDistribution::mean_length() const {
  // Trapezoid over z in [-12, 12] (the normal mass outside is below 1e-32) on a grid fine enough to resolve each
  // rounding step of the integrand; the clamp makes the far tails constant.
  const int n = 240000;
  const double a = -12.0, h = 24.0 / n;
  double sum = 0.0;
  for (int i = 0; i <= n; ++i) {
    const double z = a + h * i;
    sum += (i == 0 || i == n ? 0.5 : 1.0) * double(clamp_length(length_at_z(z))) * normal_pdf(z);
  }
  return sum * h;
}

EpochEstimate estimate_epoch(const std::vector<double>& step_s, const std::vector<int64_t>& step_tokens,
                             int64_t epoch_steps, double expected_tokens_per_step) {
  check(!step_s.empty() && step_s.size() == step_tokens.size(),
        "estimate_epoch: needs one token count per timed step and at least one step");
  EpochEstimate e;
  const double n = double(step_s.size());
  e.steps = int64_t(step_s.size());
  double mt = 0;
  for (size_t i = 0; i < step_s.size(); ++i) {
    e.step_s += step_s[i] / n;
    mt += double(step_tokens[i]) / n;
  }
  double ss = 0, st = 0, stt = 0;
  for (size_t i = 0; i < step_s.size(); ++i) {
    const double ds = step_s[i] - e.step_s, dtok = double(step_tokens[i]) - mt;
    ss += ds * ds;
    st += ds * dtok;
    stt += dtok * dtok;
  }
  e.step_s_sd = step_s.size() > 1 ? std::sqrt(ss / (n - 1)) : 0.0;
  const double se = e.step_s_sd / std::sqrt(n);
  e.epoch_s = double(epoch_steps) * e.step_s;
  e.epoch_s_lo = double(epoch_steps) * std::max(0.0, e.step_s - 2 * se);
  e.epoch_s_hi = double(epoch_steps) * (e.step_s + 2 * se);
  e.s_per_token = stt > 0 ? st / stt : 0.0;
  e.base_s = e.step_s - e.s_per_token * mt;
  e.epoch_s_fit = double(epoch_steps) * (e.base_s + e.s_per_token * expected_tokens_per_step);
  return e;
}

}  // namespace zt::data
