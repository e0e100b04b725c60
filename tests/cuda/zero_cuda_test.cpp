// ZeRO across GPUs: `zerotune launch --num_gpus 2 train … --zero_stage 3` in bf16 (NCCL) reaches the weights that one
// GPU reaches with the same global batch (samples truncated to one length), within bf16 tolerance. Skipped with
// fewer than two GPUs.
#include <gtest/gtest.h>
#include <cuda_runtime.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "core/mmap.hpp"
#include "cpu/model/fixture_util.hpp"
#include "cpu/test_process.hpp"
#include "io/hf_checkpoint.hpp"
#include "run_util.hpp"

using namespace zt;
namespace fs = std::filesystem;

namespace {

using cudatest::exe;
using cudatest::fixture;

std::string train(const fs::path& out, const std::string& launcher, int micro, int stage, const fs::path& cache,
                  const std::string& extra = "") {
  const std::string fx = fixture();
  const std::string cmd = launcher + " train --data_path " + fx + "/Dahoas/rm-static --model_name_or_path " + fx +
                          "/model --data_split 2,4,4 --max_seq_len 12 --per_device_train_batch_size " + std::to_string(micro) +
                          " --per_device_eval_batch_size 2 --learning_rate 5e-3 --num_train_epochs 2 --dtype bf16 --zero_stage " +
                          std::to_string(stage) + " --seed 1234 --output_dir " + out.string() + " --data_output_path " + cache.string() + " " + extra +
                          " 2>&1";
  int rc = 0;
  std::string log = test::run_capture(cmd, rc);
  EXPECT_EQ(rc, 0) << cmd << "\n" << log;
  return log;
}

TEST(ZeroCuda, TwoGpuStage3MatchesOneGpu) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n < 2) GTEST_SKIP() << "needs 2 GPUs, found " << n;
  const fs::path tmp = fs::temp_directory_path() / ("zt_zero_cuda_" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  const std::string one_log = train(tmp / "one", "CUDA_VISIBLE_DEVICES=0 " + exe(), 4, 0, tmp / "cache");
  for (int stage : {2, 3}) {
    const fs::path out = tmp / ("two_s" + std::to_string(stage));
    const std::string log = train(out, exe() + " launch --num_gpus 2 --master_port " + std::to_string(23000 + ::getpid() % 5000 + stage),
                                  2, stage, tmp / "cache");
    EXPECT_NE(log.find("nccl"), std::string::npos) << log;
    HfCheckpoint a = HfCheckpoint::open((tmp / "one").string()), b = HfCheckpoint::open(out.string());
    ASSERT_EQ(a.size(), b.size());
    double worst = 0;
    for (auto& name : a.names()) {
      const double e = test::rel_err(b.load(name, DType::f32), a.load(name, DType::f32));
      worst = std::max(worst, e);
      EXPECT_LT(e, 1e-2) << "stage " << stage << " " << name;
    }
    std::cout << "2 GPUs, ZeRO-" << stage << " vs 1 GPU (bf16): worst norm-relative weight difference " << worst << "\n";
  }
  fs::remove_all(tmp);
}

}  // namespace

namespace {

// --offload keeps fp32 masters and AdamW state in pinned host memory and steps AdamW on the CPU: the same trajectory
// as the GPU optimizer up to float rounding of the two AdamW implementations.
TEST(ZeroCuda, OffloadMatchesTheGpuOptimizer) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n < 1) GTEST_SKIP() << "needs a GPU";
  const fs::path tmp = fs::temp_directory_path() / ("zt_offload_cuda_" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  train(tmp / "gpu", "CUDA_VISIBLE_DEVICES=0 " + exe(), 4, 3, tmp / "cache");
  const std::string log = train(tmp / "off", "CUDA_VISIBLE_DEVICES=0 " + exe(), 4, 3, tmp / "cache", "--offload");
  EXPECT_NE(log.find("[optimizer offloaded]"), std::string::npos) << log;
  HfCheckpoint a = HfCheckpoint::open((tmp / "gpu").string()), b = HfCheckpoint::open((tmp / "off").string());
  ASSERT_EQ(a.size(), b.size());
  double worst = 0;
  for (auto& name : a.names()) {
    const double e = test::rel_err(b.load(name, DType::f32), a.load(name, DType::f32));
    worst = std::max(worst, e);
    EXPECT_LT(e, 1e-2) << name;
  }
  std::cout << "1 GPU, ZeRO-3 --offload vs on-GPU AdamW (bf16): worst norm-relative weight difference " << worst << "\n";
  fs::remove_all(tmp);
}

}  // namespace
