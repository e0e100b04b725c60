// Reading ds_config.json section by section with typed, path-naming accessors that remember which keys they
// were asked for (everything else is warned about), and DeepSpeed-Chat's step-1 config (the merge: train_settings.cpp).
#include "train/ds_config.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.hpp"
#include "core/strings.hpp"

namespace zt::train {

namespace {


std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A JSON value that turns a DeepSpeed feature on: anything but false, null, {} or {"enabled": false, ...}.
bool truthy(const Json& v) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_object()) {
    if (v.empty()) return false;
    auto e = v.find("enabled");
    if (e != v.end() && e->is_boolean()) return e->get<bool>();
  }
  return true;
}

// One JSON object of the ds_config: typed reads by key, each naming "<source>: <path.key>" in errors; finish()
// warns about the keys nobody asked for.
class Section {
 public:
  Section(const Json& j, std::string path, const std::string& source, std::vector<std::string>& warnings)
      : j_(j), path_(std::move(path)), source_(source), warnings_(warnings) {
    check(j.is_object(), source_ + ": " + (path_.empty() ? std::string("the top level") : path_) +
                             " must be a JSON object, got " + j.dump(),
          "see DeepSpeed's config-json documentation for the section's keys");
  }

  std::string key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  // The value, or nullptr when absent or null (DeepSpeed treats null as "use the default").
  const Json* get(const std::string& key) {
    known_.insert(key);
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  [[noreturn]] void type_error(const std::string& key, const Json& v, const char* expected) const {
    std::string hint = "give " + std::string(expected);
    if (v.is_string() && v.get<std::string>() == "auto") hint += " (\"auto\" is not accepted here: zerotune has nothing to fill it from)";
    fail(source_ + ": " + key_path(key) + " must be " + expected + ", got " + v.dump(), hint);
  }

  std::optional<bool> opt_bool(const std::string& key) {
    const Json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) type_error(key, *v, "true or false");
    return v->get<bool>();
  }
  std::optional<int64_t> opt_int(const std::string& key, const char* expected = "an integer") {
    const Json* v = get(key);
    if (!v) return std::nullopt;
    return to_int(key, *v, expected);
  }
  std::optional<double> opt_number(const std::string& key) {
    const Json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_number()) type_error(key, *v, "a number");
    return v->get<double>();
  }
  std::optional<std::string> opt_string(const std::string& key) {
    const Json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) type_error(key, *v, "a string");
    return v->get<std::string>();
  }
  // Positive / non-negative integers (sizes, counts).
  std::optional<int64_t> opt_count(const std::string& key, int64_t min) {
    auto v = opt_int(key);
    if (v) check(*v >= min, source_ + ": " + key_path(key) + " must be >= " + std::to_string(min) + ", got " + std::to_string(*v));
    return v;
  }

  DsValue<int64_t> auto_int(const std::string& key, int64_t min) {
    DsValue<int64_t> out;
    const Json* v = get(key);
    if (!v) return out;
    if (is_auto(*v)) {
      out.is_auto = true;
      return out;
    }
    out.value = to_int(key, *v, "an integer or \"auto\"");
    check(*out.value >= min, source_ + ": " + key_path(key) + " must be >= " + std::to_string(min) + ", got " +
                                 std::to_string(*out.value));
    return out;
  }
  DsValue<double> auto_number(const std::string& key, double min) {
    DsValue<double> out;
    const Json* v = get(key);
    if (!v) return out;
    if (is_auto(*v)) {
      out.is_auto = true;
      return out;
    }
    if (!v->is_number()) type_error(key, *v, "a number or \"auto\"");
    out.value = v->get<double>();
    check(*out.value >= min, source_ + ": " + key_path(key) + " must be >= " + Json(min).dump() + ", got " + v->dump());
    return out;
  }
  DsValue<bool> auto_bool(const std::string& key) {
    DsValue<bool> out;
    const Json* v = get(key);
    if (!v) return out;
    if (is_auto(*v)) {
      out.is_auto = true;
      return out;
    }
    if (!v->is_boolean()) type_error(key, *v, "true, false or \"auto\"");
    out.value = v->get<bool>();
    return out;
  }
  std::optional<Section> sub(const std::string& key) {
    const Json* v = get(key);
    if (!v) return std::nullopt;
    return Section(*v, key_path(key), source_, warnings_);
  }

  // DeepSpeed keys zerotune does not implement: a note when they would turn something on.
  void unsupported(const std::string& key, const std::string& why = {}) {
    const Json* v = get(key);
    if (v && truthy(*v))
      warnings_.push_back(source_ + ": " + key_path(key) + " is a DeepSpeed feature zerotune does not implement (ignored)" +
                          (why.empty() ? "" : "; " + why));
  }

  // Warns about every key not asked for, with the nearest known key when one is close.
  void finish() {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (known_.count(it.key())) continue;
      std::string msg = source_ + ": unknown key " + key_path(it.key()) + " (ignored)";
      std::string best;
      size_t bd = std::max<size_t>(1, it.key().size() / 4) + 1;  // suggest only close misspellings
      for (auto& k : known_)
        if (size_t d = edit_distance(lower(it.key()), lower(k)); d < bd) bd = d, best = k;
      if (!best.empty()) msg += "; did you mean " + key_path(best) + "?";
      warnings_.push_back(msg);
    }
  }

  const std::string& source() const { return source_; }

 private:
  static bool is_auto(const Json& v) { return v.is_string() && v.get<std::string>() == "auto"; }
  int64_t to_int(const std::string& key, const Json& v, const char* expected) const {
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float()) {
      double d = v.get<double>();  // 1e4 and 3e7 are common spellings
      if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9e15) return int64_t(d);
    }
    type_error(key, v, expected);
  }

  const Json& j_;
  std::string path_;
  const std::string& source_;
  std::vector<std::string>& warnings_;
  std::set<std::string> known_;
};

