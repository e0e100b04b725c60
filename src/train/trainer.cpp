// The step-1 training loop (one rank, resident parameters).
#include "train/trainer.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/error.hpp"
#include "core/log.hpp"
#include "dist/scalar.hpp"
#include "ops/elementwise.hpp"
#include "train/grad_clip.hpp"

#include <unordered_map>

namespace zt::train {

namespace {
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
}  // namespace

Trainer::Trainer(dist::ZeroEngine& engine, LoopOptions opt, MetricsLogger* metrics)
    : engine_(engine), opt_(std::move(opt)), metrics_(metrics) {
  setup();
}

Trainer::Trainer(model::ResidentModel& model, LoopOptions opt, MetricsLogger* metrics)
    : own_comm_(dist::make_single_comm()),
      own_engine_(std::make_unique<dist::ZeroEngine>(model.config(), model.model().lora(), model.dtype(), model.model().device(),
                                                     *own_comm_, dist::ZeroOptions{})),
      resident_(&model),
      engine_(*own_engine_),
      opt_(std::move(opt)),
      metrics_(metrics) {
  engine_.load([&](int u, const model::UnitParams& dst) {
    const model::UnitParams& src = model.unit_params(u);
    if (dst.frozen.defined()) ops::copy(dst.frozen, src.frozen);
    if (dst.trainable.defined()) ops::copy(dst.trainable, src.trainable);
  });
  setup();
}

Trainer::~Trainer() = default;

void Trainer::setup() {
  check(opt_.gradient_accumulation_steps > 0, "--gradient_accumulation_steps must be positive");
  std::vector<ParamInfo> infos;
  for (auto& u : engine_.layout().units)
    for (auto& p : u.params) infos.push_back({p.name, p.trainable});
  groups_ = build_param_groups(infos, opt_.groups);
  check(!groups_.empty(), "no parameter is trainable", "drop --only_optimize_lora or enable LoRA with --lora_dim");
  std::vector<double> wds;
  std::unordered_map<std::string, int> group_of;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    wds.push_back(groups_[gi].weight_decay);
    for (int pi : groups_[gi].params) group_of[infos[size_t(pi)].name] = int(gi);
  }
  optimizer_ = std::make_unique<Optimizer>(wds, opt_.adam);
  // This rank's slices of the trainable parameters, in layout order (a parameter may span ranks).
  for (const auto& seg : engine_.segments()) optimizer_->add_param(group_of.at(seg.name), seg.master, seg.grad, seg.name);
  const DType dt = engine_.dtype();
  if (dt == DType::f16) {
    check(opt_.loss_scaler.has_value(), "fp16 training needs a loss scaler", "pass LoopOptions::loss_scaler (the ds_config's fp16 section)");
    scaler_ = std::make_unique<LossScaler>(*opt_.loss_scaler, opt_.rank);
  } else {
    check(!opt_.loss_scaler, "loss scaling applies to fp16 models only; this model is " + std::string(dtype_name(dt)),
          "enable fp16 in the ds_config (or --dtype fp16), or drop the fp16 loss-scaler settings");
  }
}

double Trainer::rank_mean(double v) const {
  return dist::all_reduce_scalar(engine_.comm(), engine_.device(), v, dist::ReduceOp::avg);
}

