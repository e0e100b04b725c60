// zerotune's Parquet reader against independent implementations: files written by pyarrow (committed fixtures
// from tools/fixtures/make_parquet_fixtures.py) and by npm hyparquet-writer, rows cross-checked with npm hyparquet.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/json.hpp"
#include "data/table.hpp"
#include "data_test_util.hpp"
#include "parquet_writer.hpp"

using namespace zt;
using namespace zt::data;
namespace fs = std::filesystem;

namespace {

std::string modules() { return test::repo() + "/.cache/npm/data-oracles/node_modules"; }
std::string oracle_js() { return test::repo() + "/tests/cpu/data/parquet_oracle.mjs"; }
std::string fixtures() { return test::repo() + "/tests/fixtures/parquet"; }

// Installs hyparquet & co. via scripts/fetch-data-oracles.sh; "" on success. Tests FAIL (not skip) without npm.
std::string ensure_oracles() {
  int rc = 0;
  std::string out = test::run_capture("bash '" + test::repo() + "/scripts/fetch-data-oracles.sh' 2>&1", rc);
  return rc == 0 ? "" : "scripts/fetch-data-oracles.sh failed (exit " + std::to_string(rc) + "):\n" + out;
}

Json hyparquet_read(const std::vector<std::string>& files) {
  std::string cmd = "node '" + oracle_js() + "' '" + modules() + "' read";
  for (auto& f : files) cmd += " '" + f + "'";
  int rc = 0;
  std::string out = test::run_capture(cmd + " 2>&1", rc);
  if (rc != 0) throw std::runtime_error("hyparquet failed: " + out);
  return Json::parse(out);
}

void expect_rows(const Table& t, const Json& rows, const std::string& what) {
  ASSERT_EQ(t.num_rows, rows.size()) << what;
  for (size_t r = 0; r < t.num_rows; ++r) {
    Json mine = t.row_json(r);
    Json want = Json::object();
    for (auto& c : t.columns) want[c.name] = rows[r].contains(c.name) ? rows[r][c.name] : Json();
    ASSERT_EQ(mine, want) << what << " row " << r;
  }
  if (!rows.empty()) {
    for (auto it = rows[0].begin(); it != rows[0].end(); ++it) EXPECT_NE(t.find(it.key()), nullptr) << what << ": column " << it.key();
  }
}

}  // namespace

TEST(ParquetOracle, HyparquetWriterFiles) {
  std::string err = ensure_oracles();
  ASSERT_EQ(err, "");
  std::string dir = test::temp_dir("hyparquet_writer");
  int rc = 0;
  std::string out = test::run_capture("node '" + oracle_js() + "' '" + modules() + "' write '" + dir + "' 2>&1", rc);
  ASSERT_EQ(rc, 0) << out;
  Json expected = load_json_file(dir + "/expected.json");
  ASSERT_GE(expected["files"].size(), 4u);
  for (auto& f : expected["files"]) {
    std::string p = dir + "/" + f.get<std::string>();
    SCOPED_TRACE(p);
    expect_rows(read_parquet(p), expected["rows"], p);
  }
}

// Files from zerotune's own test writer (v1 and v2 pages, every codec) read by hyparquet must equal what our
// reader returns: the writer follows the format, so our reader's v1/RLE paths agree with an independent reader.
TEST(ParquetOracle, TestWriterFilesAgreeWithHyparquet) {
  std::string err = ensure_oracles();
  ASSERT_EQ(err, "");
  std::string dir = test::temp_dir("hyparquet_cross");
  test::TestColumn s{"s", 6, true, {}, {}}, i{"i", 2, false, {}, {}}, j{"j", 1, true, {}, {}};
  for (int r = 0; r < 19; ++r) {
    s.s.push_back(r % 4 == 2 ? std::nullopt : std::optional<std::string>(std::string(size_t(r % 3), 'x') + "é" + std::to_string(r % 5)));
    i.i.push_back(int64_t(r) * 77777777777LL - 123456789012LL);
    j.i.push_back(r % 5 == 0 ? std::nullopt : std::optional<int64_t>(r % 4 - 2));
  }
  std::vector<std::string> files;
  for (int codec : {0, 1, 2, 6})
    for (bool dict : {false, true})
      for (int page : {1, 2}) {
        test::WriteOptions o;
        o.codec = codec, o.dictionary = dict, o.page_version = page;
        std::string p = dir + "/w" + std::to_string(codec) + (dict ? "d" : "p") + std::to_string(page) + ".parquet";
        std::ofstream(p, std::ios::binary) << test::write_parquet({s, i, j}, o);
        files.push_back(p);
      }
  Json ref = hyparquet_read(files);
  for (auto& f : files) {
    SCOPED_TRACE(f);
    expect_rows(read_parquet(f), ref[f], f);
  }
}

TEST(ParquetOracle, PyarrowFixtures) {
  if (!fs::exists(fixtures() + "/expected.json"))
    GTEST_SKIP() << "tests/fixtures/parquet/expected.json absent: run `python3 tools/fixtures/make_parquet_fixtures.py` on a "
                    "machine with pyarrow and commit tests/fixtures/parquet/";
  Json expected = load_json_file(fixtures() + "/expected.json");
  std::string err = ensure_oracles();
  ASSERT_EQ(err, "");
  std::vector<std::string> files;
  for (auto& f : expected["files"]) files.push_back(fixtures() + "/" + f["file"].get<std::string>());
  Json ref = hyparquet_read(files);
  ASSERT_GE(files.size(), 30u);
  for (auto& f : expected["files"]) {
    std::string p = fixtures() + "/" + f["file"].get<std::string>();
    SCOPED_TRACE(f.dump());
    Table t = read_parquet(p);
    expect_rows(t, expected["tables"][f["table"].get<std::string>()], p + " vs pyarrow");
    expect_rows(t, ref[p], p + " vs hyparquet");
  }
  for (auto& e : expected["errors"]) {
    std::string p = fixtures() + "/" + e["file"].get<std::string>();
    SCOPED_TRACE(p);
    try {
      read_parquet(p);
      ADD_FAILURE() << "no error for " << p;
    } catch (const Error& x) {
      std::string msg = x.what();
      EXPECT_NE(msg.find("'" + e["column"].get<std::string>() + "'"), std::string::npos) << msg;
      EXPECT_NE(msg.find(e["contains"].get<std::string>()), std::string::npos) << msg;
      EXPECT_NE(msg.find(p), std::string::npos) << msg;
    }
  }
}