DsOffload read_offload(Section s) {
  DsOffload o;
  o.device = s.opt_string("device");
  if (o.device)
    check(*o.device == "none" || *o.device == "cpu" || *o.device == "nvme",
          s.source() + ": " + s.key_path("device") + " must be \"none\", \"cpu\" or \"nvme\", got \"" + *o.device + "\"");
  o.pin_memory = s.opt_bool("pin_memory");
  o.nvme_path = s.opt_string("nvme_path");
  for (const char* k : {"buffer_count", "buffer_size", "max_in_cpu"}) (void)s.opt_count(k, 0);
  for (const char* k : {"pipeline_read", "pipeline_write", "fast_init"}) (void)s.opt_bool(k);
  (void)s.opt_number("ratio");
  s.finish();
  return o;
}

DsZero read_zero(Section s) {
  DsZero z;
  z.stage = s.opt_int("stage");
  if (z.stage)
    check(*z.stage >= 0 && *z.stage <= 3, s.source() + ": zero_optimization.stage must be 0, 1, 2 or 3, got " +
                                              std::to_string(*z.stage));
  z.allgather_partitions = s.opt_bool("allgather_partitions");
  z.allgather_bucket_size = s.opt_count("allgather_bucket_size", 1);
  z.reduce_scatter = s.opt_bool("reduce_scatter");
  z.reduce_bucket_size = s.auto_int("reduce_bucket_size", 1);
  z.overlap_comm = s.opt_bool("overlap_comm");
  z.contiguous_gradients = s.opt_bool("contiguous_gradients");
  if (auto o = s.sub("offload_param")) z.offload_param = read_offload(*o);
  if (auto o = s.sub("offload_optimizer")) z.offload_optimizer = read_offload(*o);
  z.stage3_prefetch_bucket_size = s.auto_int("stage3_prefetch_bucket_size", 0);
  z.stage3_param_persistence_threshold = s.auto_int("stage3_param_persistence_threshold", 0);
  z.stage3_max_live_parameters = s.opt_count("stage3_max_live_parameters", 0);
  z.stage3_max_reuse_distance = s.opt_count("stage3_max_reuse_distance", 0);
  z.stage3_gather_16bit_weights_on_model_save = s.opt_bool("stage3_gather_16bit_weights_on_model_save");
  if (auto old = s.opt_bool("stage3_gather_fp16_weights_on_model_save"))  // DeepSpeed's older name
    if (!z.stage3_gather_16bit_weights_on_model_save) z.stage3_gather_16bit_weights_on_model_save = old;
  z.sub_group_size = s.opt_count("sub_group_size", 1);
  for (const char* k : {"round_robin_gradients", "memory_efficient_linear", "elastic_checkpoint", "ignore_unused_parameters",
                        "load_from_fp32_weights", "zero_hpz_partition_size", "zero_quantized_weights",
                        "zero_quantized_nontrainable_weights", "zero_quantized_gradients", "mics_shard_size",
                        "mics_hierarchical_params_gather", "stage3_max_live_params"})
    s.unsupported(k);
  s.unsupported("cpu_offload", "use offload_optimizer {\"device\": \"cpu\"} (or --offload)");
  s.finish();
  return z;
}

