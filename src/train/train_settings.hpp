// The effective training settings: TrainConfig (flags) + DsConfig (ds_config.json or DeepSpeed-Chat's step-1
// config) + world size, merged with the precedence written in ds_config.hpp, and echoed as JSON into logs.
//
// What that precedence gives where DeepSpeed, the HF integration and DeepSpeed-Chat differ (all tested):
// - batch: the file's explicit values and the explicit flags go into DeepSpeed's any-two-determine-the-third rule;
//   flags left at their defaults only fill in when the file gives neither train_batch_size nor the micro-batch.
// - dtype: a section with enabled true decides; a file that disables the flag's dtype and enables none means fp32.
//   fp16 from the flag (file without an fp16 section) uses DeepSpeed-Chat's scaler section {loss_scale_window 100}.
// - gradient_clipping: "auto" -> 1.0 (DeepSpeed-Chat's), absent from a user file -> 0 (DeepSpeed's default: off).
// - optimizer: no section -> DeepSpeed-Chat's AdamW(0.9, 0.95, 1e-8); a section without betas -> (0.9, 0.999),
//   DeepSpeed's Adam default; "auto" betas -> (0.9, 0.95).
// - scheduler: a ds scheduler replaces --lr_scheduler_type (giving both is a contradiction); its absent params take
//   DeepSpeed's defaults unless the matching flag was given (warmup_num_steps <- --num_warmup_steps,
//   warmup_max_lr <- --learning_rate).
// - tensorboard: dir = output_path/job_name; output_path absent -> <--tensorboard_path>/ds_tensorboard_logs/;
//   job_name absent -> DeepSpeedJobName in a user file, step1_model_tensorboard in DeepSpeed-Chat's config.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "train/ds_config.hpp"
#include "train/train_config.hpp"

namespace zt::train {

// ---- the effective settings ----

struct ZeroSettings {
  int64_t stage = 0;
  std::string offload_optimizer_device = "none";  // "none" | "cpu" | "nvme"
  std::string offload_param_device = "none";      // used at stage 3 only
  bool offload_pin_memory = false;
  bool overlap_comm = false;                      // DeepSpeed: true by default at stage 3
  bool contiguous_gradients = true;
  bool reduce_scatter = true;
  bool allgather_partitions = true;
  int64_t allgather_bucket_size = 500000000;
  int64_t reduce_bucket_size = 500000000;
  int64_t stage3_prefetch_bucket_size = 50000000;
  int64_t stage3_param_persistence_threshold = 100000;
  int64_t stage3_max_live_parameters = 1000000000;
  int64_t stage3_max_reuse_distance = 1000000000;
  int64_t sub_group_size = 1000000000;
  bool stage3_gather_16bit_weights_on_model_save = false;
};

struct OptimizerSettings {
  std::string type = "AdamW";          // as the ds_config names it, else AdamW (DeepSpeed-Chat's)
  bool decoupled_weight_decay = true;  // false only for type Adam with adam_w_mode false (L2 in the gradient)
  bool from_ds_config = false;         // the ds_config has an optimizer section
  double learning_rate = 1e-3;         // non-LoRA groups
  double lora_learning_rate = 5e-4;    // LoRA group (flag only)
  double weight_decay = 0.0;
  double beta1 = 0.9, beta2 = 0.95;    // DeepSpeed-Chat's; (0.9, 0.999) when a ds optimizer section omits betas
  double eps = 1e-8;
  bool bias_correction = true;
};

struct ScheduleSettings {
  LrScheduleType lr_scheduler_type = LrScheduleType::cosine;  // the HF schedule (used when ds_scheduler is empty)
  int64_t num_warmup_steps = 0;
  // A DeepSpeed scheduler from the ds_config with "auto" and absent params resolved (every DsValue holds a value);
  // total_num_steps -1 means "the run's number of optimizer steps", which the trainer knows.
  std::optional<DsScheduler> ds_scheduler;
};

struct TrainSettings {
  std::string ds_config_source;   // the --deepspeed_config path, or "DeepSpeed-Chat step-1 config"
  int64_t world_size = 1;
  int64_t micro_batch_size = 16;  // per rank
  int64_t gradient_accumulation_steps = 1;
  int64_t train_batch_size = 16;  // micro x GAS x world
  DType dtype = DType::f16;       // f16, bf16, or f32 when the ds_config disables both
  LossScalerConfig loss_scaler;   // meaningful when dtype is f16
  double gradient_clipping = 1.0; // 0 = off
  int64_t steps_per_print = 10;
  bool wall_clock_breakdown = false;
  bool gradient_checkpointing = false;
  ZeroSettings zero;
  OptimizerSettings optimizer;
  ScheduleSettings schedule;
  bool tensorboard_enabled = false;
  std::string tensorboard_dir;    // output_path/job_name, where the event files go
  bool csv_monitor_enabled = false;
  std::string csv_monitor_dir;
  std::vector<std::string> warnings;  // the ds_config's, to log once on rank 0
};

// Merges flags, a ds_config (nullptr: DeepSpeed-Chat's step-1 config built from the flags) and the world size.
// hidden_size (0 = unknown) fills the "auto" ZeRO bucket sizes as the HF integration does (hidden^2,
// 0.9 hidden^2, 10 hidden); unknown leaves DeepSpeed's defaults there. Throws on contradictions and on an
// inconsistent batch triple, naming the numbers and where each came from.
TrainSettings resolve_train_settings(const TrainConfig& cfg, const DsConfig* ds, int64_t world_size,
                                     int64_t hidden_size = 0);
// The same, loading cfg.deepspeed_config when set.
TrainSettings resolve_train_settings(const TrainConfig& cfg, int64_t world_size, int64_t hidden_size = 0);

// The effective settings as JSON, to echo into logs and benchmark results.
Json train_settings_json(const TrainSettings& s);
}  // namespace zt::train
