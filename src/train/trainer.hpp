// The DeepSpeed-Chat step-1 loop on one rank of a ZeRO engine: epochs of micro-batches, gradient accumulation
// counted globally, clipping, AdamW over DeepSpeed-Chat's parameter groups (on this rank's master shards), the LR
// schedule stepped per applied step, evaluation (loss, perplexity) before training and after each epoch, metrics.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dist/zero.hpp"
#include "model/resident.hpp"
#include "train/loss_scaler.hpp"
#include "train/lr_schedule.hpp"
#include "train/metrics.hpp"
#include "train/optimizer.hpp"
#include "train/param_groups.hpp"

namespace zt::train {

// Tokenised samples in a fixed order: the data layer's cache (or a test's vectors) behind one interface.
class SampleSet {
 public:
  virtual ~SampleSet() = default;
  virtual int64_t size() const = 0;
  // Real tokens of sample i and their labels (-100 = not trained on); no padding.
  virtual void get(int64_t i, std::vector<int32_t>& ids, std::vector<int32_t>& labels) const = 0;
};

// What one rank iterates: micro-batches of sample indices, the same order every epoch (DeepSpeed-Chat
// never calls set_epoch).
struct EpochPlan {
  std::vector<std::vector<int64_t>> train_batches;
  std::vector<std::vector<int64_t>> eval_batches;
};

struct LoopOptions {
  int64_t epochs = 1;
  int64_t gradient_accumulation_steps = 1;
  double gradient_clipping = 1.0;  // 0 = off
  LrScheduleType schedule = LrScheduleType::cosine;
  int64_t num_warmup_steps = 0;
  ParamGroupConfig groups;         // learning_rate, weight_decay, lora_learning_rate
  AdamConfig adam;
  bool gradient_checkpointing = false;
  bool print_loss = false;         // DeepSpeed-Chat's per-micro-step line
  int64_t steps_per_print = 10;    // per-step line every N applied steps (and the first and last)
  uint64_t seed = 1234;            // dropout streams
  int rank = 0;
  bool progress = true;            // a progress line on stderr when it is a terminal
  // fp16 models only: the loss scaler (required there, refused for other dtypes).
  std::optional<LossScalerConfig> loss_scaler;
};

// Where the loop stands at a gradient-accumulation boundary: what a checkpoint records and a resume restores (the
// masters and AdamW moments the checkpoint reads from the engine's segments and optimizer()).
struct LoopPosition {
  int64_t epoch = 0;           // epoch of the next micro-batch (0-based)
  int64_t step_in_epoch = 0;   // index of the next micro-batch in it; == micro-batches per epoch: only its evaluation is left
  int64_t micro_steps = 0;     // micro-steps done, counted across epochs (GradAccumulation; seeds dropout)
  int64_t applied_steps = 0;   // optimizer steps applied
  int64_t skipped_steps = 0;   // fp16 windows skipped on overflow
  int64_t scheduler_step = 0;  // LR scheduler steps taken
  int64_t optimizer_step = 0;  // AdamW's bias-correction step count
  std::optional<LossScaler::State> loss_scaler;  // fp16 only
  int64_t global_step() const { return applied_steps + skipped_steps; }  // the step metrics and checkpoints are named by
};

// What train() tells a checkpointer, on every rank.
class LoopObserver {
 public:
  virtual ~LoopObserver() = default;
  // After each gradient-accumulation boundary (an applied or an fp16-skipped step), gradients zeroed. `epoch_ended`:
  // an epoch ended within this window (at its last micro-step or earlier).
  virtual void on_boundary(const LoopPosition& pos, bool epoch_ended) = 0;
  // When train() is about to return (after the last evaluation).
  virtual void on_end(const LoopPosition& pos) = 0;
};

struct EvalResult {
  double loss = 0, perplexity = 0;
};

struct LoopResult {
  std::vector<double> step_losses;   // mean loss of each applied step's micro-batches (averaged over ranks)
  std::vector<double> grad_norms;    // global norm before clipping, per applied step
  std::vector<double> lrs;           // lr of the first group at each applied step
  std::vector<EvalResult> evals;     // before training, then after each epoch
  int64_t applied_steps = 0, micro_steps = 0;  // applied: since step 0 (resumed runs count the earlier ones); micro: this run's
  int64_t skipped_steps = 0;         // fp16 overflow: windows whose optimizer step (and LR step) was skipped
  std::vector<double> loss_scales;   // fp16: the scale each window's gradients were computed with
  double train_seconds = 0;
  int64_t train_tokens = 0;
};

class Trainer {
 public:
  // Trains the engine's parameters (every rank constructs its Trainer with the same options).
  Trainer(dist::ZeroEngine& engine, LoopOptions opt, MetricsLogger* metrics = nullptr);
  // One process, resident parameters: trains through a world-size-1 engine and copies the result back into `model`
  // when train() returns.
  Trainer(model::ResidentModel& model, LoopOptions opt, MetricsLogger* metrics = nullptr);
  ~Trainer();
  EvalResult evaluate(const SampleSet& eval, const std::vector<std::vector<int64_t>>& batches);
  LoopResult train(const SampleSet& train, const SampleSet& eval, const EpochPlan& plan);
  // Number of optimizer steps the schedule spans: epochs x ceil(micro-batches per epoch / GAS).
  int64_t num_training_steps(int64_t micro_batches_per_epoch) const;
  const std::vector<ParamGroup>& groups() const { return groups_; }

  // Checkpoint hooks: `observer` (owned by the caller) hears of every boundary and of the end of train().
  void set_observer(LoopObserver* observer) { observer_ = observer; }
  // Continue a saved run: train() starts at `pos` (skipping the evaluation before training). Sets the optimizer's step
  // count and the loss scaler; the caller restored the masters (then engine().publish()) and optimizer() moments.
  void resume_at(const LoopPosition& pos);
  dist::ZeroEngine& engine() { return engine_; }
  Optimizer& optimizer() { return *optimizer_; }

 private:
  void setup();
  model::PackedBatch make_batch(const SampleSet& set, const std::vector<int64_t>& idx) const;
  double rank_mean(double v) const;  // the average of v over ranks
  std::unique_ptr<dist::Comm> own_comm_;      // the resident-model constructor's world of one
  std::unique_ptr<dist::ZeroEngine> own_engine_;
  model::ResidentModel* resident_ = nullptr;
  dist::ZeroEngine& engine_;
  LoopOptions opt_;
  MetricsLogger* metrics_;
  std::vector<ParamGroup> groups_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<LossScaler> scaler_;
  LoopObserver* observer_ = nullptr;
  std::optional<LoopPosition> start_;  // resume_at()
};

}  // namespace zt::train