DsOptimizer read_optimizer(Section s) {
  DsOptimizer o;
  auto type = s.opt_string("type");
  check(type.has_value(), s.source() + ": optimizer.type is missing", "give \"AdamW\" (or \"Adam\")");
  std::string t = lower(*type);
  check(t == "adam" || t == "adamw",
        s.source() + ": optimizer.type \"" + *type + "\" is not supported; zerotune implements Adam and AdamW",
        "use \"AdamW\", or remove the optimizer section (DeepSpeed-Chat's AdamW with betas (0.9, 0.95) is then used)");
  o.type = *type;
  if (auto p = s.sub("params")) {
    o.lr = p->auto_number("lr", 0);
    o.eps = p->auto_number("eps", 0);
    o.weight_decay = p->auto_number("weight_decay", 0);
    if (const Json* b = p->get("betas")) {
      if (b->is_string() && b->get<std::string>() == "auto") {
        o.betas.is_auto = true;
      } else {
        if (!b->is_array() || b->size() != 2 || !(*b)[0].is_number() || !(*b)[1].is_number())
          p->type_error("betas", *b, "a list of two numbers or \"auto\"");
        std::array<double, 2> v{(*b)[0].get<double>(), (*b)[1].get<double>()};
        check(v[0] >= 0 && v[0] < 1 && v[1] >= 0 && v[1] < 1,
              s.source() + ": optimizer.params.betas must be in [0, 1), got " + b->dump());
        o.betas.value = v;
      }
    }
    o.adam_w_mode = p->opt_bool("adam_w_mode");
    o.bias_correction = p->opt_bool("bias_correction");
    (void)p->opt_bool("torch_adam");
    p->unsupported("amsgrad");
    p->finish();
  }
  s.finish();
  return o;
}

DsScheduler read_scheduler(Section s) {
  DsScheduler d;
  auto type = s.opt_string("type");
  check(type.has_value(), s.source() + ": scheduler.type is missing", "give WarmupLR, WarmupDecayLR or WarmupCosineLR");
  if (*type == "WarmupLR") d.type = DsSchedulerType::warmup_lr;
  else if (*type == "WarmupDecayLR") d.type = DsSchedulerType::warmup_decay_lr;
  else if (*type == "WarmupCosineLR") d.type = DsSchedulerType::warmup_cosine_lr;
  else
    fail(s.source() + ": scheduler.type \"" + *type + "\" is not supported; zerotune reads WarmupLR, WarmupDecayLR and WarmupCosineLR",
         "or remove the scheduler section and use --lr_scheduler_type (" + lr_schedule_names() + ")");
  std::optional<Section> p = s.sub("params");
  if (p) {
    d.warmup_num_steps = p->auto_int("warmup_num_steps", 0);
    d.warmup_type = p->opt_string("warmup_type");
    if (d.warmup_type)
      check(*d.warmup_type == "log" || *d.warmup_type == "linear",
            s.source() + ": scheduler.params.warmup_type must be \"log\" or \"linear\", got \"" + *d.warmup_type + "\"");
    if (d.type != DsSchedulerType::warmup_cosine_lr) {
      d.warmup_min_lr = p->auto_number("warmup_min_lr", 0);
      d.warmup_max_lr = p->auto_number("warmup_max_lr", 0);
    } else {
      d.warmup_min_ratio = p->opt_number("warmup_min_ratio");
      d.cos_min_ratio = p->opt_number("cos_min_ratio");
    }
    if (d.type != DsSchedulerType::warmup_lr) d.total_num_steps = p->auto_int("total_num_steps", 1);
    (void)p->opt_int("last_batch_iteration");
    p->finish();
  }
  if (d.type != DsSchedulerType::warmup_lr)
    check(d.total_num_steps.present(), s.source() + ": scheduler.params.total_num_steps is required for " + *type,
          "give the number of optimizer steps, or \"auto\" to use the run's");
  s.finish();
  return d;
}

