// DeepSpeed's ds_config.json read into a typed DsConfig (unknown keys warned with their path, wrong types rejected),
// and DeepSpeed-Chat's own step-1 config. train_settings.hpp merges it with the flags, with this precedence:
//
// Precedence, for a value both a flag and the ds_config carry (micro-batch, GAS, dtype, zero stage, offload, lr,
// weight decay, warm-up steps, tensorboard): an explicit flag beats a ds_config that is silent or says "auto";
// an explicit ds_config value beats a flag left at its default; both explicit and different is an error naming
// the flag and the key. Values only the ds_config carries take DeepSpeed's defaults when absent; "auto" is filled
// from the flags as the Hugging Face integration does. Without --deepspeed_config the config is the one
// DeepSpeed-Chat's get_train_ds_config() builds from the flags (dschat_step1_ds_config), read by the same code.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "core/json.hpp"
#include "train/loss_scaler.hpp"
#include "train/lr_schedule.hpp"
#include "train/train_config.hpp"

namespace zt::train {

// One ds_config value: absent, "auto" (filled from the flags at merge time) or an explicit value.
template <class T>
struct DsValue {
  std::optional<T> value;  // the file's explicit value
  bool is_auto = false;    // the file says "auto"
  bool present() const { return is_auto || value.has_value(); }
};

struct DsOffload {
  std::optional<std::string> device;     // "none" | "cpu" | "nvme"
  std::optional<bool> pin_memory;        // page-locked host buffers
  std::optional<std::string> nvme_path;  // for device "nvme"
};

struct DsZero {
  std::optional<int64_t> stage;                                // 0..3
  std::optional<bool> allgather_partitions;                    // stages 1/2: all-gather (true) or broadcast
  std::optional<int64_t> allgather_bucket_size;                // elements per all-gather bucket
  std::optional<bool> reduce_scatter;                          // reduce-scatter (true) or all-reduce gradients
  DsValue<int64_t> reduce_bucket_size;                         // elements per reduction bucket ("auto": hidden^2)
  std::optional<bool> overlap_comm;                            // overlap communication with backward
  std::optional<bool> contiguous_gradients;                    // copy gradients into one contiguous buffer
  std::optional<DsOffload> offload_param;                      // stage 3 parameters on the host
  std::optional<DsOffload> offload_optimizer;                  // optimizer state on the host
  DsValue<int64_t> stage3_prefetch_bucket_size;                // elements prefetched ("auto": 0.9 hidden^2)
  DsValue<int64_t> stage3_param_persistence_threshold;         // params smaller than this stay gathered ("auto": 10 hidden)
  std::optional<int64_t> stage3_max_live_parameters;           // gathered elements kept live at most
  std::optional<int64_t> stage3_max_reuse_distance;            // keep a param gathered if reused within this distance
  std::optional<bool> stage3_gather_16bit_weights_on_model_save;  // (alias stage3_gather_fp16_weights_on_model_save)
  std::optional<int64_t> sub_group_size;                       // optimizer step granularity (elements)
};

struct DsOptimizer {
  std::string type;                          // "Adam" or "AdamW" (case-insensitive in the file; stored as written)
  DsValue<double> lr;                        // params.lr
  DsValue<std::array<double, 2>> betas;      // params.betas
  DsValue<double> eps;                       // params.eps
  DsValue<double> weight_decay;              // params.weight_decay
  std::optional<bool> adam_w_mode;           // params.adam_w_mode (DeepSpeed default true: decoupled decay)
  std::optional<bool> bias_correction;       // params.bias_correction (default true)
};

enum class DsSchedulerType { warmup_lr, warmup_decay_lr, warmup_cosine_lr };
const char* ds_scheduler_name(DsSchedulerType t);  // "WarmupLR", "WarmupDecayLR", "WarmupCosineLR"

struct DsScheduler {
  DsSchedulerType type = DsSchedulerType::warmup_lr;
  DsValue<double> warmup_min_lr;        // WarmupLR/WarmupDecayLR (default 0; "auto": 0)
  DsValue<double> warmup_max_lr;        // WarmupLR/WarmupDecayLR (default 0.001; "auto": --learning_rate)
  DsValue<int64_t> warmup_num_steps;    // all (default 1000; "auto": --num_warmup_steps)
  DsValue<int64_t> total_num_steps;     // WarmupDecayLR/WarmupCosineLR, required ("auto": the run's optimizer steps)
  std::optional<std::string> warmup_type;  // "log" (default) | "linear"
  std::optional<double> warmup_min_ratio;  // WarmupCosineLR (default 0)
  std::optional<double> cos_min_ratio;     // WarmupCosineLR (default 0.0001)
};

struct DsFp16 {
  DsValue<bool> enabled;                        // "auto": --dtype fp16
  std::optional<double> loss_scale;             // 0 dynamic, > 0 static
  std::optional<int64_t> initial_scale_power;   // dynamic: initial scale 2^this
  std::optional<int64_t> loss_scale_window;     // clean steps between doublings
  std::optional<int64_t> hysteresis;            // overflows tolerated before halving
  std::optional<bool> consecutive_hysteresis;   // refill hysteresis on clean steps
  std::optional<double> min_loss_scale;         // floor of the dynamic scale
  std::optional<bool> auto_cast;                // kept; no effect
  // The spec's rules: loss_scale > 0 -> static; else if any of initial_scale_power, loss_scale_window,
  // hysteresis, consecutive_hysteresis, min_loss_scale is present, DeepSpeed's keys-present defaults (2^16,
  // 1000, 2, false, 1) overridden by the keys given; if none is, ZeRO's defaults (2^32, 1000, 1, false, 1).
  LossScalerConfig loss_scaler() const;
};

struct DsMonitor {
  std::optional<bool> enabled;
  std::optional<std::string> output_path;
  std::optional<std::string> job_name;
};

struct DsActivationCheckpointing {
  std::optional<bool> partition_activations, cpu_checkpointing, contiguous_memory_optimization;
  std::optional<bool> synchronize_checkpoint_boundary, profile;
  std::optional<int64_t> number_checkpoints;
};

struct DsConfig {
  std::string source;                                  // the file path (or a label), used in every message
  DsValue<int64_t> train_batch_size;                   // micro x GAS x world
  DsValue<int64_t> train_micro_batch_size_per_gpu;     // "auto": --per_device_train_batch_size
  DsValue<int64_t> gradient_accumulation_steps;        // "auto": --gradient_accumulation_steps
  DsValue<double> gradient_clipping;                   // global-norm clip, 0 = off ("auto": 1.0)
  std::optional<int64_t> steps_per_print;              // DeepSpeed default 10
  std::optional<bool> wall_clock_breakdown;            // DeepSpeed default false
  std::optional<bool> zero_allow_untested_optimizer;   // kept; no effect
  std::optional<DsOptimizer> optimizer;
  std::optional<DsScheduler> scheduler;
  std::optional<DsFp16> fp16;
  std::optional<DsValue<bool>> bf16_enabled;           // bf16.enabled or bfloat16.enabled ("auto": --dtype bf16)
  std::optional<DsZero> zero_optimization;
  std::optional<DsMonitor> tensorboard;
  std::optional<DsMonitor> csv_monitor;
  std::optional<DsActivationCheckpointing> activation_checkpointing;
  // "<source>: unknown key zero_optimization.stage3_foo (ignored)" and notes on DeepSpeed features zerotune
  // does not implement; the caller logs them (rank 0).
  std::vector<std::string> warnings;
};

// Reads a parsed ds_config. `source` labels messages (normally the file path). Throws zt::Error naming the key
// path and the expected type for wrong types, bad values, both fp16 and bf16 enabled, unsupported optimizer or
// scheduler types.
DsConfig parse_ds_config(const Json& j, const std::string& source);
DsConfig load_ds_config(const std::string& path);

// The dict DeepSpeed-Chat's get_train_ds_config() returns for step 1 (with main.py's batch sizes filled in):
// train_batch_size = micro x world x GAS, train_micro_batch_size_per_gpu, steps_per_print 10, zero_optimization
// {stage, overlap_comm true, offload_param/offload_optimizer device cpu|none, stage3_param_persistence_threshold 1e4,
// stage3_max_live_parameters 3e7, stage3_prefetch_bucket_size 3e7, memory_efficient_linear false},
// fp16 {enabled, loss_scale_window 100} or bfloat16 {enabled}, gradient_clipping 1.0, prescale_gradients false,
// wall_clock_breakdown false, tensorboard {enabled, output_path <tensorboard_path>/ds_tensorboard_logs/,
// job_name step1_model_tensorboard}. (The hybrid_engine block, step 3 only, is left out.)
Json dschat_step1_ds_config(const TrainConfig& cfg, int64_t world_size);

}  // namespace zt::train
