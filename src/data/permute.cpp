// NumPy legacy shuffle and torch CPU randperm over the standard MT19937 (std::mt19937 is bit-identical: the
// same recurrence, tempering and init_genrand seeding that both NumPy's legacy seeding and ATen use).
#include "data/permute.hpp"

#include <random>

#include "core/error.hpp"

namespace zt::data {

namespace {

// NumPy's random_interval(max): smallest all-ones mask >= max, redraw until (draw & mask) <= max.
uint64_t numpy_random_interval(std::mt19937& mt, uint64_t max) {
  if (max == 0) return 0;
  uint64_t mask = max;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  mask |= mask >> 32;
  uint64_t value;
  if (max <= 0xffffffffULL) {
    while ((value = (uint64_t(mt()) & mask)) > max) {
    }
  } else {
    for (;;) {
      uint64_t hi = mt();
      uint64_t lo = mt();
      value = ((hi << 32) | lo) & mask;
      if (value <= max) break;
    }
  }
  return value;
}

}  // namespace

std::vector<int64_t> numpy_shuffled_arange(int64_t n, uint32_t seed) {
  check(n >= 0, "numpy_shuffled_arange: negative size " + std::to_string(n));
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[size_t(i)] = i;
  std::mt19937 mt(seed);
  for (int64_t i = n - 1; i >= 1; --i) {
    auto j = int64_t(numpy_random_interval(mt, uint64_t(i)));
    std::swap(idx[size_t(i)], idx[size_t(j)]);
  }
  return idx;
}

std::vector<int64_t> torch_randperm(int64_t n, uint64_t seed) {
  check(n >= 0, "torch_randperm: negative size " + std::to_string(n));
  std::vector<int64_t> r(static_cast<size_t>(n));
  std::mt19937 mt(uint32_t(seed & 0xffffffffULL));
  if (n < int64_t(0xffffffffULL / 20)) {
    for (int64_t i = 0; i < n; ++i) r[size_t(i)] = i;
    for (int64_t i = 0; i + 1 < n; ++i) {
      int64_t z = int64_t(uint64_t(mt()) % uint64_t(n - i));
      std::swap(r[size_t(i)], r[size_t(z + i)]);
    }
    return r;
  }
  for (int64_t i = 0; i < n; ++i) {
    uint64_t hi = mt();
    uint64_t lo = mt();
    auto z = int64_t(((hi << 32) | lo) % uint64_t(i + 1));
    r[size_t(i)] = r[size_t(z)];
    r[size_t(z)] = i;
  }
  return r;
}

}  // namespace zt::data
