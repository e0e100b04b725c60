// AdamW over parameter groups (owns each parameter's m and v, updates the caller's fp32 master tensors with one
// shared step counter, DeepSpeed FusedAdam semantics) and the gradient-accumulation cadence that decides when it steps.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace zt::train {

struct AdamConfig {
  double beta1 = 0.9, beta2 = 0.95;  // DeepSpeed-Chat step 1 uses betas (0.9, 0.95)
  double eps = 1e-8;
};

class Optimizer {
 public:
  // One entry per parameter group: its weight decay (lrs come with each step()).
  Optimizer(std::vector<double> group_weight_decays, AdamConfig cfg = {});

  // Registers a parameter of `group`. `master` (f32, updated in place) and `grad` (f32, same numel, read by
  // step()) are views the caller keeps alive and owns; m and v are allocated here, zeroed, on master's device.
  // Returns the parameter's index.
  int add_param(int group, Tensor master, Tensor grad, std::string name = {});
  // Points parameter i at a different gradient tensor (same numel), e.g. after a buffer is re-planned.
  void set_grad(int i, Tensor grad);

  // Applies one AdamW step to every parameter: increments the shared step counter, then updates each group
  // with lrs[group]. Call only for applied steps (not for fp16-overflow-skipped ones).
  void step(const std::vector<double>& lrs);

  struct ParamState {
    std::string name;
    int group = 0;
    Tensor master, grad;          // caller's views
    Tensor exp_avg, exp_avg_sq;   // owned moments (m, v), f32, same numel as master
  };
  size_t num_params() const { return params_.size(); }
  size_t num_groups() const { return weight_decays_.size(); }
  const ParamState& param(int i) const;
  double weight_decay(int group) const;
  const AdamConfig& config() const { return cfg_; }

  // Applied steps so far (the bias-correction step of the last update). Restore with set_step_count and by
  // copying saved moments into param(i).exp_avg / exp_avg_sq.
  int64_t step_count() const { return step_; }
  void set_step_count(int64_t s);

 private:
  std::vector<double> weight_decays_;
  AdamConfig cfg_;
  std::vector<ParamState> params_;
  int64_t step_ = 0;
};

// Gradient-accumulation cadence as the DeepSpeed engine keeps it: micro-steps are counted globally across
// epochs (a window may span an epoch boundary), every GAS-th micro-step completes a window and applies the
// optimizer, and a trailing partial window at the end of training is never applied.
class GradAccumulation {
 public:
  explicit GradAccumulation(int64_t gradient_accumulation_steps);

  // Records one micro-step (after its backward); true when it completes a window: clip, step, zero grads.
  bool micro_step();
  // Whether the next micro_step() will complete a window (DeepSpeed's is_gradient_accumulation_boundary),
  // e.g. to skip the gradient reduction on the other micro-steps.
  bool next_is_boundary() const { return (micro_steps_ + 1) % gas_ == 0; }
  int64_t micro_steps() const { return micro_steps_; }
  int64_t windows_completed() const { return micro_steps_ / gas_; }
  int64_t pending() const { return micro_steps_ % gas_; }  // micro-steps in the open window
  int64_t gas() const { return gas_; }
  void set_micro_steps(int64_t n);  // for resuming

  // The schedule length DeepSpeed-Chat passes to get_scheduler: epochs * ceil(micro_batches_per_rank / GAS).
  static int64_t num_training_steps(int64_t epochs, int64_t micro_batches_per_rank, int64_t gas);
  // Optimizer steps actually applied with global counting: floor(epochs * micro_batches_per_rank / GAS)
  // (can be fewer than num_training_steps when GAS does not divide the per-epoch count).
  static int64_t num_applied_steps(int64_t epochs, int64_t micro_batches_per_rank, int64_t gas);

 private:
  int64_t gas_;
  int64_t micro_steps_ = 0;
};

}  // namespace zt::train
