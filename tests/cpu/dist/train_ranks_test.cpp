// `zerotune launch --num_gpus N train …` on a host without GPUs: N CPU ranks over Gloo with ZeRO stages 0-3 reach the
// weights one process reaches with the same global batch (samples truncated to one length so every rank's micro-batch
// mean weighs tokens alike), and report per-rank state that shrinks as 1/N for the partitioned classes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <string>

#include "core/mmap.hpp"
#include "cpu/model/fixture_util.hpp"
#include "cpu/test_process.hpp"
#include "io/hf_checkpoint.hpp"

using namespace zt;
namespace fs = std::filesystem;

namespace {

struct RunOut {
  std::string log;
  fs::path out;
};

// One training run: `world` ranks through the launcher (world 0: a plain `zerotune train`, no launcher).
RunOut train(const fs::path& tmp, int world, int stage, int micro) {
  const std::string fx = std::string(ZT_SOURCE_DIR) + "/tests/fixtures/dschat";
  RunOut r;
  r.out = tmp / ("out_w" + std::to_string(world) + "_s" + std::to_string(stage));
  const std::string args = " --data_path " + fx + "/Dahoas/rm-static --model_name_or_path " + fx +
                           "/model --data_split 2,4,4 --max_seq_len 12 --per_device_train_batch_size " + std::to_string(micro) +
                           " --per_device_eval_batch_size 2 --learning_rate 5e-3 --num_train_epochs 1 --zero_stage " +
                           std::to_string(stage) + " --seed 1234 --output_dir " + r.out.string() + " --data_output_path " +
                           (tmp / "cache").string();
  const int port = 20000 + (::getpid() * 7 + world * 13 + stage) % 20000;
  const std::string cmd = "OMP_NUM_THREADS=1 " + std::string(ZT_EXE) +
                          (world == 0 ? std::string(" train") : " launch --num_gpus " + std::to_string(world) + " --master_port " +
                                                                    std::to_string(port) + " train") +
                          args + " 2>&1";
  int rc = 0;
  r.log = test::run_capture(cmd, rc);
  EXPECT_EQ(rc, 0) << cmd << "\n" << r.log;
  if (getenv("ZT_TEST_VERBOSE")) std::printf("%s\n%s\n", cmd.c_str(), r.log.c_str());
  return r;
}

void expect_same_weights(const fs::path& a, const fs::path& b, double tol, const std::string& what) {
  HfCheckpoint ca = HfCheckpoint::open(a.string()), cb = HfCheckpoint::open(b.string());
  ASSERT_EQ(ca.size(), cb.size()) << what;
  for (auto& n : ca.names()) EXPECT_LT(test::rel_err(cb.load(n, DType::f32), ca.load(n, DType::f32)), tol) << what << " " << n;
}

TEST(TrainRanks, StagesAndRankCountsReachTheSameWeights) {
  const fs::path tmp = fs::temp_directory_path() / ("zt_ranks_" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  const RunOut one = train(tmp, 0, 0, 4);  // one process, micro-batch 4 (= 2 ranks x 2)
  ASSERT_TRUE(fs::exists(one.out / "config.json")) << one.log;
  for (int stage = 0; stage <= 3; ++stage) {
    const RunOut two = train(tmp, 2, stage, 2);
    EXPECT_NE(two.log.find("[rank 1]"), std::string::npos) << two.log;
    expect_same_weights(one.out, two.out, 2e-5, "2 ranks, stage " + std::to_string(stage));
    // the per-rank state report (printed by every rank at start-up)
    std::smatch m;
    EXPECT_TRUE(std::regex_search(two.log, m, std::regex("rank 1 ZeRO-" + std::to_string(stage) + " state: parameters"))) << two.log;
  }
  fs::remove_all(tmp);
}

}  // namespace
