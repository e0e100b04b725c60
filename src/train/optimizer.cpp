// The grouped AdamW optimizer: bookkeeping of parameters, moments and the step counter; the per-element
// update is ops::adamw_step.
#include "train/optimizer.hpp"

#include <cmath>

#include "ops/elementwise.hpp"
#include "ops/optim.hpp"

namespace zt::train {

Optimizer::Optimizer(std::vector<double> group_weight_decays, AdamConfig cfg)
    : weight_decays_(std::move(group_weight_decays)), cfg_(cfg) {
  check(!weight_decays_.empty(), "Optimizer: no parameter groups",
        "nothing is trainable; check --only_optimize_lora / --lora_dim / --lora_module_name");
  for (double wd : weight_decays_)
    check(std::isfinite(wd) && wd >= 0.0, "Optimizer: weight_decay must be finite and >= 0, got " + std::to_string(wd),
          "fix --weight_decay or optimizer.params.weight_decay in the ds_config");
  check(cfg.beta1 >= 0.0 && cfg.beta1 < 1.0 && cfg.beta2 >= 0.0 && cfg.beta2 < 1.0,
        "Optimizer: betas must lie in [0, 1), got (" + std::to_string(cfg.beta1) + ", " + std::to_string(cfg.beta2) + ")",
        "fix optimizer.params.betas in the ds_config");
  check(cfg.eps > 0.0, "Optimizer: eps must be > 0, got " + std::to_string(cfg.eps),
        "fix optimizer.params.eps in the ds_config");
}

int Optimizer::add_param(int group, Tensor master, Tensor grad, std::string name) {
  const std::string label = "Optimizer: parameter '" + name + "'";
  check(group >= 0 && size_t(group) < weight_decays_.size(),
        label + ": group " + std::to_string(group) + " out of range (" + std::to_string(weight_decays_.size()) + " groups)");
  check(master.defined() && master.dtype() == DType::f32 && master.is_contiguous(),
        label + ": master weights must be a contiguous f32 tensor, got " + (master.defined() ? master.str() : "none"));
  check(grad.defined() && grad.dtype() == DType::f32 && grad.is_contiguous() && grad.numel() == master.numel(),
        label + ": gradient must be a contiguous f32 tensor of " + std::to_string(master.numel()) + " elements, got " +
            (grad.defined() ? grad.str() : "none"));
  ParamState s;
  s.name = std::move(name);
  s.group = group;
  s.master = master;
  s.grad = grad;
  s.exp_avg = Tensor::empty({master.numel()}, DType::f32, master.device());
  s.exp_avg_sq = Tensor::empty({master.numel()}, DType::f32, master.device());
  ops::zero(s.exp_avg);  // a memset on the CPU, cudaMemsetAsync on a GPU
  ops::zero(s.exp_avg_sq);
  params_.push_back(std::move(s));
  return int(params_.size()) - 1;
}

void Optimizer::set_grad(int i, Tensor grad) {
  check(i >= 0 && size_t(i) < params_.size(), "Optimizer::set_grad: parameter index " + std::to_string(i) + " out of range");
  ParamState& s = params_[size_t(i)];
  check(grad.defined() && grad.dtype() == DType::f32 && grad.is_contiguous() && grad.numel() == s.master.numel(),
        "Optimizer: parameter '" + s.name + "': gradient must be a contiguous f32 tensor of " +
            std::to_string(s.master.numel()) + " elements, got " + (grad.defined() ? grad.str() : "none"));
  s.grad = grad;
}

void Optimizer::step(const std::vector<double>& lrs) {
  check(lrs.size() == weight_decays_.size(), "Optimizer::step: got " + std::to_string(lrs.size()) +
                                                 " learning rates for " + std::to_string(weight_decays_.size()) + " groups");
  for (double lr : lrs)
    check(std::isfinite(lr) && lr >= 0.0, "Optimizer::step: learning rate must be finite and >= 0, got " + std::to_string(lr));
  ++step_;
  for (ParamState& s : params_) {
    ops::AdamWParams p;
    p.lr = float(lrs[size_t(s.group)]);
    p.beta1 = float(cfg_.beta1);
    p.beta2 = float(cfg_.beta2);
    p.eps = float(cfg_.eps);
    p.weight_decay = float(weight_decays_[size_t(s.group)]);
    p.step = step_;
    ops::adamw_step(s.master.flatten(), s.exp_avg, s.exp_avg_sq, s.grad.flatten(), p);
  }
}

const Optimizer::ParamState& Optimizer::param(int i) const {
  check(i >= 0 && size_t(i) < params_.size(), "Optimizer::param: index " + std::to_string(i) + " out of range (" +
                                                   std::to_string(params_.size()) + " parameters)");
  return params_[size_t(i)];
}

double Optimizer::weight_decay(int group) const {
  check(group >= 0 && size_t(group) < weight_decays_.size(), "Optimizer::weight_decay: group out of range");
  return weight_decays_[size_t(group)];
}

void Optimizer::set_step_count(int64_t s) {
  check(s >= 0, "Optimizer: step count must be >= 0, got " + std::to_string(s));
  step_ = s;
}


GradAccumulation::GradAccumulation(int64_t gradient_accumulation_steps) : gas_(gradient_accumulation_steps) {
  check(gas_ >= 1, "--gradient_accumulation_steps must be >= 1, got " + std::to_string(gas_),
        "set --gradient_accumulation_steps (or gradient_accumulation_steps in the ds_config) to a positive integer");
}

bool GradAccumulation::micro_step() {
  ++micro_steps_;
  return micro_steps_ % gas_ == 0;
}

void GradAccumulation::set_micro_steps(int64_t n) {
  check(n >= 0, "GradAccumulation: micro-step count must be >= 0, got " + std::to_string(n));
  micro_steps_ = n;
}

int64_t GradAccumulation::num_training_steps(int64_t epochs, int64_t micro_batches_per_rank, int64_t gas) {
  check(epochs >= 0, "--num_train_epochs must be >= 0, got " + std::to_string(epochs));
  check(micro_batches_per_rank >= 0, "micro-batches per rank must be >= 0, got " + std::to_string(micro_batches_per_rank));
  check(gas >= 1, "--gradient_accumulation_steps must be >= 1, got " + std::to_string(gas));
  return epochs * ((micro_batches_per_rank + gas - 1) / gas);
}

int64_t GradAccumulation::num_applied_steps(int64_t epochs, int64_t micro_batches_per_rank, int64_t gas) {
  check(gas >= 1, "--gradient_accumulation_steps must be >= 1, got " + std::to_string(gas));
  return epochs * micro_batches_per_rank / gas;
}

}  // namespace zt::train