DsFp16 read_fp16(Section s) {
  DsFp16 f;
  f.enabled = s.auto_bool("enabled");
  f.loss_scale = s.opt_number("loss_scale");
  if (f.loss_scale)
    check(std::isfinite(*f.loss_scale) && *f.loss_scale >= 0,
          s.source() + ": fp16.loss_scale must be >= 0 (0 = dynamic), got " + std::to_string(*f.loss_scale));
  f.initial_scale_power = s.opt_int("initial_scale_power");
  if (f.initial_scale_power)
    check(*f.initial_scale_power >= 0 && *f.initial_scale_power <= 63,
          s.source() + ": fp16.initial_scale_power must be in 0..63, got " + std::to_string(*f.initial_scale_power),
          "16 is DeepSpeed's default");
  f.loss_scale_window = s.opt_count("loss_scale_window", 1);
  f.hysteresis = s.opt_count("hysteresis", 1);
  f.consecutive_hysteresis = s.opt_bool("consecutive_hysteresis");
  f.min_loss_scale = s.opt_number("min_loss_scale");
  if (f.min_loss_scale)
    check(*f.min_loss_scale > 0, s.source() + ": fp16.min_loss_scale must be > 0, got " + std::to_string(*f.min_loss_scale));
  f.auto_cast = s.opt_bool("auto_cast");
  s.unsupported("fp16_master_weights_and_grads");
  s.finish();
  return f;
}

DsMonitor read_monitor(Section s) {
  DsMonitor m;
  m.enabled = s.opt_bool("enabled");
  m.output_path = s.opt_string("output_path");
  m.job_name = s.opt_string("job_name");
  s.finish();
  return m;
}

DsActivationCheckpointing read_activation_checkpointing(Section s) {
  DsActivationCheckpointing a;
  a.partition_activations = s.opt_bool("partition_activations");
  a.cpu_checkpointing = s.opt_bool("cpu_checkpointing");
  a.contiguous_memory_optimization = s.opt_bool("contiguous_memory_optimization");
  a.number_checkpoints = s.opt_count("number_checkpoints", 1);
  a.synchronize_checkpoint_boundary = s.opt_bool("synchronize_checkpoint_boundary");
  a.profile = s.opt_bool("profile");
  s.finish();
  return a;
}

}  // namespace

const char* ds_scheduler_name(DsSchedulerType t) {
  switch (t) {
    case DsSchedulerType::warmup_lr: return "WarmupLR";
    case DsSchedulerType::warmup_decay_lr: return "WarmupDecayLR";
    case DsSchedulerType::warmup_cosine_lr: return "WarmupCosineLR";
  }
  return "?";
}

LossScalerConfig DsFp16::loss_scaler() const {
  bool any_key = initial_scale_power || loss_scale_window || hysteresis || consecutive_hysteresis || min_loss_scale;
  LossScalerConfig c = any_key ? LossScalerConfig::keys_present_defaults() : LossScalerConfig::zero_no_keys_defaults();
  c.loss_scale = loss_scale.value_or(0.0);
  if (initial_scale_power) c.initial_scale = LossScalerConfig::scale_from_power(int(*initial_scale_power));
  if (loss_scale_window) c.scale_window = *loss_scale_window;
  if (hysteresis) c.hysteresis = *hysteresis;
  if (consecutive_hysteresis) c.consecutive_hysteresis = *consecutive_hysteresis;
  if (min_loss_scale) c.min_scale = *min_loss_scale;
  return c;
}

