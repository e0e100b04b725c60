// Checkpoints on GPUs: a bf16 run resumed from a middle checkpoint finishes where the uninterrupted run does (weights
// and later losses, bit for bit when the GPU run is deterministic, which it is checked to be); an fp16 run resumed
// mid-way continues the loss scaler's sequence (skips, scale changes); a 2-GPU ZeRO-3 checkpoint (NCCL agreement)
// resumes on one GPU. The device-to-host snapshot and the host-to-device restore are what the CPU tests cannot reach.
#include <gtest/gtest.h>
#include <cuda_runtime.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "core/json.hpp"
#include "cpu/model/fixture_util.hpp"
#include "cpu/test_process.hpp"
#include "io/hf_checkpoint.hpp"
#include "run_util.hpp"

using namespace zt;
namespace fs = std::filesystem;

namespace {

using cudatest::exe;
using cudatest::fixture;
int gpus() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) n = 0;
  return n;
}

std::string run(const std::string& launcher, const std::string& flags, bool ok = true) {
  const std::string fx = fixture();
  const std::string cmd = launcher + " train --data_path " + fx + "/Dahoas/rm-static --model_name_or_path " + fx + "/model --seed 1234 " +
                          flags + " 2>&1";
  int rc = 0;
  std::string log = test::run_capture(cmd, rc);
  if (ok) {
    EXPECT_EQ(rc, 0) << cmd << "\n" << log;
  }
  if (getenv("ZT_TEST_VERBOSE")) std::cout << cmd << "\n" << log << "\n";
  return log;
}

// {step, tag} -> value of a metrics JSONL, timing tags left out.
std::map<std::pair<int64_t, std::string>, double> metrics(const fs::path& p) {
  std::map<std::pair<int64_t, std::string>, double> m;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) {
    Json j = Json::parse(line);
    for (auto& [k, v] : j.items())
      if (k != "step" && k != "time" && k.find("_per_s") == std::string::npos && v.is_number()) m[{j["step"].get<int64_t>(), k}] = v.get<double>();
  }
  return m;
}

// The largest norm-relative difference over the tensors of two model directories (0: identical).
double worst_diff(const fs::path& a, const fs::path& b) {
  HfCheckpoint ca = HfCheckpoint::open(a.string()), cb = HfCheckpoint::open(b.string());
  EXPECT_EQ(ca.size(), cb.size());
  double worst = 0;
  for (auto& n : ca.names()) worst = std::max(worst, test::rel_err(cb.load(n, DType::f32), ca.load(n, DType::f32)));
  return worst;
}

// Later metrics of `resumed` against `full`; returns the largest relative difference (0: bitwise).
double metrics_diff(const fs::path& full, const fs::path& resumed, int64_t after, size_t* compared) {
  auto a = metrics(full), b = metrics(resumed);
  double worst = 0;
  *compared = 0;
  for (auto& [k, v] : a) {
    if (k.first <= after) continue;
    EXPECT_TRUE(b.count(k)) << k.second << " at step " << k.first << " missing after the resume";
    if (!b.count(k)) continue;
    worst = std::max(worst, std::abs(b.at(k) - v) / std::max(std::abs(v), 1e-30));
    ++*compared;
  }
  return worst;
}

struct Tmp {
  fs::path p;
  explicit Tmp(const std::string& n) : p(fs::temp_directory_path() / (n + "_" + std::to_string(::getpid()))) {
    fs::remove_all(p);
    fs::create_directories(p);
  }
  ~Tmp() { fs::remove_all(p); }
};

std::string flags(const fs::path& out, const fs::path& cache, const std::string& extra) {
  return "--data_split 2,4,4 --max_seq_len 24 --per_device_train_batch_size 2 --per_device_eval_batch_size 3 --learning_rate 5e-3 "
         "--weight_decay 0.1 --num_train_epochs 2 --gradient_accumulation_steps 2 --num_warmup_steps 1 --dropout 0.1 --lora_dim 4 "
         "--lora_module_name model.layers. --lora_learning_rate 2e-2 --output_dir " + out.string() + " --metrics_file " + out.string() +
         ".jsonl --data_output_path " + cache.string() + " " + extra;
}

