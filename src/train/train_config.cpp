// `zerotune train` flags: the declaration list (names, defaults, help, choices) and the conversion of given
// values into a validated TrainConfig, with errors that name the flag.
#include "train/train_config.hpp"

#include <cmath>
#include <cstdlib>

#include "core/error.hpp"

namespace zt::train {

using cli::Flag;
using cli::FlagKind;

namespace {
Flag F(std::string name, FlagKind kind, std::string dflt, std::string help, std::vector<std::string> choices = {}) {
  Flag f;
  f.name = std::move(name);
  f.kind = kind;
  f.default_value = std::move(dflt);
  f.help = std::move(help);
  f.required = false;
  f.choices = std::move(choices);
  return f;
}
}  // namespace

std::vector<Flag> train_flags() {
  const std::string x = "[zerotune extra] ";
  std::vector<Flag> flags = {
      F("data_path", FlagKind::list, "Dahoas/rm-static",
        "datasets: DeepSpeed-Chat names resolved to local directories, directories laid out like "
        "huggingface-cli downloads, or .jsonl/.json/.parquet files"),
      F("data_split", FlagKind::string, "2,4,4", "comma-separated proportions of phases 1,2,3; step 1 trains on phase 1"),
      F("sft_only_data_path", FlagKind::list, "", "datasets used whole in phase 1 (split 10,0,0)"),
      F("data_output_path", FlagKind::string, "/tmp/data_files/",
        "node-local cache of split indices and tokenised data (must not be shared storage)"),
      F("model_name_or_path", FlagKind::string, "", "a local Hugging Face model directory"),
      F("per_device_train_batch_size", FlagKind::integer, "16", "training micro-batch size per rank"),
      F("per_device_eval_batch_size", FlagKind::integer, "16", "evaluation micro-batch size per rank"),
      F("max_seq_len", FlagKind::integer, "512", "samples are truncated (and padded) to this many tokens"),
      F("learning_rate", FlagKind::number, "1e-3", "learning rate of the non-LoRA parameter groups"),
      F("weight_decay", FlagKind::number, "0.0", "AdamW weight decay (not applied to biases and norm weights)"),
      F("num_train_epochs", FlagKind::integer, "1", "training epochs (0: evaluate only)"),
      F("gradient_accumulation_steps", FlagKind::integer, "1", "micro-steps per optimizer step"),
      F("lr_scheduler_type", FlagKind::string, "cosine", "learning-rate schedule (Hugging Face formulas)",
        {"linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup"}),
      F("num_warmup_steps", FlagKind::integer, "0", "warm-up length in optimizer steps"),
      F("output_dir", FlagKind::string, "", "where the trained model is written (Hugging Face format); nothing saved when absent"),
      F("seed", FlagKind::integer, "1234", "seed of the data split/shuffle and of LoRA initialisation"),
      F("local_rank", FlagKind::integer, "-1", "accepted for compatibility with deepspeed launchers; LOCAL_RANK from the environment wins"),
      F("gradient_checkpointing", FlagKind::boolean, "", "recompute each decoder block's activations in backward"),
      F("dropout", FlagKind::number, "", "overrides the model config's dropout fields that exist"),
      F("offload", FlagKind::boolean, "", "keep optimizer state (and ZeRO-3 parameters) in host memory"),
      F("dtype", FlagKind::string, "fp16", "training compute dtype", {"fp16", "bf16"}),
      F("zero_stage", FlagKind::integer, "0", "ZeRO stage 0..3"),
      F("lora_dim", FlagKind::integer, "0", "LoRA rank; > 0 enables LoRA"),
      F("lora_module_name", FlagKind::string, "decoder.layers.",
        "LoRA goes on linears whose Hugging Face module name contains this (Llama: model.layers.)"),
      F("only_optimize_lora", FlagKind::boolean, "", "train only the LoRA matrices"),
      F("lora_learning_rate", FlagKind::number, "5e-4", "learning rate of the LoRA parameter group"),
      F("compute_fp32_loss", FlagKind::boolean, "", "compute the loss from fp32 logits"),
      F("enable_tensorboard", FlagKind::boolean, "", "write TensorBoard event files"),
      F("tensorboard_path", FlagKind::string, "step1_tensorboard",
        "TensorBoard directory (events go to <path>/ds_tensorboard_logs/step1_model_tensorboard)"),
      F("add_eot_token", FlagKind::boolean, "", "add --eot_token to the vocabulary as a special token"),
      F("eot_token", FlagKind::string, "<|endoftext|>", "the end-of-text token added by --add_eot_token"),
      F("print_loss", FlagKind::boolean, "", "every rank prints its loss each micro-step"),
      F("deepspeed", FlagKind::boolean, "", "accepted for compatibility; no effect"),
      F("deepspeed_config", FlagKind::string, "",
        "a DeepSpeed ds_config.json; flags fill its \"auto\" values; without it DeepSpeed-Chat's step-1 config is used"),
      F("assistant_only_loss", FlagKind::boolean, "", x + "train on the response only: prompt tokens get label -100"),
      F("metrics_file", FlagKind::string, "", x + "append per-step metrics as JSON lines to this file"),
      F("save_steps", FlagKind::integer, "0",
        x + "write a resumable checkpoint to <output_dir>/checkpoints/step_<N>/ every N optimizer steps (0: none)"),
      F("save_each_epoch", FlagKind::boolean, "", x + "write a resumable checkpoint at the end of each epoch"),
      F("save_total_limit", FlagKind::integer, "0", x + "keep only the newest N complete checkpoints (0: keep all)"),
      F("resume", FlagKind::string, "",
        x + "continue a saved run: 'auto' (the latest complete checkpoint under --output_dir; none: start fresh) or a "
            "checkpoint directory; any number of ranks and ZeRO stage"),
  };
  for (Flag& f : flags)
    if (f.name == "model_name_or_path") f.required = true;
  return flags;
}

namespace {

std::string flag(const std::string& name) { return "--" + name; }

const std::string& single(const FlagValues& v, const std::string& name) {
  const auto& vals = v.at(name);
  check(!vals.empty(), flag(name) + " needs a value");
  return vals.back();
}

int64_t to_int(const std::string& name, const std::string& s) {
  try {
    size_t pos = 0;
    long long x = std::stoll(s, &pos);
    if (pos == s.size()) return x;
  } catch (...) {
  }
  fail(flag(name) + " must be an integer, got '" + s + "'");
}

double to_number(const std::string& name, const std::string& s) {
  try {
    size_t pos = 0;
    double x = std::stod(s, &pos);
    if (pos == s.size() && std::isfinite(x)) return x;
  } catch (...) {
  }
  fail(flag(name) + " must be a finite number, got '" + s + "'");
}

bool to_bool(const std::string& name, const std::string& s) {
  if (s == "1" || s == "true") return true;
  if (s == "0" || s == "false") return false;
  fail(flag(name) + " is a switch; got '" + s + "'");
}

DType to_dtype(const std::string& s) {
  if (s == "fp16") return DType::f16;
  if (s == "bf16") return DType::bf16;
  fail("--dtype must be fp16 or bf16, got '" + s + "'", "DeepSpeed-Chat's choices are fp16 (default) and bf16");
}

std::string num_str(double d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", d);
  return buf;
}

}  // namespace

const char* train_dtype_flag_name(DType t) {
  switch (t) {
    case DType::f16: return "fp16";
    case DType::bf16: return "bf16";
    case DType::f32: return "fp32";
    default: return dtype_name(t);
  }
}

int64_t effective_local_rank(const TrainConfig& c) {
  const char* env = std::getenv("LOCAL_RANK");
  if (!env || !*env) return c.local_rank;
  std::string v = env;
  try {
    size_t pos = 0;
    long long x = std::stoll(v, &pos);
    if (pos == v.size() && x >= 0) return x;
  } catch (...) {
  }
  fail("LOCAL_RANK='" + v + "' in the environment is not a non-negative integer",
       "launchers set LOCAL_RANK; unset it when starting a single process by hand");
}

std::array<double, 3> parse_data_split(const std::string& text) {
  const std::string hint = "give three comma-separated non-negative proportions for phases 1,2,3, e.g. --data_split 2,4,4 "
                           "(step 1 trains on phase 1, so it must be positive; 10,0,0 uses everything)";
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    parts.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  check(parts.size() == 3, "--data_split must be three comma-separated numbers, got '" + text + "'", hint);
  std::array<double, 3> out{};
  for (int i = 0; i < 3; ++i) {
    const std::string& p = parts[i];
    double x = 0;
    bool ok = false;
    try {
      size_t pos = 0;
      x = std::stod(p, &pos);
      ok = pos == p.size() && !p.empty() && std::isfinite(x);
    } catch (...) {
    }
    check(ok, "--data_split part " + std::to_string(i + 1) + " '" + p + "' of '" + text + "' is not a number", hint);
    check(x >= 0, "--data_split part " + std::to_string(i + 1) + " of '" + text + "' is negative", hint);
    out[i] = x;
  }
  check(out[0] > 0, "--data_split '" + text + "' gives phase 1 nothing, and step 1 trains on phase 1", hint);
  return out;
}

TrainConfig train_config_from_values(const FlagValues& values) {
  std::set<std::string> known;
  for (const Flag& f : train_flags()) known.insert(f.name);
  TrainConfig c;
  for (const auto& [name, vals] : values) {
    check(known.count(name) > 0, "internal: --" + name + " is not a zerotune train flag");
    c.given.insert(name);
  }
  auto has = [&](const char* n) { return values.count(n) > 0; };
  auto str = [&](const char* n, std::string& dst) { if (has(n)) dst = single(values, n); };
  auto opt_str = [&](const char* n, std::optional<std::string>& dst) { if (has(n)) dst = single(values, n); };
  auto i64 = [&](const char* n, int64_t& dst) { if (has(n)) dst = to_int(n, single(values, n)); };
  auto num = [&](const char* n, double& dst) { if (has(n)) dst = to_number(n, single(values, n)); };
  auto sw = [&](const char* n, bool& dst) { if (has(n)) dst = to_bool(n, single(values, n)); };

  if (has("data_path")) c.data_path = values.at("data_path");
  str("data_split", c.data_split);
  if (has("sft_only_data_path")) c.sft_only_data_path = values.at("sft_only_data_path");
  str("data_output_path", c.data_output_path);
  str("model_name_or_path", c.model_name_or_path);
  i64("per_device_train_batch_size", c.per_device_train_batch_size);
  i64("per_device_eval_batch_size", c.per_device_eval_batch_size);
  i64("max_seq_len", c.max_seq_len);
  num("learning_rate", c.learning_rate);
  num("weight_decay", c.weight_decay);
  i64("num_train_epochs", c.num_train_epochs);
  i64("gradient_accumulation_steps", c.gradient_accumulation_steps);
  if (has("lr_scheduler_type")) c.lr_scheduler_type = parse_lr_schedule_type(single(values, "lr_scheduler_type"));
  i64("num_warmup_steps", c.num_warmup_steps);
  opt_str("output_dir", c.output_dir);
  i64("seed", c.seed);
  i64("local_rank", c.local_rank);
  sw("gradient_checkpointing", c.gradient_checkpointing);
  if (has("dropout")) c.dropout = to_number("dropout", single(values, "dropout"));
  sw("offload", c.offload);
  if (has("dtype")) c.dtype = to_dtype(single(values, "dtype"));
  i64("zero_stage", c.zero_stage);
  i64("lora_dim", c.lora_dim);
  str("lora_module_name", c.lora_module_name);
  sw("only_optimize_lora", c.only_optimize_lora);
  num("lora_learning_rate", c.lora_learning_rate);
  sw("compute_fp32_loss", c.compute_fp32_loss);
  sw("enable_tensorboard", c.enable_tensorboard);
  str("tensorboard_path", c.tensorboard_path);
  sw("add_eot_token", c.add_eot_token);
  str("eot_token", c.eot_token);
  sw("print_loss", c.print_loss);
  sw("deepspeed", c.deepspeed);
  opt_str("deepspeed_config", c.deepspeed_config);
  sw("assistant_only_loss", c.assistant_only_loss);
  opt_str("metrics_file", c.metrics_file);
  i64("save_steps", c.save_steps);
  sw("save_each_epoch", c.save_each_epoch);
  i64("save_total_limit", c.save_total_limit);
  opt_str("resume", c.resume);
  validate_train_config(c);
  return c;
}

void validate_train_config(TrainConfig& c) {
  check(!c.data_path.empty(), "--data_path needs at least one dataset", "e.g. --data_path Dahoas/rm-static");
  for (auto& p : c.data_path) check(!p.empty(), "--data_path has an empty entry");
  for (auto& p : c.sft_only_data_path) check(!p.empty(), "--sft_only_data_path has an empty entry");
  c.data_split_parts = parse_data_split(c.data_split);
  check(!c.data_output_path.empty(), "--data_output_path must not be empty", "give a node-local directory, e.g. /tmp/data_files/");
  check(!c.model_name_or_path.empty(), "--model_name_or_path is required", "give a local Hugging Face model directory");
  auto positive = [](int64_t v, const char* name) {
    check(v > 0, std::string("--") + name + " must be > 0, got " + std::to_string(v));
  };
  auto non_negative = [](int64_t v, const char* name) {
    check(v >= 0, std::string("--") + name + " must be >= 0, got " + std::to_string(v));
  };
  positive(c.per_device_train_batch_size, "per_device_train_batch_size");
  positive(c.per_device_eval_batch_size, "per_device_eval_batch_size");
  check(c.max_seq_len >= 2, "--max_seq_len must be >= 2, got " + std::to_string(c.max_seq_len),
        "a sample needs at least two tokens to have a next-token target");
  check(std::isfinite(c.learning_rate) && c.learning_rate >= 0, "--learning_rate must be >= 0, got " + num_str(c.learning_rate));
  check(std::isfinite(c.weight_decay) && c.weight_decay >= 0, "--weight_decay must be >= 0, got " + num_str(c.weight_decay));
  non_negative(c.num_train_epochs, "num_train_epochs");
  positive(c.gradient_accumulation_steps, "gradient_accumulation_steps");
  non_negative(c.num_warmup_steps, "num_warmup_steps");
  check(c.seed >= 0 && c.seed <= int64_t(0xffffffffLL), "--seed must be in 0..4294967295, got " + std::to_string(c.seed),
        "DeepSpeed-Chat seeds NumPy's RandomState, which takes a 32-bit unsigned seed");
  check(c.local_rank >= -1, "--local_rank must be >= -1, got " + std::to_string(c.local_rank),
        "launchers set it; leave it out when starting by hand (LOCAL_RANK from the environment wins anyway)");
  if (c.dropout)
    check(std::isfinite(*c.dropout) && *c.dropout >= 0 && *c.dropout < 1,
          "--dropout must be in [0, 1), got " + num_str(*c.dropout));
  check(c.dtype == DType::f16 || c.dtype == DType::bf16, "--dtype must be fp16 or bf16");
  check(c.zero_stage >= 0 && c.zero_stage <= 3, "--zero_stage must be 0, 1, 2 or 3, got " + std::to_string(c.zero_stage));
  non_negative(c.lora_dim, "lora_dim");
  if (c.lora_dim > 0) check(!c.lora_module_name.empty(), "--lora_module_name must not be empty when --lora_dim > 0");
  check(!c.only_optimize_lora || c.lora_dim > 0, "--only_optimize_lora needs --lora_dim > 0",
        "with no LoRA matrices nothing would be trained; add e.g. --lora_dim 128 --lora_module_name model.layers.");
  check(std::isfinite(c.lora_learning_rate) && c.lora_learning_rate >= 0,
        "--lora_learning_rate must be >= 0, got " + num_str(c.lora_learning_rate));
  if (c.enable_tensorboard) check(!c.tensorboard_path.empty(), "--tensorboard_path must not be empty with --enable_tensorboard");
  if (c.add_eot_token) check(!c.eot_token.empty(), "--eot_token must not be empty with --add_eot_token");
  if (c.output_dir) check(!c.output_dir->empty(), "--output_dir must not be empty", "leave the flag out to save nothing");
  if (c.deepspeed_config) check(!c.deepspeed_config->empty(), "--deepspeed_config must not be empty");
  if (c.metrics_file) check(!c.metrics_file->empty(), "--metrics_file must not be empty");
  non_negative(c.save_steps, "save_steps");
  non_negative(c.save_total_limit, "save_total_limit");
  const bool saves = c.save_steps > 0 || c.save_each_epoch;
  check(!saves || c.output_dir, std::string("--") + (c.save_steps > 0 ? "save_steps" : "save_each_epoch") + " needs --output_dir",
        "checkpoints go to <output_dir>/checkpoints/step_<N>/");
  if (c.resume) {
    check(!c.resume->empty(), "--resume must not be empty", "--resume auto, or a checkpoint directory");
    check(*c.resume != "auto" || c.output_dir, "--resume auto needs --output_dir",
          "auto picks the latest complete checkpoint under <output_dir>/checkpoints; or give the checkpoint directory");
  }
}

Json train_config_json(const TrainConfig& c) {
  Json j;
  j["data_path"] = c.data_path;
  j["data_split"] = c.data_split;
  j["sft_only_data_path"] = c.sft_only_data_path;
  j["data_output_path"] = c.data_output_path;
  j["model_name_or_path"] = c.model_name_or_path;
  j["per_device_train_batch_size"] = c.per_device_train_batch_size;
  j["per_device_eval_batch_size"] = c.per_device_eval_batch_size;
  j["max_seq_len"] = c.max_seq_len;
  j["learning_rate"] = c.learning_rate;
  j["weight_decay"] = c.weight_decay;
  j["num_train_epochs"] = c.num_train_epochs;
  j["gradient_accumulation_steps"] = c.gradient_accumulation_steps;
  j["lr_scheduler_type"] = lr_schedule_name(c.lr_scheduler_type);
  j["num_warmup_steps"] = c.num_warmup_steps;
  j["output_dir"] = c.output_dir ? Json(*c.output_dir) : Json(nullptr);
  j["seed"] = c.seed;
  j["local_rank"] = c.local_rank;
  j["gradient_checkpointing"] = c.gradient_checkpointing;
  j["dropout"] = c.dropout ? Json(*c.dropout) : Json(nullptr);
  j["offload"] = c.offload;
  j["dtype"] = train_dtype_flag_name(c.dtype);
  j["zero_stage"] = c.zero_stage;
  j["lora_dim"] = c.lora_dim;
  j["lora_module_name"] = c.lora_module_name;
  j["only_optimize_lora"] = c.only_optimize_lora;
  j["lora_learning_rate"] = c.lora_learning_rate;
  j["compute_fp32_loss"] = c.compute_fp32_loss;
  j["enable_tensorboard"] = c.enable_tensorboard;
  j["tensorboard_path"] = c.tensorboard_path;
  j["add_eot_token"] = c.add_eot_token;
  j["eot_token"] = c.eot_token;
  j["print_loss"] = c.print_loss;
  j["deepspeed"] = c.deepspeed;
  j["deepspeed_config"] = c.deepspeed_config ? Json(*c.deepspeed_config) : Json(nullptr);
  j["assistant_only_loss"] = c.assistant_only_loss;
  j["metrics_file"] = c.metrics_file ? Json(*c.metrics_file) : Json(nullptr);
  j["save_steps"] = c.save_steps;
  j["save_each_epoch"] = c.save_each_epoch;
  j["save_total_limit"] = c.save_total_limit;
  j["resume"] = c.resume ? Json(*c.resume) : Json(nullptr);
  return j;
}

}  // namespace zt::train
