// Checkpoints on the CPU, one process: a run saving every step and one resumed from a middle checkpoint reach the same
// weights and log the same later losses as an uninterrupted run, bit for bit (dropout on, gradient-accumulation windows
// crossing an epoch end); a process killed with SIGKILL halfway through writing a checkpoint resumes from the previous
// complete one; corrupt, truncated and partial checkpoints are detected and named; --save_total_limit prunes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cpu/train/checkpoint_util.hpp"
#include "train/checkpoint.hpp"

using namespace zt;
using namespace zt::test;
namespace fs = std::filesystem;

namespace {

// 10 training samples, micro-batch 2: 5 micro-batches per epoch; GAS 2 over 2 epochs: windows end at micro-steps
// 2, 4, 6, 8, 10, so the third window spans the epoch end (eval after micro-step 5).
std::string flags(const fs::path& out, const fs::path& cache) {
  return "--data_split 2,4,4 --max_seq_len 24 --per_device_train_batch_size 2 --per_device_eval_batch_size 3 "
         "--learning_rate 5e-3 --weight_decay 0.1 --num_train_epochs 2 --gradient_accumulation_steps 2 --num_warmup_steps 1 "
         "--dropout 0.1 --lora_dim 4 --lora_module_name model.layers. --lora_learning_rate 2e-2 --output_dir " + out.string() +
         " --metrics_file " + (out.string() + ".jsonl") + " --data_output_path " + cache.string();
}

void expect_same_metrics_after(const fs::path& full, const fs::path& resumed, int64_t after) {
  auto a = metrics_of(full), b = metrics_of(resumed);
  size_t compared = 0;
  for (auto& [key, v] : a) {
    if (key.first <= after) continue;
    ASSERT_TRUE(b.count(key)) << "the resumed run did not log " << key.second << " at step " << key.first;
    EXPECT_EQ(b.at(key), v) << key.second << " at step " << key.first;  // bitwise
    ++compared;
  }
  for (auto& [key, v] : b) {
    EXPECT_TRUE(key.first >= after) << "the resumed run logged step " << key.first;
    if (a.count(key)) {
      EXPECT_EQ(a.at(key), v) << key.second << " at step " << key.first;
    }
  }
  EXPECT_GE(compared, size_t(6));
}

TEST(Checkpoint, ResumeIsBitwiseAndCrashesLoseOnlyTheWriteInFlight) {
  TempDir tmp("zt_ckpt");
  const fs::path cache = tmp.path / "cache";
  // the uninterrupted run
  const fs::path A = tmp.path / "A";
  TrainRun a = zerotune_train(flags(A, cache));
  ASSERT_EQ(a.rc, 0) << a.log;
  // saving every step changes nothing
  const fs::path B = tmp.path / "B";
  TrainRun b = zerotune_train(flags(B, cache) + " --save_steps 1");
  ASSERT_EQ(b.rc, 0) << b.log;
  expect_identical_models(A, B, "saving every step");
  EXPECT_EQ(read_text(B / "checkpoints/latest"), "step_5\n");
  for (int s = 1; s <= 5; ++s) EXPECT_TRUE(fs::exists(B / "checkpoints" / ("step_" + std::to_string(s)) / "manifest.json")) << s;
  EXPECT_NE(b.log.find("the step loop was blocked"), std::string::npos) << b.log;
  auto m = train::read_checkpoint_manifest((B / "checkpoints/step_2").string());
  EXPECT_EQ(m.step, 2);
  EXPECT_EQ(m.world_size, 1);
  EXPECT_EQ(m.files.size(), 3u);  // one shard, trainer_state.json, train_config.json
  train::verify_checkpoint(m);

  // resumed from step 2 (micro-step 4 of 5 in epoch 1: it finishes the epoch, evaluates, trains epoch 2)
  const fs::path C = tmp.path / "C";
  TrainRun c = zerotune_train(flags(C, cache) + " --resume " + (B / "checkpoints/step_2").string());
  ASSERT_EQ(c.rc, 0) << c.log;
  EXPECT_NE(c.log.find("resumed from"), std::string::npos) << c.log;
  expect_identical_models(A, C, "resumed from step 2");
  expect_same_metrics_after(A.string() + ".jsonl", C.string() + ".jsonl", 2);
  EXPECT_EQ(first_train_step(C.string() + ".jsonl"), 3);  // it did not start over

  // killed (SIGKILL) halfway through writing step 3's shard: step 3 never completes, --resume auto takes step 2
  const fs::path D = tmp.path / "D";
  TrainRun d = zerotune_train(flags(D, cache) + " --save_steps 1", 0, "ZEROTUNE_TEST_CRASH_DURING_SAVE=3");
  EXPECT_NE(d.rc, 0) << d.log;
  EXPECT_NE(d.log.find("killing this process halfway"), std::string::npos) << d.log;
  EXPECT_EQ(read_text(D / "checkpoints/latest"), "step_2\n");
  EXPECT_FALSE(fs::exists(D / "checkpoints/step_3/manifest.json"));
  EXPECT_FALSE(fs::exists(D / "model.safetensors"));
  // a partial checkpoint is named as such
  try {
    train::read_checkpoint_manifest((D / "checkpoints/step_3").string());
    ADD_FAILURE() << "step_3 has no manifest and must not read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("incomplete"), std::string::npos) << e.what();
  }
  TrainRun d2 = zerotune_train(flags(D, cache) + " --save_steps 1 --resume auto");
  ASSERT_EQ(d2.rc, 0) << d2.log;
  EXPECT_NE(d2.log.find("resumed from " + (D / "checkpoints/step_2").string()), std::string::npos) << d2.log;
  expect_identical_models(A, D, "killed at step 3, resumed");
  EXPECT_EQ(read_text(D / "checkpoints/latest"), "step_5\n");

  // a corrupt shard: named when given explicitly; --resume auto warns and takes the one before
  const fs::path E = tmp.path / "E";
  fs::create_directories(E / "checkpoints");
  for (int s : {4, 5}) fs::copy(B / "checkpoints" / ("step_" + std::to_string(s)), E / "checkpoints" / ("step_" + std::to_string(s)));
  fs::copy_file(B / "checkpoints/latest", E / "checkpoints/latest");
  const fs::path shard = E / "checkpoints/step_5/shard_rank00000.safetensors";
  {
    std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-7, std::ios::end);
    f.put('\x5a');
  }
  TrainRun e1 = zerotune_train(flags(E, cache) + " --resume " + (E / "checkpoints/step_5").string());
  EXPECT_NE(e1.rc, 0);
  EXPECT_NE(e1.log.find(shard.string() + " is corrupt"), std::string::npos) << e1.log;
  TrainRun e2 = zerotune_train(flags(E, cache) + " --resume auto");
  ASSERT_EQ(e2.rc, 0) << e2.log;
  EXPECT_NE(e2.log.find("falling back to " + (E / "checkpoints/step_4").string()), std::string::npos) << e2.log;
  expect_identical_models(A, E, "fell back to step 4");
  // a truncated one
  fs::resize_file(E / "checkpoints/step_4/trainer_state.json", 10);
  try {
    train::verify_checkpoint(train::read_checkpoint_manifest((E / "checkpoints/step_4").string()));
    ADD_FAILURE() << "a truncated trainer_state.json must fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("trainer_state.json is 10 bytes"), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, AutoWithoutCheckpointsStartsFreshAndTheLimitPrunes) {
  TempDir tmp("zt_ckpt_limit");
  const fs::path cache = tmp.path / "cache", F = tmp.path / "F";
  TrainRun f = zerotune_train(flags(F, cache) + " --resume auto --save_steps 1 --save_each_epoch --save_total_limit 2");
  ASSERT_EQ(f.rc, 0) << f.log;
  EXPECT_NE(f.log.find("no checkpoint under"), std::string::npos) << f.log;
  std::vector<std::string> left;
  for (auto& de : fs::directory_iterator(F / "checkpoints")) left.push_back(de.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"latest", "step_4", "step_5"}));
  // a run resumed from its last checkpoint has nothing left to train and writes the same model
  const fs::path G = tmp.path / "G";
  TrainRun g = zerotune_train(flags(G, cache) + " --resume " + F.string());
  ASSERT_EQ(g.rc, 0) << g.log;
  expect_identical_models(F, G, "resumed after the last step");
}

