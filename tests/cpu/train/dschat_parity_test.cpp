// `zerotune train` against a DeepSpeed-Chat step-1 reference run (tools/fixtures/make_dschat_fixture.py: transformers
// in float64 with DeepSpeed-Chat's split, EOS, right padding, -100 labels, DistributedSampler order, parameter
// groups, AdamW(0.9, 0.95), cosine with warmup and clipping 1.0) on the same parquet data: per-step losses,
// gradient norms, lrs, eval loss before and after, and the final weights.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/json.hpp"
#include "core/mmap.hpp"
#include "cpu/model/fixture_util.hpp"
#include "io/hf_checkpoint.hpp"

using namespace zt;

namespace {

TEST(DsChatParity, TrainReproducesTheReferenceRun) {
  const std::string fx = std::string(ZT_SOURCE_DIR) + "/tests/fixtures/dschat";
  Json want = load_json_file(fx + "/expected.json");
  const Json& f = want["flags"];
  auto tmp = std::filesystem::temp_directory_path() / ("zt_parity_" + std::to_string(::getpid()));
  std::filesystem::remove_all(tmp);
  std::string cmd = std::string(ZT_EXE) + " train --deepspeed --data_path " + fx + "/Dahoas/rm-static" +
                    " --model_name_or_path " + fx + "/model --data_split " + f["data_split"].get<std::string>() +
                    " --seed " + std::to_string(f["seed"].get<int>()) + " --max_seq_len " + std::to_string(f["max_seq_len"].get<int>()) +
                    " --per_device_train_batch_size " + std::to_string(f["per_device_train_batch_size"].get<int>()) +
                    " --per_device_eval_batch_size " + std::to_string(f["per_device_eval_batch_size"].get<int>()) +
                    " --learning_rate " + std::to_string(f["learning_rate"].get<double>()) +
                    " --weight_decay " + std::to_string(f["weight_decay"].get<double>()) +
                    " --num_train_epochs " + std::to_string(f["num_train_epochs"].get<int>()) +
                    " --gradient_accumulation_steps " + std::to_string(f["gradient_accumulation_steps"].get<int>()) +
                    " --lr_scheduler_type " + f["lr_scheduler_type"].get<std::string>() +
                    " --num_warmup_steps " + std::to_string(f["num_warmup_steps"].get<int>()) + " --output_dir " +
                    (tmp / "out").string() + " --data_output_path " + (tmp / "cache").string() + " --metrics_file " +
                    (tmp / "metrics.jsonl").string() + " > " + (tmp.string() + ".log") + " 2>&1";
  int rc = std::system(cmd.c_str());
  ASSERT_EQ(rc, 0) << cmd << "\n" << read_file(tmp.string() + ".log");
  std::vector<Json> steps, evals;
  std::ifstream in(tmp / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    Json j = Json::parse(line);
    (j.contains("eval/loss") ? evals : steps).push_back(j);
  }
  auto losses = want["losses"].get<std::vector<double>>();
  auto norms = want["grad_norms"].get<std::vector<double>>();
  auto lrs = want["lrs"].get<std::vector<double>>();
  ASSERT_EQ(steps.size(), losses.size());
  for (size_t i = 0; i < losses.size(); ++i) {
    EXPECT_NEAR(steps[i]["train/loss"].get<double>(), losses[i], 1e-5 * losses[i]) << "step " << i + 1;
    EXPECT_NEAR(steps[i]["train/grad_norm"].get<double>(), norms[i], 1e-5 * norms[i]) << "step " << i + 1;
    EXPECT_NEAR(steps[i]["train/lr"].get<double>(), lrs[i], 1e-12) << "step " << i + 1;
  }
  ASSERT_EQ(evals.size(), 2u);
  EXPECT_NEAR(evals[0]["eval/loss"].get<double>(), want["eval_loss_before"].get<double>(), 1e-5);
  EXPECT_NEAR(evals[1]["eval/loss"].get<double>(), want["eval_loss_after"].get<double>(), 1e-5);
  // final weights: the HF directory zerotune wrote against the reference's
  HfCheckpoint out = HfCheckpoint::open((tmp / "out").string());
  SafetensorsFile ref = SafetensorsFile::open(fx + "/final_weights.safetensors");
  EXPECT_EQ(out.size(), ref.size());
  for (auto& n : ref.names()) EXPECT_LT(test::rel_err(out.load(n, DType::f32), ref.view(n)), 2e-5) << n;
  EXPECT_TRUE(std::filesystem::exists(tmp / "out" / "tokenizer.json"));
  EXPECT_TRUE(std::filesystem::exists(tmp / "out" / "config.json"));
  std::filesystem::remove_all(tmp);
  std::filesystem::remove(tmp.string() + ".log");
}

TEST(DsChatParity, LoraModuleNameMatchingNothingStopsAtStartUp) {
  const std::string fx = std::string(ZT_SOURCE_DIR) + "/tests/fixtures/dschat";
  auto tmp = std::filesystem::temp_directory_path() / ("zt_parity_lora_" + std::to_string(::getpid()));
  std::string log = tmp.string() + ".log";
  std::string cmd = std::string(ZT_EXE) + " train --data_path " + fx + "/Dahoas/rm-static --model_name_or_path " + fx +
                    "/model --lora_dim 8 --data_output_path " + (tmp / "cache").string() + " > " + log + " 2>&1";
  EXPECT_NE(std::system(cmd.c_str()), 0);
  std::string out = read_file(log);
  EXPECT_NE(out.find("decoder.layers."), std::string::npos) << out;
  EXPECT_NE(out.find("model.layers."), std::string::npos) << out;
  std::filesystem::remove_all(tmp);
  std::filesystem::remove(log);
}

}  // namespace
