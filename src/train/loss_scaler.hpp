// fp16 loss scaling with DeepSpeed's semantics (runtime/fp16/loss_scaler.py as the ZeRO optimizers use it):
// a static scale when fp16.loss_scale > 0, else the dynamic scaler with hysteresis and a growth window.
#pragma once
#include <cstdint>
#include <string>

namespace zt::train {

struct LossScalerConfig {
  double loss_scale = 0.0;            // fp16.loss_scale: > 0 means a static scale, 0 dynamic
  double initial_scale = 65536.0;     // 2^fp16.initial_scale_power
  int64_t scale_window = 1000;        // fp16.loss_scale_window
  int64_t hysteresis = 2;             // fp16.hysteresis (DeepSpeed's delayed_shift)
  bool consecutive_hysteresis = false;  // fp16.consecutive_hysteresis
  double min_scale = 1.0;             // fp16.min_loss_scale

  // DeepSpeed's defaults when at least one of initial_scale_power, loss_scale_window, hysteresis,
  // consecutive_hysteresis, min_loss_scale is in the fp16 section: 2^16, 1000, 2, false, 1
  // (the ds_config reader overrides the keys present).
  static LossScalerConfig keys_present_defaults() { return {}; }
  // What ZeRO's optimizers build when none of those keys is present: 2^32, window 1000, hysteresis 1, min 1.
  static LossScalerConfig zero_no_keys_defaults();
  // Builds the initial scale from fp16.initial_scale_power (0..63).
  static double scale_from_power(int power);
};

// Outcome of one step's update().
struct ScaleUpdate {
  bool skipped = false;        // overflow: do not apply the optimizer step nor step the LR scheduler
  double previous_scale = 0;   // the scale this step's gradients were computed with
  double scale = 0;            // the scale for the next step
  std::string message;         // the OVERFLOW line when skipped (also logged on rank 0), else ""
};

class LossScaler {
 public:
  // `rank` prefixes the overflow message and only rank 0 logs it, like DeepSpeed.
  explicit LossScaler(const LossScalerConfig& cfg, int rank = 0);

  double scale() const { return cur_scale_; }
  bool dynamic() const { return dynamic_; }

  // Call once per would-be optimizer step with the overflow flag max-reduced over ranks. On overflow the
  // dynamic scaler halves the scale (floor min_scale) once the hysteresis is used up, else spends one unit
  // of hysteresis; if the scale is already at min_scale it throws (DeepSpeed raises there). On a clean step
  // it refills the hysteresis (consecutive_hysteresis) and doubles the scale every scale_window clean steps
  // since the last overflow. A static scaler never changes its scale but still reports skipped steps.
  ScaleUpdate update(bool overflow);

  int64_t skipped_steps() const { return skipped_; }

  // Everything a checkpoint needs to continue the same sequence.
  struct State {
    double cur_scale = 0;
    int64_t cur_iter = 0;
    int64_t last_overflow_iter = -1;
    int64_t cur_hysteresis = 0;
    int64_t skipped_steps = 0;
  };
  State state() const;
  void load_state(const State& s);

 private:
  LossScalerConfig cfg_;
  bool dynamic_;
  int rank_;
  double cur_scale_;
  int64_t cur_iter_ = 0;
  int64_t last_overflow_iter_ = -1;
  int64_t cur_hysteresis_;
  int64_t skipped_ = 0;
};

}  // namespace zt::train
