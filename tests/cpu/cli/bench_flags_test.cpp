// `zerotune bench` flags that are checked before any GPU is touched: --lengths, --epoch_samples, --steps, and what
// --seq means under --lengths hh. Runs in CPU and CUDA builds alike (no command here reaches a timed step).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "core/json.hpp"
#include "cpu/test_process.hpp"

namespace {

struct Result {
  int rc = 0;
  std::string out;
};

Result bench(const std::string& flags) {
  Result r;
  r.out = zt::test::run_capture(std::string(ZT_EXE) + " bench " + flags + " 2>&1", r.rc);
  return r;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(BenchFlags, HelpDescribesTheLengthModes) {
  const Result r = bench("--help");
  ASSERT_EQ(r.rc, 0) << r.out;
  for (auto f : {"--lengths", "{fixed,hh}", "--epoch_samples", "(default: 15252)", "--seed", "max_seq_len", "40 with --lengths hh"})
    EXPECT_TRUE(has(r.out, f)) << f << "\n" << r.out;
}

TEST(BenchFlags, BadCombinationsAreRefusedByName) {
  Result r = bench("--lengths uniform");
  EXPECT_NE(r.rc, 0);
  EXPECT_TRUE(has(r.out, "--lengths 'uniform' is not one of the allowed values")) << r.out;

  r = bench("--epoch_samples 100");
  EXPECT_NE(r.rc, 0);
  EXPECT_TRUE(has(r.out, "--epoch_samples estimates an epoch of drawn lengths")) << r.out;
  EXPECT_TRUE(has(r.out, "add --lengths hh")) << r.out;

  r = bench("--lengths hh --epoch_samples 0");
  EXPECT_NE(r.rc, 0);
  EXPECT_TRUE(has(r.out, "--epoch_samples must be >= 1")) << r.out;

  r = bench("--lengths hh --steps 0");
  EXPECT_NE(r.rc, 0);
  EXPECT_TRUE(has(r.out, "--steps must be >= 1")) << r.out;

  r = bench("--lengths hh --seq 1");
  EXPECT_NE(r.rc, 0);
  EXPECT_TRUE(has(r.out, "--seq >= 2")) << r.out;
}

TEST(BenchFlags, HhWithAnotherSeqSaysWhatItMeans) {
  // A config that does not exist stops a CUDA build right after start-up; a CPU build stops at "needs a GPU".
  // Either way the note on --seq comes first.
  const Result r = bench("--lengths hh --seq 1024 --config /nonexistent/zt_bench_config.json");
  EXPECT_NE(r.rc, 0);
  EXPECT_TRUE(has(r.out, "--lengths hh with --seq 1024: drawn lengths are truncated at 1024 tokens (max_seq_len)")) << r.out;
  EXPECT_FALSE(has(bench("--lengths hh --config /nonexistent/zt_bench_config.json").out, "truncated at"));
#ifndef ZT_HAVE_CUDA
  EXPECT_TRUE(has(r.out, "needs a GPU")) << r.out;
#endif
}

TEST(BenchEpochScript, PairsTheHhLineWithTheMatchingPeer) {
  const std::string path = "/tmp/zt_bench_epoch_" + std::to_string(::getpid()) + ".jsonl";
  {
    std::ofstream f(path);
    f << "a log line\n"
      << R"({"engine": "zerotune", "device": "GPU", "layers": 32, "ckpt": 1, "lora": 128, "mbs": 4, "seq": 512, "lengths": "fixed", "step_s": 0.29})"
      << "\n"
      << R"({"engine": "zerotune", "device": "GPU", "layers": 32, "ckpt": 1, "lora": 128, "mbs": 4, "seq": 512, "lengths": "hh", "steps": 40, "world_size": 1, "max_seq_len": 512, "epoch_samples": 15252, "epoch_steps": 3813, "epoch_s": 400.0, "epoch_s_lo": 380.0, "epoch_s_hi": 420.0, "epoch_s_fit": 398.0, "real_tokens_per_epoch": 2257644, "padded_tokens_per_epoch": 7809024})"
      << "\n"
      << R"({"engine": "peer_torch", "device": "GPU", "layers": 32, "ckpt": 0, "full": 0, "lora": 128, "mbs": 4, "seq": 512, "step_s": 0.30})"
      << "\n"
      << R"({"device": "GPU", "layers": 32, "ckpt": 1, "full": 0, "lora": 128, "mbs": 4, "seq": 512, "step_s": 0.42})" << "\n";
  }
  int rc = 0;
  const std::string script = zt::test::repo() + "/scripts/bench-epoch.py";
  std::string out = zt::test::run_capture("/usr/bin/python3 " + script + " --json " + path + " 2>&1", rc);
  ASSERT_EQ(rc, 0) << out;
  const zt::Json j = zt::Json::parse(out);
  EXPECT_EQ(j["peer_step_s"].get<double>(), 0.42);  // the checkpointing-on peer, not the ckpt 0 one
  EXPECT_NEAR(j["peer_padded_epoch_s"].get<double>(), 3813 * 0.42, 0.05);
  EXPECT_NEAR(j["ratio"].get<double>(), 3813 * 0.42 / 400.0, 0.005);
  out = zt::test::run_capture("/usr/bin/python3 " + script + " " + path + " 2>&1", rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(has(out, "| GPU | on | 15,252 (3,813) | 400 s (6.7 min) (380–420) | 1,601 s (26.7 min) (0.4200 s × 3,813) | 4.00× |"))
      << out;
  // Without a matching peer line: an error that says which settings it looked for.
  out = zt::test::run_capture("grep -v '\"ckpt\": 1, \"full\"' " + path + " | /usr/bin/python3 " + script + " 2>&1", rc);
  EXPECT_NE(rc, 0);
  EXPECT_TRUE(has(out, "no peer_torch line with mbs 4, seq 512, layers 32, lora 128, ckpt 1")) << out;
  std::remove(path.c_str());
}
