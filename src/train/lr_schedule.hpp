// Learning-rate schedules: the six Hugging Face `get_scheduler` types DeepSpeed-Chat offers, with
// transformers.optimization's exact multiplier formulas, and a scheduler stepped once per applied optimizer step.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace zt::train {

enum class LrScheduleType { linear, cosine, cosine_with_restarts, polynomial, constant, constant_with_warmup };

// Parses the HF names exactly ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant",
// "constant_with_warmup"); anything else is an error that lists the valid names. `where` labels the source
// (e.g. "--lr_scheduler_type").
LrScheduleType parse_lr_schedule_type(const std::string& name, const std::string& where = "--lr_scheduler_type");
const char* lr_schedule_name(LrScheduleType t);
// All six names in HF's order, comma separated (for help texts and errors).
std::string lr_schedule_names();

// HF defaults for get_scheduler(): cosine num_cycles 0.5, cosine_with_restarts num_cycles 1,
// polynomial lr_end 1e-7 and power 1.0.
constexpr double kCosineCycles = 0.5;
constexpr double kCosineRestartCycles = 1.0;
constexpr double kPolyLrEnd = 1e-7;
constexpr double kPolyPower = 1.0;

// The LambdaLR multiplier after `step` scheduler steps (lr = base_lr * lambda).
// `poly_lr_init` is the optimizer's default lr (HF reads optimizer.defaults["lr"]; DeepSpeed-Chat builds the
// optimizer with lr = --learning_rate, so the LoRA group shares that lambda); only polynomial uses it, and it
// must exceed kPolyLrEnd there. `constant` ignores num_warmup as HF's get_scheduler does.
double lr_lambda(LrScheduleType type, int64_t step, int64_t num_warmup, int64_t num_training, double poly_lr_init = 1.0);

// Tracks the scheduler step and gives each parameter group's lr = base_lr[g] * lambda(step).
// Step it once per applied optimizer step (not on fp16-overflow-skipped steps), after the optimizer step,
// as torch's LambdaLR is stepped after optimizer.step().
class LrScheduler {
 public:
  // base_lrs: one per parameter group (the group's initial lr). poly_lr_init: see lr_lambda; typically
  // --learning_rate. Throws for negative step counts and for polynomial with poly_lr_init <= lr_end.
  LrScheduler(LrScheduleType type, int64_t num_warmup_steps, int64_t num_training_steps, std::vector<double> base_lrs,
              double poly_lr_init);

  void step() { ++step_; }
  int64_t last_step() const { return step_; }  // scheduler steps taken so far (HF's last_epoch)
  void set_last_step(int64_t s);                // for resuming from a checkpoint

  double lambda() const;
  double lr(size_t group) const;       // base_lrs[group] * lambda()
  std::vector<double> lrs() const;     // every group's current lr
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  LrScheduleType type() const { return type_; }
  int64_t num_warmup_steps() const { return warmup_; }
  int64_t num_training_steps() const { return training_; }

 private:
  LrScheduleType type_;
  int64_t warmup_, training_;
  std::vector<double> base_lrs_;
  double poly_lr_init_;
  int64_t step_ = 0;
};

}  // namespace zt::train