TEST(Checkpoint, ResumeRefusesAnotherModelOrBatch) {
  TempDir tmp("zt_ckpt_refuse");
  const fs::path cache = tmp.path / "cache", H = tmp.path / "H";
  TrainRun h = zerotune_train(flags(H, cache) + " --save_steps 3");
  ASSERT_EQ(h.rc, 0) << h.log;
  const std::string ck = (H / "checkpoints/step_3").string();
  TrainRun r1 = zerotune_train(flags(tmp.path / "I", cache) + " --resume " + ck + " --lora_dim 8");
  EXPECT_NE(r1.rc, 0);
  EXPECT_NE(r1.log.find("does not fit this model"), std::string::npos) << r1.log;
  TrainRun r2 = zerotune_train(flags(tmp.path / "J", cache) + " --resume " + ck + " --gradient_accumulation_steps 1");
  EXPECT_NE(r2.rc, 0);
  EXPECT_NE(r2.log.find("gradient-accumulation steps"), std::string::npos) << r2.log;
  TrainRun r3 = zerotune_train(flags(tmp.path / "K", cache) + " --resume " + ck + " --learning_rate 1e-3");
  EXPECT_EQ(r3.rc, 0) << r3.log;
  EXPECT_NE(r3.log.find("--learning_rate: 0.005 -> 0.001"), std::string::npos) << r3.log;
}

}  // namespace