void Trainer::resume_at(const LoopPosition& pos) {
  check(pos.epoch >= 0 && pos.step_in_epoch >= 0 && pos.micro_steps >= 0 && pos.applied_steps >= 0 && pos.skipped_steps >= 0,
        "internal: a negative loop position to resume at");
  check(bool(scaler_) == pos.loss_scaler.has_value(),
        std::string("the checkpoint ") + (pos.loss_scaler ? "has" : "has no") + " fp16 loss-scaler state but this run " +
            (scaler_ ? "trains in fp16" : "does not train in fp16"),
        "resume with the --dtype (or ds_config fp16/bf16 section) the checkpoint was written with");
  optimizer_->set_step_count(pos.optimizer_step);
  if (scaler_) scaler_->load_state(*pos.loss_scaler);
  start_ = pos;
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
    sum += engine_.run(pb, ro, false);
    ++n;
  }
  EvalResult r;
  // DeepSpeed-Chat averages each rank's mean over ranks (get_all_reduce_mean).
  r.loss = rank_mean(n ? sum / double(n) : std::nan(""));
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
  const LoopPosition start = start_.value_or(LoopPosition{});
  sched.set_last_step(start.scheduler_step);
  acc.set_micro_steps(start.micro_steps);
  res.applied_steps = start.applied_steps;
  res.skipped_steps = start.skipped_steps;
  // Checkpoint hook at a boundary: where the next micro-batch is, and whether an epoch ended in this window.
  auto boundary = [&](int64_t epoch, int64_t next_step) {
    if (!observer_) return;
    LoopPosition p{epoch, next_step, acc.micro_steps(), res.applied_steps, res.skipped_steps, sched.last_step(),
                   optimizer_->step_count(), std::nullopt};
    if (scaler_) p.loss_scaler = scaler_->state();
    const int64_t m = acc.micro_steps(), w = acc.gas();
    observer_->on_boundary(p, per_epoch > 0 && m / per_epoch > std::max<int64_t>(m - w, 0) / per_epoch);
  };

  auto run_eval = [&](const std::string& when) {
    EvalResult e = evaluate(eval, plan.eval_batches);
    res.evals.push_back(e);
    if (opt_.rank == 0) log::info("***** Evaluating perplexity, " + when + " *****\nppl: " + fmt("%.6g", e.perplexity) +
                                  ", loss: " + fmt("%.6g", e.loss));
    if (metrics_) metrics_->log_scalars(res.applied_steps, {{"eval/loss", e.loss}, {"eval/ppl", e.perplexity}});
  };
  if (!plan.eval_batches.empty() && !start_) run_eval("Epoch 0/" + std::to_string(opt_.epochs));

  engine_.zero_grad();
  double window_loss = 0;
  int64_t window_n = 0, window_tokens = 0, window_samples = 0;
  double t_window = now(), t_start = now();
  for (int64_t epoch = start.epoch; epoch < opt_.epochs; ++epoch) {
    const int64_t first = epoch == start.epoch ? std::min(start.step_in_epoch, per_epoch) : 0;
    if (opt_.rank == 0)
      log::info((first ? "Resuming Epoch " : "Beginning of Epoch ") + std::to_string(epoch + 1) + "/" + std::to_string(opt_.epochs) +
                ", Total Micro Batches " + std::to_string(per_epoch) + (first ? " (from micro-batch " + std::to_string(first + 1) + ")" : ""));
    for (int64_t step = first; step < per_epoch; ++step) {
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
      double loss = pb.num_targets ? engine_.run(pb, ro, true, scale) : 0.0;
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
      // an optimizer step: average the gradients over ranks, then norm, overflow test and clipping over every
      // rank's share (collectives inside the engine), AdamW on this rank's master slices.
      engine_.reduce_gradients();
      const std::vector<Tensor> gl = engine_.owned_grads();
      double norm = 0;
      if (scaler_) {
        const ScaleUpdate su = scaler_->update(engine_.overflow());
        res.loss_scales.push_back(su.previous_scale);
        if (su.skipped) {  // DeepSpeed: no optimizer step, no scheduler step, gradients dropped
          ++res.skipped_steps;
          engine_.zero_grad();
          if (metrics_)
            metrics_->log_scalars(res.applied_steps + res.skipped_steps,
                                  {{"train/loss_scale", su.previous_scale}, {"train/skipped_steps", double(res.skipped_steps)}});
          window_loss = 0, window_n = 0, window_tokens = 0, window_samples = 0;
          t_window = now();
          boundary(epoch, step + 1);
          continue;
        }
        const double scaled_norm = engine_.grad_norm();
        unscale_and_clip(gl, scaled_norm, su.previous_scale, opt_.gradient_clipping);
        norm = scaled_norm / su.previous_scale;
      } else {
        norm = engine_.grad_norm();
        check(std::isfinite(norm), "the gradient norm is " + fmt("%g", norm) + " at step " + std::to_string(res.applied_steps + 1),
              std::string(dtype_name(engine_.dtype())) + " training diverged: lower --learning_rate or check the data");
        if (opt_.gradient_clipping > 0) {  // torch's clip_grad_norm_ coefficient
          const double coef = opt_.gradient_clipping / (norm + 1e-6);
          if (coef < 1.0) scale_grads(gl, coef);
        }
      }
      std::vector<double> lrs = sched.lrs();
      engine_.stage_gradients();  // --offload: the optimizer reads host copies
      optimizer_->step(lrs);
      engine_.publish();  // masters -> compute-dtype parameters on every rank that needs them
      sched.step();
      engine_.zero_grad();
      ++res.applied_steps;
      double dt = now() - t_window;
      double mean_loss = rank_mean(window_loss / double(window_n));
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
      boundary(epoch, step + 1);
    }
    if (tty && opt_.rank == 0) std::fprintf(stderr, "\r\033[K");
    if (!plan.eval_batches.empty()) run_eval("Epoch " + std::to_string(epoch + 1) + "/" + std::to_string(opt_.epochs));
  }
  if (acc.pending() && opt_.rank == 0)
    log::warn(std::to_string(acc.pending()) + " trailing micro-batch(es) did not fill a gradient-accumulation window and were not applied"
              " (DeepSpeed behaves the same)");
  res.train_seconds = now() - t_start;
  if (observer_) {
    LoopPosition p{opt_.epochs, 0, acc.micro_steps(), res.applied_steps, res.skipped_steps, sched.last_step(),
                   optimizer_->step_count(), std::nullopt};
    if (scaler_) p.loss_scaler = scaler_->state();
    observer_->on_end(p);
  }
  if (resident_)
    engine_.gather([&](int u, const model::UnitParams& src) {
      const model::UnitParams& dst = resident_->unit_params(u);
      if (src.frozen.defined()) ops::copy(dst.frozen, src.frozen);
      if (src.trainable.defined()) ops::copy(dst.trainable, src.trainable);
    });
  return res;
}

}  // namespace zt::train
