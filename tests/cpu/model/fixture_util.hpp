// Helpers for tests against the Hugging Face fixtures in tests/fixtures/hf (made by
// tools/fixtures/make_hf_fixtures.py with transformers/peft in float64).
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/json.hpp"
#include "core/tensor.hpp"
#include "io/safetensors.hpp"

namespace zt::test {

inline std::string fixture_dir(const std::string& name) { return std::string(ZT_SOURCE_DIR) + "/tests/fixtures/hf/" + name; }

struct Fixture {
  SafetensorsFile tensors;
  Json scalars;
  static Fixture open(const std::string& name) {
    Fixture f{SafetensorsFile::open(fixture_dir(name) + "/fixture.safetensors"),
              load_json_file(fixture_dir(name) + "/fixture.json")};
    EXPECT_EQ(f.tensors.metadata().at("magic"), "zerotune-fixture");
    EXPECT_EQ(f.tensors.metadata().at("version"), "1");
    EXPECT_EQ(f.scalars.at("magic"), "zerotune-fixture");
    return f;
  }
};

// ||a - b|| / ||b|| over all elements, both read as double.
inline double rel_err(const Tensor& a, const Tensor& b) {
  Tensor x = a.to_dtype(DType::f64), y = b.to_dtype(DType::f64);
  EXPECT_EQ(x.numel(), y.numel());
  double num = 0, den = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    double d = x.data<double>()[i] - y.data<double>()[i];
    num += d * d;
    den += y.data<double>()[i] * y.data<double>()[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

}  // namespace zt::test