DsConfig parse_ds_config(const Json& j, const std::string& source) {
  DsConfig d;
  d.source = source;
  Section top(j, "", d.source, d.warnings);
  d.train_batch_size = top.auto_int("train_batch_size", 1);
  d.train_micro_batch_size_per_gpu = top.auto_int("train_micro_batch_size_per_gpu", 1);
  d.gradient_accumulation_steps = top.auto_int("gradient_accumulation_steps", 1);
  d.gradient_clipping = top.auto_number("gradient_clipping", 0);
  d.steps_per_print = top.opt_count("steps_per_print", 1);
  d.wall_clock_breakdown = top.opt_bool("wall_clock_breakdown");
  d.zero_allow_untested_optimizer = top.opt_bool("zero_allow_untested_optimizer");
  if (auto s = top.sub("optimizer")) d.optimizer = read_optimizer(*s);
  if (auto s = top.sub("scheduler")) d.scheduler = read_scheduler(*s);
  if (auto s = top.sub("fp16")) d.fp16 = read_fp16(*s);
  const Json* bf = top.get("bf16");
  const Json* bfa = top.get("bfloat16");
  check(!(bf && bfa), source + ": both bf16 and bfloat16 are given (they are the same section)", "keep one of them");
  if (auto s = top.sub(bf ? "bf16" : "bfloat16")) {
    DsValue<bool> en = s->auto_bool("enabled");
    for (const char* k : {"immediate_grad_update", "check_grad_overflow", "bf16_master_weights_and_grads",
                          "bf16_optimizer_states"})
      s->unsupported(k);
    s->finish();
    d.bf16_enabled = en;
  }
  check(!(d.fp16 && d.fp16->enabled.value.value_or(false) && d.bf16_enabled && d.bf16_enabled->value.value_or(false)),
        source + ": fp16.enabled and " + (bf ? "bf16" : "bfloat16") + ".enabled are both true",
        "enable one of them (or neither for fp32)");
  if (const Json* z = top.get("zero_optimization"); z && z->is_boolean())
    fail(source + ": zero_optimization must be a JSON object, got " + z->dump(),
         "the old boolean form is not read; write {\"stage\": N}");
  if (auto s = top.sub("zero_optimization")) d.zero_optimization = read_zero(*s);
  if (auto s = top.sub("tensorboard")) d.tensorboard = read_monitor(*s);
  if (auto s = top.sub("csv_monitor")) d.csv_monitor = read_monitor(*s);
  if (auto s = top.sub("activation_checkpointing")) d.activation_checkpointing = read_activation_checkpointing(*s);
  for (const char* k : {"amp", "aio", "autotuning", "checkpoint", "comet", "comms_logger", "communication_data_type",
                        "compression_training", "curriculum_learning", "data_efficiency", "data_types", "dump_state",
                        "eigenvalue", "elasticity", "flops_profiler", "gradient_predivide_factor", "hybrid_engine",
                        "memory_breakdown", "nebula", "pipeline", "prescale_gradients", "progressive_layer_drop",
                        "quantize_training", "sparse_attention", "sparse_gradients", "wandb", "weight_quantization",
                        "zero_force_ds_cpu_optimizer"})
    top.unsupported(k);
  top.finish();
  return d;
}

DsConfig load_ds_config(const std::string& path) { return parse_ds_config(load_json_file(path), path); }

Json dschat_step1_ds_config(const TrainConfig& cfg, int64_t world_size) {
  check(world_size >= 1, "internal: world size must be >= 1");
  std::string device = cfg.offload ? "cpu" : "none";
  Json zero = {{"stage", cfg.zero_stage},
               {"overlap_comm", true},
               {"offload_param", {{"device", device}}},
               {"offload_optimizer", {{"device", device}}},
               {"stage3_param_persistence_threshold", 10000},
               {"stage3_max_live_parameters", 30000000},
               {"stage3_prefetch_bucket_size", 30000000},
               {"memory_efficient_linear", false}};
  Json j = {{"train_batch_size", cfg.per_device_train_batch_size * world_size * cfg.gradient_accumulation_steps},
            {"train_micro_batch_size_per_gpu", cfg.per_device_train_batch_size},
            {"steps_per_print", 10},
            {"zero_optimization", zero},
            {"gradient_clipping", 1.0},
            {"prescale_gradients", false},
            {"wall_clock_breakdown", false},
            {"tensorboard",
             {{"enabled", cfg.enable_tensorboard},
              {"output_path", cfg.tensorboard_path + "/ds_tensorboard_logs/"},
              {"job_name", "step1_model_tensorboard"}}}};
  if (cfg.dtype == DType::bf16) j["bfloat16"] = {{"enabled", true}};
  else j["fp16"] = {{"enabled", true}, {"loss_scale_window", 100}};
  return j;
}

}  // namespace zt::train
