// Checkpoints that lose nothing: each rank's fp32 masters and AdamW moments over the trainable elements it owns, the
// loop position, loss scaler and effective config, and a manifest with checksums; written off the training thread and
// committed by rank 0 (`latest` last); read back onto any world size and ZeRO stage (docs/checkpoints.md).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/json.hpp"
#include "core/tensor.hpp"
#include "dist/comm.hpp"
#include "model/layout.hpp"
#include "train/trainer.hpp"

namespace zt::train {

// The shape of the run a checkpoint belongs to; a resume must have the same (else the data position means nothing).
struct RunShape {
  int64_t micro_batches_per_epoch = 0;     // per rank
  int64_t samples_per_micro_step = 0;      // per-rank micro-batch x world size (the global micro-batch)
  int64_t gradient_accumulation_steps = 1;
};

struct CheckpointOptions {
  std::string root;                 // <output_dir>/checkpoints
  int64_t save_steps = 0;           // a checkpoint every N global steps (0: none)
  bool save_each_epoch = false;     // and at the first boundary at or after each epoch's end
  int64_t save_total_limit = 0;     // keep the newest N complete checkpoints (0: keep all)
  RunShape run;
  Json config;                      // the effective config (flags and settings), saved as train_config.json
  std::string model_name_or_path;   // the base model (export reads the frozen weights from it)
  // Test hook (ZEROTUNE_TEST_CRASH_DURING_SAVE): SIGKILL this process halfway through writing this step's shard.
  int64_t crash_during_save_step = -1;
};

// One file of a checkpoint as the manifest lists it.
struct CheckpointFile {
  std::string name;    // relative to the checkpoint directory
  std::string kind;    // "shard", "state" (trainer_state.json) or "config" (train_config.json)
  int rank = 0;        // the rank that wrote it
  int64_t bytes = 0;
  uint32_t crc32c = 0;
};

struct CheckpointManifest {
  std::string dir;                  // where it was read from
  int64_t step = 0;                 // global step (applied + fp16-skipped optimizer steps)
  int world_size = 1, zero_stage = 0;
  std::string compute_dtype;        // "fp32", "bf16", "fp16": the dtype the run computed in
  std::string model_name_or_path;   // the base model directory of the run
  model::LoraSpec lora;
  struct Param {
    std::string name;
    Shape shape;
    int64_t offset = 0;             // in the unit's trainable flat buffer
  };
  struct Unit {
    std::string name;
    int64_t trainable_numel = 0;    // logical (unpadded) elements of the unit's trainable buffer
    std::vector<Param> params;      // its trainable parameters
  };
  std::vector<Unit> units;
  std::vector<CheckpointFile> files;
};

// Writes checkpoints of `trainer`'s run as train() reaches its boundaries (attach with Trainer::set_observer). Every
// rank builds one. A save copies this rank's state into host memory (the only time the step loop waits), a background
// thread writes and fsyncs the rank's files, and at a later boundary (or the next save, or the end) the ranks confirm
// to each other that their files are durable and rank 0 writes manifest.json, then `latest`.
class CheckpointWriter : public LoopObserver {
 public:
  CheckpointWriter(Trainer& trainer, CheckpointOptions opt);
  ~CheckpointWriter() override;  // waits for a write in flight (it stays uncommitted)
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  void on_boundary(const LoopPosition& pos, bool epoch_ended) override;
  void on_end(const LoopPosition& pos) override;
  // Collective: starts a save of `pos` now (after committing one in flight).
  void save(const LoopPosition& pos);
  // Collective: waits for the save in flight and commits it.
  void finish();
  int64_t committed() const { return committed_; }
  const std::string& root() const { return opt_.root; }

 private:
  struct Impl;
  bool try_commit(bool wait, const char* why = "");
  Trainer& trainer_;
  CheckpointOptions opt_;
  std::unique_ptr<Impl> impl_;
  int64_t committed_ = 0;
};

// ---- reading ----

// Reads <dir>/manifest.json; a missing one means the save never completed (the error says so).
CheckpointManifest read_checkpoint_manifest(const std::string& dir);
// Checks that every file the manifest lists exists with its size and crc32c; errors name the file.
void verify_checkpoint(const CheckpointManifest& m);
// A checkpoint directory, a checkpoints root (its `latest`) or an output dir (its checkpoints/latest) -> the
// checkpoint directory meant.
std::string checkpoint_dir_of(const std::string& path);

// What --resume names: "auto" -> the checkpoint `latest` under `root` names, verified; a corrupt or partial one is
// skipped with a warning for the newest complete one before it; nullopt when none was ever committed. Otherwise the
// directory given (a checkpoint, a checkpoints root or an output dir), verified (errors name the bad file).
std::optional<std::string> find_resume_checkpoint(const std::string& spec, const std::string& root);
// Collective form: rank 0 decides (and verifies every file), the other ranks follow.
std::optional<std::string> agree_resume_checkpoint(const std::string& spec, const std::string& root, dist::Comm& comm, Device dev);

// Restores a verified checkpoint into `trainer` (any world size or stage: each rank reads the saved slices overlapping
// the elements it owns now): masters (published into the compute-dtype parameters), AdamW moments, step counts, loss
// scaler and loop position (Trainer::resume_at). The run must have the same trainable parameters and RunShape; flags
// that change the trajectory (learning rate, epochs, ...) are listed in a warning when they differ from `config`.
LoopPosition restore_checkpoint(const CheckpointManifest& m, Trainer& trainer, const RunShape& run, const Json& config);

// Every trainable parameter of a checkpoint, whole, in fp32 (the shards of any world size put together).
std::unordered_map<std::string, Tensor> consolidate_checkpoint(const CheckpointManifest& m);
// Fails unless `layout` has exactly the checkpoint's trainable parameters (names, shapes, places).
void check_layout_matches(const CheckpointManifest& m, const model::ModelLayout& layout);

// The directory name of a checkpoint at a global step ("step_12").
std::string checkpoint_name(int64_t step);

}  // namespace zt::train
