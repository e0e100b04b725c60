// The effective training settings: flags + ds_config + world size merged with the written precedence
// (train_settings.hpp), DeepSpeed's batch-size rule, and their JSON echo for logs.
#include "train/train_settings.hpp"

#include <cstdio>

#include "core/error.hpp"

namespace zt::train {

namespace {

std::string num_str(double d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", d);
  return buf;
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}


std::string show(double d) { return num_str(d); }
std::string show(int64_t v) { return std::to_string(v); }
std::string show(bool b) { return b ? "true" : "false"; }
std::string show(const std::string& s) { return "\"" + s + "\""; }

[[noreturn]] void contradiction(const std::string& flag_text, const std::string& source, const std::string& key,
                                const std::string& value) {
  fail(flag_text + " contradicts " + source + ": " + key + " = " + value,
       "drop the flag or the key, or make them agree (explicit flags fill only what the ds_config leaves out or sets to \"auto\")");
}

// A value both a flag and the ds_config carry: explicit file value (checked against an explicit flag), else the flag.
template <class T>
T pick(const TrainConfig& c, const char* flag_name, const T& flag_value, const DsValue<T>& ds, const std::string& source,
       const std::string& key) {
  if (!ds.value) return flag_value;
  if (c.was_given(flag_name) && !(*ds.value == flag_value))
    contradiction("--" + std::string(flag_name) + " " + show(flag_value), source, key, show(*ds.value));
  return *ds.value;
}

std::string trim_slashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::string join_path(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  return a.back() == '/' ? a + b : a + "/" + b;
}

void resolve_batch(const TrainConfig& c, const DsConfig& ds, int64_t world, TrainSettings& s) {
  const std::string& src = ds.source;
  std::optional<int64_t> micro, gas, total;
  std::string micro_from, gas_from, total_from;
  if (ds.train_micro_batch_size_per_gpu.value) {
    micro = pick(c, "per_device_train_batch_size", c.per_device_train_batch_size, ds.train_micro_batch_size_per_gpu, src,
                 "train_micro_batch_size_per_gpu");
    micro_from = src + ": train_micro_batch_size_per_gpu";
  } else if (ds.train_micro_batch_size_per_gpu.is_auto || c.was_given("per_device_train_batch_size")) {
    micro = c.per_device_train_batch_size;
    micro_from = "--per_device_train_batch_size";
  }
  if (ds.gradient_accumulation_steps.value) {
    gas = pick(c, "gradient_accumulation_steps", c.gradient_accumulation_steps, ds.gradient_accumulation_steps, src,
               "gradient_accumulation_steps");
    gas_from = src + ": gradient_accumulation_steps";
  } else if (ds.gradient_accumulation_steps.is_auto || c.was_given("gradient_accumulation_steps")) {
    gas = c.gradient_accumulation_steps;
    gas_from = "--gradient_accumulation_steps";
  }
  if (ds.train_batch_size.value) {
    total = *ds.train_batch_size.value;
    total_from = src + ": train_batch_size";
  }
  if (!total && !micro) {
    micro = c.per_device_train_batch_size;  // the flag's default
    micro_from = "--per_device_train_batch_size (default)";
  }
  // DeepSpeed's _set_batch_related_parameters: any two determine the third; one alone means GAS 1.
  if (total && micro && !gas) {
    gas = *total / *micro / world;
    gas_from = "derived";
  } else if (total && gas && !micro) {
    micro = *total / world / *gas;
    micro_from = "derived";
  } else if (micro && gas && !total) {
    total = *micro * *gas * world;
    total_from = "derived";
  } else if (total && !micro && !gas) {
    gas = 1;
    micro = *total / world;
    gas_from = micro_from = "derived";
  } else if (micro && !total && !gas) {
    gas = 1;
    total = *micro * world;
    gas_from = total_from = "derived";
  }
  std::string detail = "train_batch_size " + std::to_string(*total) + " (" + total_from + "), micro-batch " +
                       std::to_string(*micro) + " (" + micro_from + "), gradient_accumulation_steps " + std::to_string(*gas) +
                       " (" + gas_from + "), world size " + std::to_string(world);
  check(*micro > 0 && *gas > 0, src + ": the batch sizes do not divide: " + detail,
        "train_batch_size must be train_micro_batch_size_per_gpu x gradient_accumulation_steps x world size");
  check(*total == *micro * *gas * world,
        src + ": train_batch_size " + std::to_string(*total) + " != micro-batch " + std::to_string(*micro) +
            " x gradient_accumulation_steps " + std::to_string(*gas) + " x world size " + std::to_string(world) + " = " +
            std::to_string(*micro * *gas * world) + " [" + detail + "]",
        "fix one of the three (or set it to \"auto\")");
  s.micro_batch_size = *micro;
  s.gradient_accumulation_steps = *gas;
  s.train_batch_size = *total;
}

// fp16/bf16/fp32: a section enabled true decides; otherwise --dtype, unless the file explicitly disables the
// flag's dtype (then fp32 if the flag was left at its default, a contradiction if it was given).
void resolve_dtype(const TrainConfig& c, const DsConfig& ds, TrainSettings& s) {
  std::optional<bool> fp16 = ds.fp16 ? ds.fp16->enabled.value : std::nullopt;
  std::optional<bool> bf16 = ds.bf16_enabled ? ds.bf16_enabled->value : std::nullopt;
  std::string flag_text = std::string("--dtype ") + train_dtype_flag_name(c.dtype);
  if (fp16.value_or(false) || bf16.value_or(false)) {
    DType d = fp16.value_or(false) ? DType::f16 : DType::bf16;
    if (c.was_given("dtype") && d != c.dtype)
      contradiction(flag_text, ds.source, d == DType::f16 ? "fp16.enabled" : "bf16.enabled", "true");
    s.dtype = d;
  } else {
    std::optional<bool> own = c.dtype == DType::f16 ? fp16 : bf16;
    if (own && !*own) {
      if (c.was_given("dtype")) contradiction(flag_text, ds.source, c.dtype == DType::f16 ? "fp16.enabled" : "bf16.enabled", "false");
      s.dtype = DType::f32;
    } else {
      s.dtype = c.dtype;
    }
  }
  if (s.dtype != DType::f16) return;
  if (ds.fp16) {
    s.loss_scaler = ds.fp16->loss_scaler();
  } else {  // fp16 from the flag: DeepSpeed-Chat's section {enabled: true, loss_scale_window: 100}
    DsFp16 f;
    f.loss_scale_window = 100;
    s.loss_scaler = f.loss_scaler();
  }
}

void resolve_zero(const TrainConfig& c, const DsConfig& ds, int64_t hidden, TrainSettings& s) {
  ZeroSettings& z = s.zero;
  const DsZero none;
  const DsZero& d = ds.zero_optimization ? *ds.zero_optimization : none;
  DsValue<int64_t> stage;
  stage.value = d.stage;
  z.stage = pick(c, "zero_stage", c.zero_stage, stage, ds.source, "zero_optimization.stage");
  auto device = [&](const std::optional<DsOffload>& o, const char* key) {
    std::string flag_dev = c.offload ? "cpu" : "none";
    if (!o || !o->device) return flag_dev;
    if (c.was_given("offload") && (*o->device != "none") != c.offload)
      contradiction(c.offload ? "--offload" : "--offload=false", ds.source, std::string("zero_optimization.") + key + ".device",
                    show(*o->device));
    return *o->device;
  };
  z.offload_optimizer_device = device(d.offload_optimizer, "offload_optimizer");
  z.offload_param_device = device(d.offload_param, "offload_param");
  z.offload_pin_memory = (d.offload_optimizer && d.offload_optimizer->pin_memory.value_or(false)) ||
                         (d.offload_param && d.offload_param->pin_memory.value_or(false));
  z.overlap_comm = d.overlap_comm.value_or(z.stage == 3);
  z.contiguous_gradients = d.contiguous_gradients.value_or(true);
  z.reduce_scatter = d.reduce_scatter.value_or(true);
  z.allgather_partitions = d.allgather_partitions.value_or(true);
  z.allgather_bucket_size = d.allgather_bucket_size.value_or(z.allgather_bucket_size);
  // "auto" bucket sizes as the HF integration fills them from the model's hidden size.
  auto sized = [&](const DsValue<int64_t>& v, int64_t dflt, int64_t from_hidden) {
    if (v.value) return *v.value;
    if (v.is_auto && hidden > 0) return from_hidden;
    return dflt;
  };
  z.reduce_bucket_size = sized(d.reduce_bucket_size, z.reduce_bucket_size, hidden * hidden);
  z.stage3_prefetch_bucket_size = sized(d.stage3_prefetch_bucket_size, z.stage3_prefetch_bucket_size,
                                        int64_t(0.9 * double(hidden) * double(hidden)));
  z.stage3_param_persistence_threshold =
      sized(d.stage3_param_persistence_threshold, z.stage3_param_persistence_threshold, 10 * hidden);
  z.stage3_max_live_parameters = d.stage3_max_live_parameters.value_or(z.stage3_max_live_parameters);
  z.stage3_max_reuse_distance = d.stage3_max_reuse_distance.value_or(z.stage3_max_reuse_distance);
  z.sub_group_size = d.sub_group_size.value_or(z.sub_group_size);
  z.stage3_gather_16bit_weights_on_model_save = d.stage3_gather_16bit_weights_on_model_save.value_or(false);
}

void resolve_optimizer(const TrainConfig& c, const DsConfig& ds, TrainSettings& s) {
  OptimizerSettings& o = s.optimizer;
  o.lora_learning_rate = c.lora_learning_rate;
  if (!ds.optimizer) {
    o.learning_rate = c.learning_rate;
    o.weight_decay = c.weight_decay;
    return;
  }
  const DsOptimizer& d = *ds.optimizer;
  o.from_ds_config = true;
  o.type = d.type;
  o.decoupled_weight_decay = lower(d.type) == "adamw" || d.adam_w_mode.value_or(true);
  o.learning_rate = pick(c, "learning_rate", c.learning_rate, d.lr, ds.source, "optimizer.params.lr");
  o.weight_decay = pick(c, "weight_decay", c.weight_decay, d.weight_decay, ds.source, "optimizer.params.weight_decay");
  if (d.betas.value) {
    o.beta1 = (*d.betas.value)[0];
    o.beta2 = (*d.betas.value)[1];
  } else if (!d.betas.is_auto) {  // DeepSpeed builds its Adam with the library default betas
    o.beta1 = 0.9;
    o.beta2 = 0.999;
  }
  o.eps = d.eps.value.value_or(1e-8);
  o.bias_correction = d.bias_correction.value_or(true);
}

void resolve_schedule(const TrainConfig& c, const DsConfig& ds, TrainSettings& s) {
  ScheduleSettings& sch = s.schedule;
  sch.lr_scheduler_type = c.lr_scheduler_type;
  sch.num_warmup_steps = c.num_warmup_steps;
  if (!ds.scheduler) return;
  if (c.was_given("lr_scheduler_type"))
    contradiction(std::string("--lr_scheduler_type ") + lr_schedule_name(c.lr_scheduler_type), ds.source, "scheduler.type",
                  show(std::string(ds_scheduler_name(ds.scheduler->type))));
  DsScheduler d = *ds.scheduler;
  auto fill_int = [&](DsValue<int64_t>& v, const char* flag_name, int64_t flag_value, int64_t dflt, const char* key) {
    if (v.value) v.value = pick(c, flag_name, flag_value, v, ds.source, key);
    else v.value = (v.is_auto || c.was_given(flag_name)) ? flag_value : dflt;
    v.is_auto = false;
  };
  auto fill_num = [&](DsValue<double>& v, const char* flag_name, double flag_value, double dflt, const char* key) {
    if (v.value) v.value = flag_name ? pick(c, flag_name, flag_value, v, ds.source, key) : *v.value;
    else v.value = (v.is_auto || (flag_name && c.was_given(flag_name))) ? flag_value : dflt;
    v.is_auto = false;
  };
  fill_int(d.warmup_num_steps, "num_warmup_steps", c.num_warmup_steps, 1000, "scheduler.params.warmup_num_steps");
  if (d.type != DsSchedulerType::warmup_cosine_lr) {
    fill_num(d.warmup_min_lr, nullptr, 0.0, 0.0, "scheduler.params.warmup_min_lr");
    fill_num(d.warmup_max_lr, "learning_rate", s.optimizer.learning_rate, 0.001, "scheduler.params.warmup_max_lr");
  }
  if (d.type != DsSchedulerType::warmup_lr && !d.total_num_steps.value) {
    d.total_num_steps.value = -1;  // "auto": the trainer's num_training_steps
    d.total_num_steps.is_auto = false;
  }
  if (!d.warmup_type) d.warmup_type = "log";
  if (d.type == DsSchedulerType::warmup_cosine_lr) {
    if (!d.warmup_min_ratio) d.warmup_min_ratio = 0.0;
    if (!d.cos_min_ratio) d.cos_min_ratio = 0.0001;
  }
  sch.num_warmup_steps = *d.warmup_num_steps.value;
  sch.ds_scheduler = d;
}

void resolve_monitors(const TrainConfig& c, const DsConfig& ds, TrainSettings& s) {
  const DsMonitor none;
  const DsMonitor& tb = ds.tensorboard ? *ds.tensorboard : none;
  DsValue<bool> en;
  en.value = tb.enabled;
  s.tensorboard_enabled = pick(c, "enable_tensorboard", c.enable_tensorboard, en, ds.source, "tensorboard.enabled");
  std::string flag_dir = c.tensorboard_path + "/ds_tensorboard_logs/";
  std::string out = flag_dir;
  if (tb.output_path && !tb.output_path->empty()) {
    std::string p = trim_slashes(*tb.output_path);
    if (c.was_given("tensorboard_path") && p != trim_slashes(c.tensorboard_path) && p != trim_slashes(flag_dir))
      contradiction("--tensorboard_path " + c.tensorboard_path, ds.source, "tensorboard.output_path", show(*tb.output_path));
    out = *tb.output_path;
  }
  // DeepSpeed's monitor writes to output_path/job_name; its default job name is DeepSpeedJobName.
  s.tensorboard_dir = join_path(out, tb.job_name.value_or(ds.tensorboard ? "DeepSpeedJobName" : "step1_model_tensorboard"));
  if (ds.csv_monitor) {
    s.csv_monitor_enabled = ds.csv_monitor->enabled.value_or(false);
    std::string p = ds.csv_monitor->output_path.value_or("");
    s.csv_monitor_dir = join_path(p.empty() ? "csv_monitor" : p, ds.csv_monitor->job_name.value_or("DeepSpeedJobName"));
  }
}

}  // namespace

TrainSettings resolve_train_settings(const TrainConfig& c, const DsConfig* ds_in, int64_t world_size, int64_t hidden_size) {
  check(world_size >= 1, "internal: world size must be >= 1, got " + std::to_string(world_size));
  DsConfig generated;
  if (!ds_in) generated = parse_ds_config(dschat_step1_ds_config(c, world_size), "DeepSpeed-Chat step-1 config");
  const DsConfig& ds = ds_in ? *ds_in : generated;
  TrainSettings s;
  s.ds_config_source = ds.source;
  s.world_size = world_size;
  s.warnings = ds.warnings;
  resolve_batch(c, ds, world_size, s);
  resolve_dtype(c, ds, s);
  s.gradient_clipping = ds.gradient_clipping.value ? *ds.gradient_clipping.value : ds.gradient_clipping.is_auto ? 1.0 : 0.0;
  s.steps_per_print = ds.steps_per_print.value_or(10);
  s.wall_clock_breakdown = ds.wall_clock_breakdown.value_or(false);
  s.gradient_checkpointing = c.gradient_checkpointing;
  resolve_zero(c, ds, hidden_size, s);
  resolve_optimizer(c, ds, s);
  resolve_schedule(c, ds, s);
  resolve_monitors(c, ds, s);
  return s;
}

TrainSettings resolve_train_settings(const TrainConfig& c, int64_t world_size, int64_t hidden_size) {
  if (!c.deepspeed_config) return resolve_train_settings(c, nullptr, world_size, hidden_size);
  DsConfig ds = load_ds_config(*c.deepspeed_config);
  return resolve_train_settings(c, &ds, world_size, hidden_size);
}

Json train_settings_json(const TrainSettings& s) {
  Json j;
  j["ds_config"] = s.ds_config_source;
  j["world_size"] = s.world_size;
  j["train_micro_batch_size_per_gpu"] = s.micro_batch_size;
  j["gradient_accumulation_steps"] = s.gradient_accumulation_steps;
  j["train_batch_size"] = s.train_batch_size;
  j["dtype"] = train_dtype_flag_name(s.dtype);
  if (s.dtype == DType::f16) {
    const LossScalerConfig& l = s.loss_scaler;
    j["fp16_loss_scaler"] = l.loss_scale > 0 ? Json{{"static_loss_scale", l.loss_scale}}
                                             : Json{{"initial_scale", l.initial_scale},
                                                    {"loss_scale_window", l.scale_window},
                                                    {"hysteresis", l.hysteresis},
                                                    {"consecutive_hysteresis", l.consecutive_hysteresis},
                                                    {"min_loss_scale", l.min_scale}};
  }
  j["gradient_clipping"] = s.gradient_clipping;
  j["steps_per_print"] = s.steps_per_print;
  j["wall_clock_breakdown"] = s.wall_clock_breakdown;
  j["gradient_checkpointing"] = s.gradient_checkpointing;
  const ZeroSettings& z = s.zero;
  j["zero_optimization"] = {{"stage", z.stage},
                            {"offload_optimizer", {{"device", z.offload_optimizer_device}}},
                            {"offload_param", {{"device", z.offload_param_device}}},
                            {"pin_memory", z.offload_pin_memory},
                            {"overlap_comm", z.overlap_comm},
                            {"contiguous_gradients", z.contiguous_gradients},
                            {"reduce_scatter", z.reduce_scatter},
                            {"allgather_partitions", z.allgather_partitions},
                            {"allgather_bucket_size", z.allgather_bucket_size},
                            {"reduce_bucket_size", z.reduce_bucket_size},
                            {"stage3_prefetch_bucket_size", z.stage3_prefetch_bucket_size},
                            {"stage3_param_persistence_threshold", z.stage3_param_persistence_threshold},
                            {"stage3_max_live_parameters", z.stage3_max_live_parameters},
                            {"stage3_max_reuse_distance", z.stage3_max_reuse_distance},
                            {"sub_group_size", z.sub_group_size},
                            {"stage3_gather_16bit_weights_on_model_save", z.stage3_gather_16bit_weights_on_model_save}};
  const OptimizerSettings& o = s.optimizer;
  j["optimizer"] = {{"type", o.type},
                    {"from_ds_config", o.from_ds_config},
                    {"decoupled_weight_decay", o.decoupled_weight_decay},
                    {"lr", o.learning_rate},
                    {"lora_lr", o.lora_learning_rate},
                    {"weight_decay", o.weight_decay},
                    {"betas", {o.beta1, o.beta2}},
                    {"eps", o.eps},
                    {"bias_correction", o.bias_correction}};
  Json sch = {{"num_warmup_steps", s.schedule.num_warmup_steps}};
  if (const auto& d = s.schedule.ds_scheduler) {
    sch["type"] = ds_scheduler_name(d->type);
    Json p = {{"warmup_num_steps", *d->warmup_num_steps.value}, {"warmup_type", *d->warmup_type}};
    if (d->warmup_min_lr.value) p["warmup_min_lr"] = *d->warmup_min_lr.value;
    if (d->warmup_max_lr.value) p["warmup_max_lr"] = *d->warmup_max_lr.value;
    if (d->total_num_steps.value) p["total_num_steps"] = *d->total_num_steps.value;
    if (d->warmup_min_ratio) p["warmup_min_ratio"] = *d->warmup_min_ratio;
    if (d->cos_min_ratio) p["cos_min_ratio"] = *d->cos_min_ratio;
    sch["params"] = p;
  } else {
    sch["type"] = lr_schedule_name(s.schedule.lr_scheduler_type);
  }
  j["scheduler"] = sch;
  j["tensorboard"] = {{"enabled", s.tensorboard_enabled}, {"dir", s.tensorboard_dir}};
  if (s.csv_monitor_enabled) j["csv_monitor"] = {{"enabled", true}, {"dir", s.csv_monitor_dir}};
  return j;
}

}  // namespace zt::train
