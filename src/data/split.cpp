// Phase boundaries and per-phase row lists exactly as DeepSpeed-Chat's get_raw_dataset_split_index computes
// them (its .npy index cache is not reproduced; we recompute, which is cheap and never stale).
#include "data/split.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "core/error.hpp"
#include "data/permute.hpp"

namespace zt::data {

static std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\n\r\f\v"), e = s.find_last_not_of(" \t\n\r\f\v");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::vector<double> parse_data_split(const std::string& text, const std::string& flag) {
  std::vector<double> out;
  size_t start = 0;
  const std::string hint = "give comma-separated non-negative numbers, e.g. " + flag + " 2,4,4";
  for (;;) {
    size_t comma = text.find(',', start);
    std::string part = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    check(!part.empty(), flag + " '" + text + "': empty proportion", hint);
    char* end = nullptr;
    double v = std::strtod(part.c_str(), &end);
    check(end && *end == '\0' && std::isfinite(v), flag + " '" + text + "': '" + part + "' is not a number", hint);
    check(v >= 0, flag + " '" + text + "': negative proportion " + part, hint);
    out.push_back(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  double sum = 0;
  for (double v : out) sum += v;
  check(sum > 0, flag + " '" + text + "': the proportions sum to zero", hint);
  return out;
}

int64_t round_half_even(double x) {
  double r = std::floor(x);
  double frac = x - r;  // exact for doubles
  if (frac > 0.5 || (frac == 0.5 && std::fmod(r, 2.0) != 0.0)) r += 1.0;
  return int64_t(r);
}

std::vector<int64_t> split_boundaries(const std::vector<double>& weights, int64_t n) {
  check(!weights.empty(), "split_boundaries: no proportions");
  check(n >= 0, "split_boundaries: negative row count " + std::to_string(n));
  double sum = 0;
  for (double w : weights) sum += w;
  check(sum > 0, "split_boundaries: proportions sum to zero");
  std::vector<int64_t> b{0};
  for (double w : weights) b.push_back(b.back() + round_half_even((w / sum) * double(n)));
  int64_t drift = b.back() - n;
  for (size_t i = 1; i < b.size(); ++i) b[i] -= drift;
  // With rounding drift and tiny n a middle boundary can leave [0, n] (Python then slices silently); clamp the
  // slices the same way Python's slicing does when they are used.
  return b;
}

// Python slice a[lo:hi] bounds on a list of length n.
static void py_slice_bounds(int64_t n, int64_t& lo, int64_t& hi) {
  auto fix = [n](int64_t v) {
    if (v < 0) v = std::max<int64_t>(0, v + n);
    return std::min(v, n);
  };
  lo = fix(lo);
  hi = fix(hi);
  if (hi < lo) hi = lo;
}

PhaseSplit split_phases(int64_t n, const std::vector<double>& weights, uint32_t seed) {
  PhaseSplit out;
  out.boundaries = split_boundaries(weights, n);
  std::vector<int64_t> perm = numpy_shuffled_arange(n, seed);
  for (size_t k = 0; k + 1 < out.boundaries.size(); ++k) {
    int64_t lo = out.boundaries[k], hi = out.boundaries[k + 1];
    py_slice_bounds(n, lo, hi);
    out.phases.emplace_back(perm.begin() + lo, perm.begin() + hi);
  }
  return out;
}

std::vector<int64_t> phase_rows(int64_t n, const std::vector<double>& weights, uint32_t seed, int phase_index) {
  check(phase_index >= 0 && size_t(phase_index) < weights.size(),
        "phase " + std::to_string(phase_index + 1) + " does not exist in a split of " + std::to_string(weights.size()) +
            " proportions",
        "give at least as many --data_split proportions as the phase number");
  PhaseSplit s = split_phases(n, weights, seed);
  return std::move(s.phases[size_t(phase_index)]);
}

uint32_t numpy_seed(int64_t seed, const std::string& flag) {
  check(seed >= 0 && seed <= int64_t(0xffffffffLL), flag + " " + std::to_string(seed) + " is out of range",
        "NumPy's RandomState (used for DeepSpeed-Chat's split) takes seeds 0 .. 4294967295");
  return uint32_t(seed);
}

}  // namespace zt::data
