// The typed configuration of `zerotune train`: every DeepSpeed-Chat step-1 flag with the same name and default
// (docs in the spec's flag table), the flag list for --help, and reading + validating it from parsed cli::Args.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "core/dtype.hpp"
#include "core/json.hpp"
#include "train/lr_schedule.hpp"

namespace zt::train {

struct TrainConfig {
  // ---- data ----
  std::vector<std::string> data_path{"Dahoas/rm-static"};  // --data_path: datasets (names, directories or files)
  std::string data_split = "2,4,4";                        // --data_split: phase 1/2/3 proportions; step 1 uses phase 1
  std::array<double, 3> data_split_parts{2, 4, 4};         // --data_split parsed (three non-negative numbers)
  std::vector<std::string> sft_only_data_path;             // --sft_only_data_path: datasets used whole in phase 1
  std::string data_output_path = "/tmp/data_files/";       // --data_output_path: node-local cache directory
  // ---- model ----
  std::string model_name_or_path;                          // --model_name_or_path: local HF model directory (required)
  // ---- batches and optimisation ----
  int64_t per_device_train_batch_size = 16;                // --per_device_train_batch_size: micro-batch per rank
  int64_t per_device_eval_batch_size = 16;                 // --per_device_eval_batch_size: eval micro-batch per rank
  int64_t max_seq_len = 512;                               // --max_seq_len: samples truncated/padded to this length
  double learning_rate = 1e-3;                             // --learning_rate: lr of the non-LoRA groups
  double weight_decay = 0.0;                               // --weight_decay
  int64_t num_train_epochs = 1;                            // --num_train_epochs (0: evaluate only)
  int64_t gradient_accumulation_steps = 1;                 // --gradient_accumulation_steps
  LrScheduleType lr_scheduler_type = LrScheduleType::cosine;  // --lr_scheduler_type: one of the six HF names
  int64_t num_warmup_steps = 0;                            // --num_warmup_steps: in optimizer steps
  std::optional<std::string> output_dir;                   // --output_dir: nothing saved when absent
  int64_t seed = 1234;                                     // --seed (NumPy RandomState range 0..2^32-1)
  int64_t local_rank = -1;                                 // --local_rank: accepted for compatibility; LOCAL_RANK env wins
  bool gradient_checkpointing = false;                     // --gradient_checkpointing: recompute each block in backward
  std::optional<double> dropout;                           // --dropout: overrides the model config's dropout fields
  bool offload = false;                                    // --offload: optimizer state (and stage-3 params) on the host
  DType dtype = DType::f16;                                // --dtype fp16|bf16: training compute dtype
  int64_t zero_stage = 0;                                  // --zero_stage 0..3
  // ---- LoRA ----
  int64_t lora_dim = 0;                                    // --lora_dim: LoRA rank; > 0 enables LoRA
  std::string lora_module_name = "decoder.layers.";        // --lora_module_name: substring of HF module names
  bool only_optimize_lora = false;                         // --only_optimize_lora: freeze everything but LoRA
  double lora_learning_rate = 5e-4;                        // --lora_learning_rate: lr of the LoRA group
  // ---- misc ----
  bool compute_fp32_loss = false;                          // --compute_fp32_loss: loss from fp32 logits
  bool enable_tensorboard = false;                         // --enable_tensorboard
  std::string tensorboard_path = "step1_tensorboard";      // --tensorboard_path
  bool add_eot_token = false;                              // --add_eot_token: add --eot_token to the vocabulary
  std::string eot_token = "<|endoftext|>";                 // --eot_token
  bool print_loss = false;                                 // --print_loss: every rank prints its loss each micro-step
  bool deepspeed = false;                                  // --deepspeed: accepted, no effect
  std::optional<std::string> deepspeed_config;             // --deepspeed_config: a ds_config.json
  // ---- zerotune extras (not in DeepSpeed-Chat) ----
  bool assistant_only_loss = false;                        // --assistant_only_loss: labels -100 on prompt tokens too
  std::optional<std::string> metrics_file;                 // --metrics_file: JSONL of per-step metrics
  int64_t save_steps = 0;                                  // --save_steps: a checkpoint every N global steps (0: none)
  bool save_each_epoch = false;                            // --save_each_epoch: a checkpoint at each epoch's end
  int64_t save_total_limit = 0;                            // --save_total_limit: keep the newest N checkpoints (0: all)
  std::optional<std::string> resume;                       // --resume auto|<dir>: continue a saved run

  // Flags the user gave explicitly (names without dashes). Decides ds_config conflicts: an explicit flag
  // that disagrees with an explicit ds_config value is an error; a default never is (the file wins).
  std::set<std::string> given;
  bool was_given(const std::string& flag) const { return given.count(flag) > 0; }
};

// Every flag of `zerotune train`, with help text, defaults and choices (for cli::Args and --help).
std::vector<cli::Flag> train_flags();

// The flags given on a command line: name (no dashes) -> its raw values (one for scalars, "1"/"0" for
// switches, any number for lists). Absent flags take their defaults.
using FlagValues = std::map<std::string, std::vector<std::string>>;

// Converts and validates given flag values. Errors name the flag and the fix, e.g.
// "--per_device_train_batch_size must be > 0, got 0". Unknown names are an internal error.
TrainConfig train_config_from_values(const FlagValues& values);

// The same from parsed cli::Args (built with train_flags()). Inline because src/cli/args.cpp is linked
// into the zerotune binary, not into the library.
inline TrainConfig train_config_from_args(const cli::Args& args) {
  FlagValues v;
  for (const cli::Flag& f : train_flags())
    if (args.given(f.name)) v[f.name] = args.list(f.name);
  return train_config_from_values(v);
}

// Checks the ranges and combinations of an already-filled config (train_config_from_args calls it; tests and
// programmatic callers may too). Also re-parses data_split into data_split_parts.
void validate_train_config(TrainConfig& cfg);

// "2,4,4" -> {2, 4, 4}: exactly three comma-separated finite non-negative numbers with a positive first
// (phase 1 is what step 1 trains on). Errors name --data_split.
std::array<double, 3> parse_data_split(const std::string& text);

// Every flag's value as JSON (keys are the flag names), to echo into logs with train_settings_json().
Json train_config_json(const TrainConfig& c);

// The local rank to use: LOCAL_RANK from the environment when set (launchers set it; it wins, as in
// DeepSpeed-Chat), else --local_rank (-1 = not launched by a launcher). A malformed LOCAL_RANK is an error.
int64_t effective_local_rank(const TrainConfig& c);

// "fp16" / "bf16" as the flag spells them (f32 -> "fp32").
const char* train_dtype_flag_name(DType t);

}  // namespace zt::train
