// Regression corpus for the safetensors parser without clang: hostile byte strings plus every input the
// fuzzer ever crashed on (tests/fuzz/regressions/) go through the same routine the fuzz target runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/safetensors_exercise.hpp"
#include "io_test_util.hpp"

using namespace zt;
using namespace zt::iotest;

namespace {

bool run(const std::string& bytes) {
  return fuzz::exercise_safetensors(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

std::string entry(const std::string& dtype, const std::string& shape, const std::string& offsets) {
  return R"({"t":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}}";
}

}  // namespace

TEST(SafetensorsCorpus, HostileInputsAreRejectedCleanly) {
  const std::string d16(16, '\x7f');
  std::vector<std::string> rejected = {
      std::string(),
      std::string(7, '\0'),
      std::string(8, '\0'),                                // N = 0: empty header is not JSON
      le64(1) + "{",                                       // truncated JSON
      le64(8) + "{}",                                      // N past the end by 6
      le64(uint64_t(1) << 63) + "{}",                      // N near 2^63: must not wrap
      le64(uint64_t(-8)) + "{}",                           // 8 + N wraps to 0
      st_bytes("null", ""),
      st_bytes("\"str\"", ""),
      st_bytes("1e999", ""),                               // number overflow inside the JSON parser
      st_bytes(R"({"t":1e999})", ""),
      st_bytes(std::string("{\"t\":\"\0\"}", 9), ""),      // raw NUL inside a string
      st_bytes(entry("F32", "[1]", "[0,18446744073709551615]"), d16),
      st_bytes(entry("F32", "[1]", "[18446744073709551612,18446744073709551616]"), d16),
      st_bytes(entry("F32", "[9223372036854775807]", "[0,4]"), d16),
      st_bytes(entry("F32", "[4611686018427387904]", "[0,4]"), d16),  // numel * 32 bits overflows
      st_bytes(entry("BF16", "[3037000500,3037000500]", "[0,4]"), d16),
      st_bytes(entry("F32", "[4]", "[4,20]"), d16),        // one byte past the data region
      st_bytes(entry("F32", "[1]", "[0,4,8]"), d16),
      st_bytes(entry("F32", "[1]", "[0.0,4.0]"), d16),
      st_bytes(entry("F32", "[1]", "[null,4]"), d16),
      st_bytes(entry("", "[1]", "[0,4]"), d16),
      st_bytes(entry("f32", "[1]", "[0,4]"), d16),         // dtype names are upper case
      st_bytes(entry("F32", "[]", "[0,0]"), d16),          // a scalar needs 4 bytes
      st_bytes(entry("F32", "{}", "[0,4]"), d16),
      st_bytes(R"({"__metadata__":null})", d16),
      st_bytes(R"({"a":{"dtype":"I32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}})", d16),
      st_bytes(R"({"a":{"dtype":"I32","shape":[2],"data_offsets":[4,12]},"b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})", d16),
      st_bytes(std::string(4000, '{'), ""),
      st_bytes("{\"a\":" + std::string(2000, '[') + std::string(2000, ']') + "}", ""),
  };
  for (size_t i = 0; i < rejected.size(); ++i) EXPECT_FALSE(run(rejected[i])) << "case " << i;

  std::vector<std::string> accepted = {
      st_bytes("{}", ""),
      st_bytes(" { } ", "trailing"),
      st_bytes(entry("F32", "[0,9223372036854775807]", "[16,16]"), d16),  // empty, at the very end
      st_bytes(entry("F16", "[2,2,2]", "[0,16]"), d16),
      st_bytes(entry("F64", "[2]", "[0,16]"), d16, /*pad=*/false),      // misaligned data
      st_bytes(entry("F8_E5M2", "[16]", "[0,16]"), d16),
      st_bytes(entry("F4", "[2]", "[15,16]"), d16),
  };
  for (size_t i = 0; i < accepted.size(); ++i) EXPECT_TRUE(run(accepted[i])) << "case " << i;
}

TEST(SafetensorsCorpus, FuzzerRegressions) {
  std::filesystem::path dir = std::filesystem::path(ZT_SOURCE_DIR) / "tests/fuzz/regressions";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().filename() == "README.md") continue;
    std::ifstream f(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    run(bytes);  // must return (accept or reject) without crashing or throwing anything but zt::Error
    ++n;
  }
  SUCCEED() << n << " regression inputs";
}
