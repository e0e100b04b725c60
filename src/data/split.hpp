// DeepSpeed-Chat's split of one dataset split into training phases (--data_split "2,4,4") and the blend of
// several datasets, reproduced exactly (float proportions, round-half-even boundaries, drift fix, NumPy shuffle).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace zt::data {

// "2,4,4" -> {2, 4, 4} parsed like Python's float(); `flag` names the source in errors. Empty parts, NaN,
// infinities, negative values and an all-zero list are rejected.
std::vector<double> parse_data_split(const std::string& text, const std::string& flag = "--data_split");

// Python's round() on a double: nearest integer, ties to even.
int64_t round_half_even(double x);

// Phase boundaries for n rows: b[0] = 0, b[i+1] = b[i] + round(p_i * n) with p_i = w_i / sum(w) (sum summed left to
// right as Python < 3.12 does), then every boundary after the first moved by b.back() - n so that b.back() == n.
std::vector<int64_t> split_boundaries(const std::vector<double>& weights, int64_t n);

struct PhaseSplit {
  std::vector<int64_t> boundaries;           // size phases + 1, first 0, last n
  std::vector<std::vector<int64_t>> phases;  // row indices of each phase, in DeepSpeed-Chat's order
};

// get_raw_dataset_split_index for every phase at once: the NumPy RandomState(seed) permutation of arange(n)
// cut at split_boundaries(weights, n).
PhaseSplit split_phases(int64_t n, const std::vector<double>& weights, uint32_t seed);

// Only phase `phase_index` (0-based; step 1 of DeepSpeed-Chat uses 0).
std::vector<int64_t> phase_rows(int64_t n, const std::vector<double>& weights, uint32_t seed, int phase_index);

// Seeds are ints in DeepSpeed-Chat but NumPy's RandomState only takes 0 .. 2^32-1: checked here, naming `flag`.
uint32_t numpy_seed(int64_t seed, const std::string& flag = "--seed");

}  // namespace zt::data
