// Resharding checkpoints across CPU ranks (zerotune launch, Gloo): a checkpoint written by 2 ranks at ZeRO stage 3
// resumes on 3 ranks at stage 3, on 2 ranks at stage 1 and on one process at stage 0, and each finishes where the
// uninterrupted 2-rank run does (fp32 tolerance: the ranks' sums reduce in another order). The 3-rank run's own
// checkpoints (3 shards) export to exactly its final model. Global micro-batch 6 (2 x 3, 3 x 2, 1 x 6) over 12 samples
// of one length, so every layout sees the same batches.
#include <gtest/gtest.h>

#include <filesystem>

#include "cpu/train/checkpoint_util.hpp"
#include "train/checkpoint.hpp"

using namespace zt;
using namespace zt::test;
namespace fs = std::filesystem;

namespace {

std::string flags(const fs::path& out, const fs::path& cache, int stage, int micro) {
  return "--data_split 6,19,0 --max_seq_len 12 --per_device_train_batch_size " + std::to_string(micro) +
         " --per_device_eval_batch_size 2 --learning_rate 5e-3 --num_train_epochs 2 --lora_dim 4 --lora_module_name model.layers. "
         "--lora_learning_rate 2e-2 --zero_stage " + std::to_string(stage) + " --output_dir " + out.string() + " --metrics_file " + out.string() + ".jsonl" +
         " --data_output_path " + cache.string();
}

TEST(CheckpointReshard, TwoRanksStage3ResumeOnThreeRanksTwoRanksStage1AndOneProcess) {
  TempDir tmp("zt_reshard");
  const fs::path cache = tmp.path / "cache", R = tmp.path / "R";
  TrainRun r = zerotune_train(flags(R, cache, 3, 3) + " --save_steps 1", 2);
  ASSERT_EQ(r.rc, 0) << r.log;
  auto m = train::read_checkpoint_manifest((R / "checkpoints/step_1").string());
  EXPECT_EQ(m.world_size, 2);
  EXPECT_EQ(m.zero_stage, 3);
  EXPECT_EQ(m.files.size(), 4u);  // two shards, trainer_state.json, train_config.json
  EXPECT_EQ(read_text(R / "checkpoints/latest"), "step_4\n");

  // 2 ranks -> 3 ranks, from the middle of the first epoch
  const fs::path S = tmp.path / "S";
  TrainRun s = zerotune_train(flags(S, cache, 3, 2) + " --save_steps 1 --resume " + (R / "checkpoints/step_1").string(), 3);
  ASSERT_EQ(s.rc, 0) << s.log;
  EXPECT_NE(s.log.find("written by 2 rank(s) at ZeRO stage 3"), std::string::npos) << s.log;
  expect_close_models(R, S, 2e-5, "2 ranks -> 3 ranks");
  EXPECT_EQ(first_train_step(S.string() + ".jsonl"), 2);  // continued, did not start over
  // its own checkpoints have three shards, and export puts them together exactly
  EXPECT_EQ(train::read_checkpoint_manifest((S / "checkpoints/step_4").string()).files.size(), 5u);
  TrainRun e;
  e.log = run_capture(std::string(ZT_EXE) + " export --checkpoint " + S.string() + " --out " + (tmp.path / "SE").string() + " 2>&1", e.rc);
  ASSERT_EQ(e.rc, 0) << e.log;
  expect_identical_models(S, tmp.path / "SE", "export of a 3-rank checkpoint");

  // stage 3 -> stage 1 on 2 ranks, from the start of the second epoch
  const fs::path T = tmp.path / "T";
  TrainRun t = zerotune_train(flags(T, cache, 1, 3) + " --resume " + (R / "checkpoints/step_2").string(), 2);
  ASSERT_EQ(t.rc, 0) << t.log;
  expect_close_models(R, T, 2e-5, "stage 3 -> stage 1");
  EXPECT_EQ(first_train_step(T.string() + ".jsonl"), 3);

  // 2 ranks stage 3 -> one process (stage 0)
  const fs::path U = tmp.path / "U";
  TrainRun u = zerotune_train(flags(U, cache, 0, 6) + " --resume " + (R / "checkpoints/step_3").string());
  ASSERT_EQ(u.rc, 0) << u.log;
  expect_close_models(R, U, 2e-5, "2 ranks -> 1 process");
  EXPECT_EQ(first_train_step(U.string() + ".jsonl"), 4);

  // a global micro-batch that does not match is refused with the fix
  TrainRun bad = zerotune_train(flags(tmp.path / "V", cache, 3, 3) + " --resume " + (R / "checkpoints/step_1").string(), 3);
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.log.find("samples per micro-step"), std::string::npos) << bad.log;
}

}  // namespace
