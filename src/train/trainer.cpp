// The step-1 training loop (one rank, resident parameters).
#include "train/trainer.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/error.hpp"
#include "core/log.hpp"
#include "ops/elementwise.hpp"
#include "train/grad_clip.hpp"

namespace zt::train {

namespace {
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
}  // namespace

Trainer::Trainer(model::ResidentModel& model, LoopOptions opt, MetricsLogger* metrics)
    : model_(model), opt_(std::move(opt)), metrics_(metrics) {
  check(opt_.gradient_accumulation_steps > 0, "--gradient_accumulation_steps must be positive");
  std::vector<ParamInfo> infos;
  std::vector<std::string> all;
  for (auto& u : model_.layout().units)
    for (auto& p : u.params) {
      infos.push_back({p.name, p.trainable});
      all.push_back(p.name);
    }
  groups_ = build_param_groups(infos, opt_.groups);
  check(!groups_.empty(), "no parameter is trainable", "drop --only_optimize_lora or enable LoRA with --lora_dim");
  std::vector<double> wds;
  for (auto& g : groups_) wds.push_back(g.weight_decay);
  optimizer_ = std::make_unique<Optimizer>(wds, opt_.adam);
  const DType dt = model_.dtype();
  const bool mixed = dt == DType::bf16 || dt == DType::f16;
  check(mixed || dt == DType::f32 || dt == DType::f64,
        "the trainer keeps parameters in fp32, bf16 or fp16; got a " + std::string(dtype_name(dt)) + " model");
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (int pi : groups_[gi].params) {
      Tensor param = model_.param(all[pi]);
      Tensor master = param;
      if (mixed) {  // fp32 master copy on the parameter's device; the compute-dtype copy is refreshed after each step
        master = Tensor::empty(param.shape(), DType::f32, param.device());
        ops::copy(master, param);
        params_lp_.push_back(param);
        masters_.push_back(master);
      }
      optimizer_->add_param(int(gi), master, model_.grad(all[pi]), all[pi]);
      names_.push_back(all[pi]);
      grads_.push_back(model_.grad(all[pi]));
    }
  for (int u = 0; u < int(model_.layout().units.size()); ++u)
    if (model_.unit_grads(u).trainable.defined()) flat_grads_.push_back(model_.unit_grads(u).trainable);
  if (dt == DType::f16) {
    check(opt_.loss_scaler.has_value(), "fp16 training needs a loss scaler", "pass LoopOptions::loss_scaler (the ds_config's fp16 section)");
    scaler_ = std::make_unique<LossScaler>(*opt_.loss_scaler, opt_.rank);
  } else {
    check(!opt_.loss_scaler, "loss scaling applies to fp16 models only; this model is " + std::string(dtype_name(dt)),
          "enable fp16 in the ds_config (or --dtype fp16), or drop the fp16 loss-scaler settings");
  }
}

int64_t Trainer::num_training_steps(int64_t micro_batches_per_epoch) const {
  return GradAccumulation::num_training_steps(opt_.epochs, micro_batches_per_epoch, opt_.gradient_accumulation_steps);
}

model::PackedBatch Trainer::make_batch(const SampleSet& set, const std::vector<int64_t>& idx) const {
  std::vector<std::vector<int32_t>> ids(idx.size()), labels(idx.size());
  for (size_t i = 0; i < idx.size(); ++i) set.get(idx[i], ids[i], labels[i]);
  return model::pack_sequences(ids, labels);
}

EvalResult Trainer::evaluate(const SampleSet& eval, const std::vector<std::vector<int64_t>>& batches) {
  // DeepSpeed-Chat: the mean over eval batches of each batch's mean loss; ppl = exp(loss).
  double sum = 0;
  int64_t n = 0;
  model::RunOptions ro;
  ro.training = false;
  for (auto& b : batches) {
    model::PackedBatch pb = make_batch(eval, b);
    if (pb.num_targets == 0) continue;
    sum += model_.run(pb, ro, false);
    ++n;
  }
  EvalResult r;
  r.loss = n ? sum / double(n) : std::nan("");
  r.perplexity = std::exp(r.loss);
  return r;
}

LoopResult Trainer::train(const SampleSet& train, const SampleSet& eval, const EpochPlan& plan) {
  LoopResult res;
  const int64_t per_epoch = int64_t(plan.train_batches.size());
  const int64_t total_steps = num_training_steps(per_epoch);
  std::vector<double> base_lrs;
  for (auto& g : groups_) base_lrs.push_back(g.lr);
  LrScheduler sched(opt_.schedule, opt_.num_warmup_steps, total_steps, base_lrs, opt_.groups.learning_rate);
  GradAccumulation acc(opt_.gradient_accumulation_steps);
  const bool tty = opt_.progress && ::isatty(2);

  auto run_eval = [&](const std::string& when) {
    EvalResult e = evaluate(eval, plan.eval_batches);
    res.evals.push_back(e);
    if (opt_.rank == 0) log::info("***** Evaluating perplexity, " + when + " *****\nppl: " + fmt("%.6g", e.perplexity) +
                                  ", loss: " + fmt("%.6g", e.loss));
    if (metrics_) metrics_->log_scalars(res.applied_steps, {{"eval/loss", e.loss}, {"eval/ppl", e.perplexity}});
  };
  if (!plan.eval_batches.empty()) run_eval("Epoch 0/" + std::to_string(opt_.epochs));

  model_.zero_grad();
  double window_loss = 0;
  int64_t window_n = 0, window_tokens = 0, window_samples = 0;
  double t_window = now(), t_start = now();
  for (int64_t epoch = 0; epoch < opt_.epochs; ++epoch) {
    if (opt_.rank == 0)
      log::info("Beginning of Epoch " + std::to_string(epoch + 1) + "/" + std::to_string(opt_.epochs) + ", Total Micro Batches " +
                std::to_string(per_epoch));
    for (int64_t step = 0; step < per_epoch; ++step) {
      model::PackedBatch pb = make_batch(train, plan.train_batches[step]);
      model::RunOptions ro;
      ro.training = true;
      ro.gradient_checkpointing = opt_.gradient_checkpointing;
      ro.dropout_seed = opt_.seed * 0x9E3779B97F4A7C15ull + uint64_t(acc.micro_steps());
      // DeepSpeed scales each micro-batch's mean loss by 1/GAS before backward.
      // fp16: the loss is multiplied by the current loss scale as well (DeepSpeed's backward(loss * scale)).
      const double loss_scale = scaler_ ? scaler_->scale() : 1.0;
      const float scale = !pb.num_targets ? 0.0f
                          : scaler_  ? float(loss_scale / double(pb.num_targets * opt_.gradient_accumulation_steps))
                                     : 1.0f / float(pb.num_targets * opt_.gradient_accumulation_steps);
      double loss = pb.num_targets ? model_.run(pb, ro, true, scale) : 0.0;
      if (opt_.print_loss) {
        std::printf("Epoch: %lld, Step: %lld, Rank: %d, loss = %.6g\n", (long long)epoch, (long long)step, opt_.rank, loss);
        std::fflush(stdout);
      }
      window_loss += loss;
      ++window_n;
      window_tokens += pb.num_tokens();
      window_samples += pb.seq.num_seqs();
      res.train_tokens += pb.num_tokens();
      ++res.micro_steps;
      if (!acc.micro_step()) continue;
      // an optimizer step
      // On a GPU the norm, overflow test and scaling run over each unit's flat gradient buffer (one kernel each);
      // the CPU keeps its per-parameter order (bit-identical to before).
      const std::vector<Tensor>& gl = model_.model().device().is_cuda() ? flat_grads_ : grads_;
      double norm = 0;
      if (scaler_) {
        bool overflow = false;
        for (const Tensor& g : gl) overflow = overflow || ops::has_inf_or_nan(g);
        const ScaleUpdate su = scaler_->update(overflow);
        res.loss_scales.push_back(su.previous_scale);
        if (su.skipped) {  // DeepSpeed: no optimizer step, no scheduler step, gradients dropped
          ++res.skipped_steps;
          model_.zero_grad();
          if (metrics_)
            metrics_->log_scalars(res.applied_steps + res.skipped_steps,
                                  {{"train/loss_scale", su.previous_scale}, {"train/skipped_steps", double(res.skipped_steps)}});
          window_loss = 0, window_n = 0, window_tokens = 0, window_samples = 0;
          t_window = now();
          continue;
        }
        const double scaled_norm = global_grad_norm(gl);
        unscale_and_clip(gl, scaled_norm, su.previous_scale, opt_.gradient_clipping);
        norm = scaled_norm / su.previous_scale;
      } else {
        norm = opt_.gradient_clipping > 0 ? clip_grad_norm(gl, opt_.gradient_clipping) : global_grad_norm(gl);
        check(std::isfinite(norm), "the gradient norm is " + fmt("%g", norm) + " at step " + std::to_string(res.applied_steps + 1),
              std::string(dtype_name(model_.dtype())) + " training diverged: lower --learning_rate or check the data");
      }
      std::vector<double> lrs = sched.lrs();
      optimizer_->step(lrs);
      for (size_t i = 0; i < masters_.size(); ++i) ops::copy(params_lp_[i], masters_[i]);  // masters -> compute dtype
      sched.step();
      model_.zero_grad();
      ++res.applied_steps;
      double dt = now() - t_window;
      double mean_loss = window_loss / double(window_n);
      res.step_losses.push_back(mean_loss);
      res.grad_norms.push_back(norm);
      res.lrs.push_back(lrs[0]);
      if (metrics_) {
        std::vector<Scalar> sc = {{"train/loss", mean_loss}, {"train/lr", lrs[0]}, {"train/grad_norm", norm},
                                                 {"train/tokens_per_s", double(window_tokens) / dt},
                                                 {"train/samples_per_s", double(window_samples) / dt}};
        if (scaler_) sc.push_back({"train/loss_scale", res.loss_scales.back()});
        metrics_->log_scalars(res.applied_steps + res.skipped_steps, sc);
      }
      const bool last = epoch == opt_.epochs - 1 && step == per_epoch - 1;
      if (opt_.rank == 0 && (res.applied_steps == 1 || last || res.applied_steps % opt_.steps_per_print == 0)) {
        log::info("step " + std::to_string(res.applied_steps) + "/" + std::to_string(total_steps) + " | loss " + fmt("%.4f", mean_loss) +
                  " | lr " + fmt("%.3g", lrs[0]) + " | grad norm " + fmt("%.3g", norm) + " | " +
                  fmt("%.0f", double(window_tokens) / dt) + " tokens/s | " + fmt("%.1f", double(window_samples) / dt) + " samples/s");
      } else if (tty && opt_.rank == 0) {
        std::fprintf(stderr, "\r  step %lld/%lld (%.0f%%)", (long long)res.applied_steps, (long long)total_steps,
                     100.0 * double(res.applied_steps) / double(std::max<int64_t>(total_steps, 1)));
        std::fflush(stderr);
      }
      window_loss = 0, window_n = 0, window_tokens = 0, window_samples = 0;
      t_window = now();
    }
    if (tty && opt_.rank == 0) std::fprintf(stderr, "\r\033[K");
    if (!plan.eval_batches.empty()) run_eval("Epoch " + std::to_string(epoch + 1) + "/" + std::to_string(opt_.epochs));
  }
  if (acc.pending() && opt_.rank == 0)
    log::warn(std::to_string(acc.pending()) + " trailing micro-batch(es) did not fill a gradient-accumulation window and were not applied"
              " (DeepSpeed behaves the same)");
  res.train_seconds = now() - t_start;
  return res;
}

}  // namespace zt::train