TEST(CheckpointCuda, Bf16ResumeFinishesWhereTheUninterruptedRunDoes) {
  if (gpus() < 1) GTEST_SKIP() << "needs a GPU";
  Tmp t("zt_ckpt_cuda");
  const std::string one = "CUDA_VISIBLE_DEVICES=0 " + exe();
  run(one, flags(t.p / "A", t.p / "cache", "--dtype bf16"));
  const std::string b = run(one, flags(t.p / "B", t.p / "cache", "--dtype bf16 --save_steps 1"));
  EXPECT_NE(b.find("training on cuda"), std::string::npos) << b;
  const std::string c = run(one, flags(t.p / "C", t.p / "cache", "--dtype bf16 --resume " + (t.p / "B/checkpoints/step_2").string()));
  EXPECT_NE(c.find("resumed from"), std::string::npos) << c;
  const double ab = worst_diff(t.p / "A", t.p / "B"), ac = worst_diff(t.p / "A", t.p / "C");
  size_t n = 0;
  const double mc = metrics_diff(t.p / "A.jsonl", t.p / "C.jsonl", 2, &n);
  std::cout << "bf16 on a GPU: saving every step vs none " << ab << ", resumed from step 2 vs uninterrupted " << ac
            << " (weights), later metrics " << mc << " over " << n << " values\n";
  EXPECT_GE(n, 6u);
  if (ab == 0) {  // a deterministic run: the resumed one must be bitwise too
    EXPECT_EQ(ac, 0.0);
    EXPECT_EQ(mc, 0.0);
  } else {
    EXPECT_LT(ac, 1e-2);
    EXPECT_LT(mc, 1e-2);
  }
}

TEST(CheckpointCuda, Fp16ResumeContinuesTheLossScaler) {
  if (gpus() < 1) GTEST_SKIP() << "needs a GPU";
  Tmp t("zt_ckpt_cuda_fp16");
  // 2^20 overflows on this fixture (train_cuda_test), hysteresis 1, window 2: skips and scale changes throughout.
  const fs::path cfg = t.p / "ds.json";
  std::ofstream(cfg) << R"({"train_micro_batch_size_per_gpu": 2, "gradient_accumulation_steps": 2, "gradient_clipping": 1.0,
      "fp16": {"enabled": true, "loss_scale": 0, "initial_scale_power": 20, "loss_scale_window": 2, "hysteresis": 1, "min_loss_scale": 1},
      "zero_optimization": {"stage": 0}})";
  const std::string one = "CUDA_VISIBLE_DEVICES=0 " + exe(), ds = "--deepspeed_config " + cfg.string();
  run(one, flags(t.p / "A", t.p / "cache", ds));
  run(one, flags(t.p / "B", t.p / "cache", ds + " --save_steps 1"));
  run(one, flags(t.p / "C", t.p / "cache", ds + " --resume " + (t.p / "B/checkpoints/step_2").string()));
  auto a = metrics(t.p / "A.jsonl");
  size_t scales = 0;
  for (auto& [k, v] : a) scales += k.second == "train/loss_scale";
  EXPECT_GE(scales, 5u);
  size_t n = 0;
  const double mc = metrics_diff(t.p / "A.jsonl", t.p / "C.jsonl", 2, &n);
  const double ac = worst_diff(t.p / "A", t.p / "C");
  std::cout << "fp16 on a GPU, resumed from step 2: later metrics (loss scales included) " << mc << " over " << n << " values, weights " << ac << "\n";
  for (auto& [k, v] : metrics(t.p / "C.jsonl"))
    if (k.second == "train/loss_scale" || k.second == "train/skipped_steps") {
      EXPECT_EQ(a.at(k), v) << k.second << " at step " << k.first;
    }
  EXPECT_LT(ac, 1e-2);
}

TEST(CheckpointCuda, TwoGpuStage3CheckpointResumesOnOneGpu) {
  if (gpus() < 2) GTEST_SKIP() << "needs 2 GPUs";
  Tmp t("zt_ckpt_cuda_2");
  auto f = [&](const fs::path& out, int stage, int micro, const std::string& extra) {
    return "--data_split 6,19,0 --max_seq_len 12 --per_device_train_batch_size " + std::to_string(micro) +
           " --per_device_eval_batch_size 2 --learning_rate 5e-3 --num_train_epochs 2 --dtype bf16 --lora_dim 4 --lora_module_name "
           "model.layers. --zero_stage " + std::to_string(stage) + " --output_dir " + out.string() + " --metrics_file " + out.string() +
           ".jsonl --data_output_path " + (t.p / "cache").string() + " " + extra;
  };
  const std::string two = exe() + " launch --num_gpus 2 --master_port " + std::to_string(24000 + ::getpid() % 5000);
  const std::string log = run(two, f(t.p / "R", 3, 3, "--save_steps 1"));
  EXPECT_NE(log.find("complete: 4 files"), std::string::npos) << log;  // two shards + the state and config
  run("CUDA_VISIBLE_DEVICES=0 " + exe(), f(t.p / "U", 0, 6, "--resume " + (t.p / "R/checkpoints/step_2").string()));
  const double d = worst_diff(t.p / "R", t.p / "U");
  std::cout << "2 GPUs ZeRO-3 checkpoint resumed on 1 GPU (bf16): worst norm-relative weight difference " << d << "\n";
  EXPECT_LT(d, 1e-2);
}

}  // namespace
