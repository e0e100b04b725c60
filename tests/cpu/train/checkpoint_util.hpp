// Helpers for the checkpoint suites: `zerotune train` runs on the DeepSpeed-Chat fixture (one process or N ranks through
// the launcher), their metrics JSONL, and comparisons of saved models.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "cpu/model/fixture_util.hpp"
#include "cpu/test_process.hpp"
#include "io/hf_checkpoint.hpp"

namespace zt::test {

namespace fs = std::filesystem;

struct TrainRun {
  std::string log;
  int rc = 0;
};

inline std::string dschat_fixture() { return std::string(ZT_SOURCE_DIR) + "/tests/fixtures/dschat"; }

// `zerotune train` on the fixture with `flags` appended; `world` 0 = one process without the launcher. `env` prefixes
// the command (VAR=value ...).
inline TrainRun zerotune_train(const std::string& flags, int world = 0, const std::string& env = "") {
  const std::string fx = dschat_fixture();
  const int port = 20000 + int((::getpid() * 11 + std::hash<std::string>{}(flags) % 997) % 20000);
  const std::string cmd = "OMP_NUM_THREADS=1 " + env + " " + std::string(ZT_EXE) +
                          (world == 0 ? std::string(" train")
                                      : " launch --num_gpus " + std::to_string(world) + " --master_port " + std::to_string(port) + " train") +
                          " --data_path " + fx + "/Dahoas/rm-static --model_name_or_path " + fx + "/model --seed 1234 " + flags + " 2>&1";
  TrainRun r;
  r.log = run_capture(cmd, r.rc);
  if (getenv("ZT_TEST_VERBOSE")) std::printf("%s\n%s\n", cmd.c_str(), r.log.c_str());
  return r;
}

// The metrics JSONL as {step, tag} -> value for the tags that do not depend on timing.
inline std::map<std::pair<int64_t, std::string>, double> metrics_of(const fs::path& jsonl) {
  std::map<std::pair<int64_t, std::string>, double> m;
  std::ifstream in(jsonl);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    Json j = parse_json(line, jsonl.string());
    for (auto& [k, v] : j.items())
      if (k != "step" && k != "time" && k.find("_per_s") == std::string::npos && v.is_number())
        m[{j["step"].get<int64_t>(), k}] = v.get<double>();
  }
  return m;
}

// The first step with a train/loss in a metrics JSONL (-1: none): a resumed run starts after its checkpoint.
inline int64_t first_train_step(const fs::path& jsonl) {
  for (auto& [key, v] : metrics_of(jsonl))
    if (key.second == "train/loss") return key.first;
  return -1;
}

// Every tensor of two hub-format model directories byte for byte.
inline void expect_identical_models(const fs::path& a, const fs::path& b, const std::string& what) {
  HfCheckpoint ca = HfCheckpoint::open(a.string()), cb = HfCheckpoint::open(b.string());
  ASSERT_EQ(ca.size(), cb.size()) << what;
  for (auto& n : ca.names()) {
    Tensor x = ca.view(n), y = cb.view(n);
    ASSERT_EQ(x.nbytes(), y.nbytes()) << what << " " << n;
    EXPECT_EQ(std::memcmp(x.raw(), y.raw(), x.nbytes()), 0) << what << ": " << n << " differs";
  }
}

inline void expect_close_models(const fs::path& a, const fs::path& b, double tol, const std::string& what) {
  HfCheckpoint ca = HfCheckpoint::open(a.string()), cb = HfCheckpoint::open(b.string());
  ASSERT_EQ(ca.size(), cb.size()) << what;
  for (auto& n : ca.names()) EXPECT_LT(rel_err(cb.load(n, DType::f32), ca.load(n, DType::f32)), tol) << what << " " << n;
}

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A fresh temporary directory for one test, removed by the destructor (kept with ZT_TEST_KEEP=1).
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name) : path(fs::temp_directory_path() / (name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    if (!getenv("ZT_TEST_KEEP")) fs::remove_all(path);
  }
};

}  // namespace zt::test
