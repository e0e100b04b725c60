// zerotune's Parquet reader on files from the test writer (every encoding/page/codec combination, nulls,
// unicode, several row groups and pages), error messages for unsupported input, and mutation fuzzing: a
// malformed file must raise zt::Error, never crash or throw anything else.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "core/error.hpp"
#include "data/table.hpp"
#include "data_test_util.hpp"
#include "parquet_writer.hpp"

using namespace zt;
using namespace zt::data;
using zt::test::TestColumn;

namespace {

std::vector<TestColumn> sample_columns(size_t n) {
  TestColumn prompt{"prompt", 6, false, {}, {}}, rejected{"rejected", 6, true, {}, {}}, id{"id", 2, false, {}, {}},
      small{"small", 1, true, {}, {}};
  const char* extras[] = {"", "héllo", "日本語", "🤖🚀", "a\tb\nc"};
  for (size_t r = 0; r < n; ++r) {
    prompt.s.push_back("\n\nHuman: q" + std::to_string(r % 4) + extras[r % 5] + "\n\nAssistant:");
    rejected.s.push_back(r % 3 == 1 ? std::nullopt : std::optional<std::string>(r % 2 ? " no" : ""));
    id.i.push_back(int64_t(r) * 1000000007LL - 5000000000LL);
    small.i.push_back(r % 4 == 0 ? std::nullopt : std::optional<int64_t>(int64_t(r % 3) - 1));
  }
  return {prompt, rejected, id, small};
}

std::string write_temp(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::string p = dir + "/" + name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

void expect_equal(const Table& t, const std::vector<TestColumn>& cols) {
  ASSERT_EQ(t.columns.size(), cols.size());
  for (size_t k = 0; k < cols.size(); ++k) {
    const Column& c = t.columns[k];
    EXPECT_EQ(c.name, cols[k].name);
    ASSERT_EQ(c.size(), cols[k].rows());
    for (size_t r = 0; r < c.size(); ++r) {
      if (cols[k].type == 6) {
        ASSERT_EQ(c.type, ColumnType::string);
        ASSERT_EQ(c.is_null(r), !cols[k].s[r].has_value()) << c.name << " row " << r;
        if (cols[k].s[r]) {
          EXPECT_EQ(c.strings[r], *cols[k].s[r]) << c.name << " row " << r;
        }
      } else {
        ASSERT_EQ(c.type, ColumnType::int64);
        ASSERT_EQ(c.is_null(r), !cols[k].i[r].has_value()) << c.name << " row " << r;
        if (cols[k].i[r]) {
          int64_t want = cols[k].type == 1 ? int64_t(int32_t(*cols[k].i[r])) : *cols[k].i[r];
          EXPECT_EQ(c.ints[r], want) << c.name << " row " << r;
        }
      }
    }
  }
}

}  // namespace

TEST(ParquetReader, AllCombinations) {
  std::string dir = test::temp_dir("parquet_combos");
  for (size_t n : {0, 1, 23}) {
    auto cols = sample_columns(n);
    for (int codec : {0, 1, 2, 6})
      for (bool dict : {false, true})
        for (int page : {1, 2}) {
          test::WriteOptions o;
          o.codec = codec;
          o.dictionary = dict;
          o.page_version = page;
          std::string name = "t" + std::to_string(n) + "_" + std::to_string(codec) + (dict ? "d" : "p") + std::to_string(page) + ".parquet";
          SCOPED_TRACE(name);
          std::string p = write_temp(dir, name, test::write_parquet(cols, o));
          Table t = read_parquet(p);
          EXPECT_EQ(t.num_rows, n);
          expect_equal(t, cols);
          // Column selection keeps the requested order.
          ReadOptions ro;
          ro.columns = {"small", "prompt"};
          Table s = read_table(p, ro);
          ASSERT_EQ(s.column_names(), (std::vector<std::string>{"small", "prompt"}));
          expect_equal(s, {cols[3], cols[0]});
        }
  }
}

TEST(ParquetReader, Errors) {
  std::string dir = test::temp_dir("parquet_errors");
  auto cols = sample_columns(5);
  std::string p = write_temp(dir, "ok.parquet", test::write_parquet(cols, {}));
  ReadOptions ro;
  ro.columns = {"missing"};
  try {
    read_parquet(p, ro);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no column 'missing'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("prompt, rejected, id, small"), std::string::npos) << e.what();
  }
  std::string q = write_temp(dir, "not.parquet", "hello world, not parquet");
  EXPECT_THROW(read_parquet(q), Error);
  EXPECT_THROW(read_table(dir + "/x.csv"), Error);
}

TEST(ParquetReader, MalformedNeverCrashes) {
  std::string dir = test::temp_dir("parquet_fuzz");
  auto cols = sample_columns(11);
  std::mt19937 rng(7);
  size_t errors = 0, ok = 0;
  for (int variant = 0; variant < 4; ++variant) {
    test::WriteOptions o;
    o.codec = variant == 3 ? 1 : 0;
    o.dictionary = variant & 1;
    o.page_version = variant & 2 ? 2 : 1;
    std::string good = test::write_parquet(cols, o);
    for (int it = 0; it < 600; ++it) {
      std::string bad = good;
      int kind = it % 3;
      if (kind == 0) {
        bad[rng() % bad.size()] ^= char(1 + rng() % 255);
      } else if (kind == 1) {
        for (int k = 0; k < 4; ++k) bad[rng() % bad.size()] = char(rng());
      } else {
        // Truncate, keeping a valid-looking trailer so the footer parse runs on garbage.
        size_t cut = 8 + rng() % (bad.size() - 8);
        bad = bad.substr(0, cut) + bad.substr(bad.size() - 8);
      }
      std::string p = write_temp(dir, "m.parquet", bad);
      try {
        read_parquet(p);
        ++ok;
      } catch (const Error&) {
        ++errors;
      } catch (const std::exception& e) {
        ADD_FAILURE() << "non-zt exception: " << e.what() << " (variant " << variant << ", iteration " << it << ")";
      }
    }
  }
  EXPECT_GT(errors, 100u);
  (void)ok;
}
