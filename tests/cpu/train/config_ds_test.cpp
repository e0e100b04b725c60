// Tests of the ds_config.json reader: every section into its typed fields, unknown-key and unsupported-feature
// warnings with their paths, every type and value error, the fp16 -> loss-scaler rules, DeepSpeed-Chat's config.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "train/ds_config.hpp"
#include "train/loss_scaler.hpp"

using namespace zt;
using namespace zt::train;

namespace {

DsConfig parse(const std::string& text) { return parse_ds_config(parse_json(text, "ds_config.json"), "ds_config.json"); }

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    return e.describe();
  }
  return "";
}

TrainConfig flags() {
  TrainConfig c;
  c.model_name_or_path = "/m";
  return c;
}

}  // namespace

TEST(DsConfig, EverySectionIntoItsFields) {
  DsConfig d = parse(R"({
    "train_batch_size": 64, "train_micro_batch_size_per_gpu": 4, "gradient_accumulation_steps": 2,
    "gradient_clipping": 0.5, "steps_per_print": 100, "wall_clock_breakdown": true, "zero_allow_untested_optimizer": true,
    "optimizer": {"type": "AdamW", "params": {"lr": 2e-5, "betas": [0.9, 0.999], "eps": 1e-6, "weight_decay": 0.01,
                  "adam_w_mode": true, "bias_correction": true}},
    "scheduler": {"type": "WarmupDecayLR", "params": {"warmup_min_lr": 0, "warmup_max_lr": 2e-5,
                  "warmup_num_steps": 100, "total_num_steps": 1000, "warmup_type": "linear"}},
    "fp16": {"enabled": true, "loss_scale": 0, "initial_scale_power": 12, "loss_scale_window": 500, "hysteresis": 3,
             "consecutive_hysteresis": true, "min_loss_scale": 0.5, "auto_cast": false},
    "zero_optimization": {"stage": 3, "allgather_partitions": true, "allgather_bucket_size": 2e8, "reduce_scatter": false,
      "reduce_bucket_size": 1e7, "overlap_comm": true, "contiguous_gradients": false,
      "offload_param": {"device": "cpu", "pin_memory": true}, "offload_optimizer": {"device": "nvme", "nvme_path": "/nvme"},
      "stage3_prefetch_bucket_size": 3e7, "stage3_param_persistence_threshold": 1e4, "stage3_max_live_parameters": 3e7,
      "stage3_max_reuse_distance": 1e8, "stage3_gather_16bit_weights_on_model_save": true, "sub_group_size": 1e9},
    "tensorboard": {"enabled": true, "output_path": "/tb/", "job_name": "run1"},
    "csv_monitor": {"enabled": false, "output_path": "/csv", "job_name": "c"},
    "activation_checkpointing": {"partition_activations": false, "cpu_checkpointing": true,
      "contiguous_memory_optimization": false, "number_checkpoints": 4, "synchronize_checkpoint_boundary": false,
      "profile": false}
  })");
  EXPECT_TRUE(d.warnings.empty()) << d.warnings[0];
  EXPECT_EQ(d.source, "ds_config.json");
  EXPECT_EQ(d.train_batch_size.value, 64);
  EXPECT_EQ(d.train_micro_batch_size_per_gpu.value, 4);
  EXPECT_EQ(d.gradient_accumulation_steps.value, 2);
  EXPECT_EQ(d.gradient_clipping.value, 0.5);
  EXPECT_EQ(d.steps_per_print, 100);
  EXPECT_EQ(d.wall_clock_breakdown, true);
  EXPECT_EQ(d.zero_allow_untested_optimizer, true);
  ASSERT_TRUE(d.optimizer);
  EXPECT_EQ(d.optimizer->type, "AdamW");
  EXPECT_EQ(d.optimizer->lr.value, 2e-5);
  EXPECT_EQ(d.optimizer->betas.value, (std::array<double, 2>{0.9, 0.999}));
  EXPECT_EQ(d.optimizer->eps.value, 1e-6);
  EXPECT_EQ(d.optimizer->weight_decay.value, 0.01);
  EXPECT_EQ(d.optimizer->adam_w_mode, true);
  ASSERT_TRUE(d.scheduler);
  EXPECT_EQ(d.scheduler->type, DsSchedulerType::warmup_decay_lr);
  EXPECT_EQ(d.scheduler->warmup_max_lr.value, 2e-5);
  EXPECT_EQ(d.scheduler->warmup_num_steps.value, 100);
  EXPECT_EQ(d.scheduler->total_num_steps.value, 1000);
  EXPECT_EQ(d.scheduler->warmup_type, "linear");
  ASSERT_TRUE(d.fp16);
  EXPECT_EQ(d.fp16->enabled.value, true);
  EXPECT_EQ(d.fp16->initial_scale_power, 12);
  EXPECT_FALSE(d.bf16_enabled.has_value());
  ASSERT_TRUE(d.zero_optimization);
  const DsZero& z = *d.zero_optimization;
  EXPECT_EQ(z.stage, 3);
  EXPECT_EQ(z.allgather_bucket_size, 200000000);
  EXPECT_EQ(z.reduce_scatter, false);
  EXPECT_EQ(z.reduce_bucket_size.value, 10000000);
  EXPECT_EQ(z.overlap_comm, true);
  EXPECT_EQ(z.contiguous_gradients, false);
  EXPECT_EQ(z.offload_param->device, "cpu");
  EXPECT_EQ(z.offload_param->pin_memory, true);
  EXPECT_EQ(z.offload_optimizer->device, "nvme");
  EXPECT_EQ(z.offload_optimizer->nvme_path, "/nvme");
  EXPECT_EQ(z.stage3_prefetch_bucket_size.value, 30000000);
  EXPECT_EQ(z.stage3_param_persistence_threshold.value, 10000);
  EXPECT_EQ(z.stage3_max_live_parameters, 30000000);
  EXPECT_EQ(z.stage3_max_reuse_distance, 100000000);
  EXPECT_EQ(z.stage3_gather_16bit_weights_on_model_save, true);
  EXPECT_EQ(z.sub_group_size, 1000000000);
  EXPECT_EQ(d.tensorboard->enabled, true);
  EXPECT_EQ(d.tensorboard->output_path, "/tb/");
  EXPECT_EQ(d.tensorboard->job_name, "run1");
  EXPECT_EQ(d.csv_monitor->output_path, "/csv");
  EXPECT_EQ(d.activation_checkpointing->cpu_checkpointing, true);
  EXPECT_EQ(d.activation_checkpointing->number_checkpoints, 4);
}

TEST(DsConfig, AutoValuesAndAliases) {
  DsConfig d = parse(R"({"train_batch_size": "auto", "train_micro_batch_size_per_gpu": "auto",
    "gradient_accumulation_steps": "auto", "gradient_clipping": "auto",
    "optimizer": {"type": "adamw", "params": {"lr": "auto", "betas": "auto", "eps": "auto", "weight_decay": "auto"}},
    "scheduler": {"type": "WarmupLR", "params": {"warmup_min_lr": "auto", "warmup_max_lr": "auto", "warmup_num_steps": "auto"}},
    "fp16": {"enabled": "auto"}, "bfloat16": {"enabled": "auto"},
    "zero_optimization": {"stage": 2, "reduce_bucket_size": "auto", "stage3_prefetch_bucket_size": "auto",
      "stage3_param_persistence_threshold": "auto", "stage3_gather_fp16_weights_on_model_save": true},
    "steps_per_print": null})");
  EXPECT_TRUE(d.warnings.empty());
  EXPECT_TRUE(d.train_batch_size.is_auto && !d.train_batch_size.value);
  EXPECT_TRUE(d.train_micro_batch_size_per_gpu.is_auto);
  EXPECT_TRUE(d.gradient_accumulation_steps.is_auto);
  EXPECT_TRUE(d.gradient_clipping.is_auto);
  EXPECT_TRUE(d.optimizer->lr.is_auto && d.optimizer->betas.is_auto && d.optimizer->eps.is_auto);
  EXPECT_TRUE(d.optimizer->weight_decay.is_auto);
  EXPECT_TRUE(d.scheduler->warmup_min_lr.is_auto && d.scheduler->warmup_max_lr.is_auto);
  EXPECT_TRUE(d.scheduler->warmup_num_steps.is_auto);
  EXPECT_TRUE(d.fp16->enabled.is_auto);
  ASSERT_TRUE(d.bf16_enabled);
  EXPECT_TRUE(d.bf16_enabled->is_auto);
  EXPECT_TRUE(d.zero_optimization->reduce_bucket_size.is_auto);
  EXPECT_TRUE(d.zero_optimization->stage3_prefetch_bucket_size.is_auto);
  EXPECT_TRUE(d.zero_optimization->stage3_param_persistence_threshold.is_auto);
  EXPECT_EQ(d.zero_optimization->stage3_gather_16bit_weights_on_model_save, true);  // older key name
  EXPECT_FALSE(d.steps_per_print.has_value());                                       // null = default
  EXPECT_FALSE(d.train_batch_size.present() && d.train_batch_size.value);
  DsConfig b = parse(R"({"bf16": {"enabled": true}})");
  EXPECT_EQ(b.bf16_enabled->value, true);
}

TEST(DsConfig, UnknownKeysAreWarnedWithTheirPath) {
  DsConfig d = parse(R"({"train_batch_size": 8, "foo": 1,
    "zero_optimization": {"stage": 3, "stage3_foo": 1, "stage3_prefetch_bucket_sizee": 5,
                          "offload_optimizer": {"device": "cpu", "speed": "fast"}},
    "fp16": {"enabled": true, "loss_scale_windo": 100}, "tensorboard": {"enabled": false, "path": "x"}})");
  std::vector<std::string> expected = {
      "ds_config.json: unknown key fp16.loss_scale_windo (ignored); did you mean fp16.loss_scale_window?",
      "ds_config.json: unknown key zero_optimization.offload_optimizer.speed (ignored)",
      "ds_config.json: unknown key zero_optimization.stage3_foo (ignored)",
      "ds_config.json: unknown key zero_optimization.stage3_prefetch_bucket_sizee (ignored); did you mean "
      "zero_optimization.stage3_prefetch_bucket_size?",
      "ds_config.json: unknown key tensorboard.path (ignored)",
      "ds_config.json: unknown key foo (ignored)",
  };
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sorted(d.warnings), sorted(expected));
  // The keys that were understood still are.
  EXPECT_EQ(d.zero_optimization->stage, 3);
  EXPECT_EQ(d.zero_optimization->offload_optimizer->device, "cpu");
}

TEST(DsConfig, UnimplementedDeepSpeedFeaturesWarnOnlyWhenOn) {
  DsConfig quiet = parse(R"({"train_batch_size": 8, "prescale_gradients": false, "hybrid_engine": {"enabled": false},
    "wandb": {"enabled": false}, "zero_optimization": {"memory_efficient_linear": false}})");
  EXPECT_TRUE(quiet.warnings.empty()) << quiet.warnings[0];
  DsConfig loud = parse(R"({"train_batch_size": 8, "prescale_gradients": true, "hybrid_engine": {"enabled": true},
    "flops_profiler": {"enabled": true}, "zero_optimization": {"cpu_offload": true}})");
  ASSERT_EQ(loud.warnings.size(), 4u);
  EXPECT_NE(std::find(loud.warnings.begin(), loud.warnings.end(),
                      "ds_config.json: hybrid_engine is a DeepSpeed feature zerotune does not implement (ignored)"),
            loud.warnings.end());
  bool cpu_offload_hint = false;
  for (auto& w : loud.warnings)
    cpu_offload_hint |= w.find("zero_optimization.cpu_offload") != std::string::npos && w.find("offload_optimizer") != std::string::npos;
  EXPECT_TRUE(cpu_offload_hint);
}

TEST(DsConfig, WrongTypesNameThePathAndTheExpectedType) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"([1, 2])", "ds_config.json: the top level must be a JSON object"},
      {R"({"train_batch_size": "64"})", "ds_config.json: train_batch_size must be an integer or \"auto\", got \"64\""},
      {R"({"train_batch_size": 6.5})", "train_batch_size must be an integer or \"auto\", got 6.5"},
      {R"({"gradient_clipping": "1.0"})", "gradient_clipping must be a number or \"auto\""},
      {R"({"steps_per_print": "auto"})", "steps_per_print must be an integer, got \"auto\""},
      {R"({"wall_clock_breakdown": 1})", "wall_clock_breakdown must be true or false, got 1"},
      {R"({"fp16": true})", "ds_config.json: fp16 must be a JSON object, got true"},
      {R"({"fp16": {"enabled": "yes"}})", "fp16.enabled must be true, false or \"auto\", got \"yes\""},
      {R"({"fp16": {"loss_scale": "dynamic"}})", "fp16.loss_scale must be a number"},
      {R"({"fp16": {"hysteresis": 2.5}})", "fp16.hysteresis must be an integer, got 2.5"},
      {R"({"bf16": {"enabled": 1}})", "bf16.enabled must be true, false or \"auto\", got 1"},
      {R"({"zero_optimization": {"stage": "3"}})", "zero_optimization.stage must be an integer, got \"3\""},
      {R"({"zero_optimization": {"overlap_comm": "true"}})", "zero_optimization.overlap_comm must be true or false"},
      {R"({"zero_optimization": {"offload_param": "cpu"}})", "zero_optimization.offload_param must be a JSON object"},
      {R"({"zero_optimization": {"offload_optimizer": {"device": 1}}})",
       "zero_optimization.offload_optimizer.device must be a string, got 1"},
      {R"({"zero_optimization": {"reduce_bucket_size": [1]}})", "zero_optimization.reduce_bucket_size must be an integer or \"auto\""},
      {R"({"optimizer": {"type": 1}})", "optimizer.type must be a string"},
      {R"({"optimizer": {"type": "AdamW", "params": {"betas": [0.9]}}})",
       "optimizer.params.betas must be a list of two numbers or \"auto\", got [0.9]"},
      {R"({"optimizer": {"type": "AdamW", "params": {"lr": "1e-4"}}})", "optimizer.params.lr must be a number or \"auto\""},
      {R"({"optimizer": {"type": "AdamW", "params": []}})", "optimizer.params must be a JSON object"},
      {R"({"scheduler": {"type": "WarmupLR", "params": {"warmup_num_steps": "ten"}}})",
       "scheduler.params.warmup_num_steps must be an integer or \"auto\""},
      {R"({"tensorboard": {"output_path": 5}})", "tensorboard.output_path must be a string, got 5"},
      {R"({"csv_monitor": {"enabled": "no"}})", "csv_monitor.enabled must be true or false"},
      {R"({"activation_checkpointing": {"number_checkpoints": "4"}})", "activation_checkpointing.number_checkpoints must be an integer"},
  };
  for (auto& [text, expected] : cases) {
    std::string err = error_of(text);
    EXPECT_NE(err.find(expected), std::string::npos) << text << "\n  expected: " << expected << "\n  got: " << err;
  }
  EXPECT_NE(error_of(R"({"steps_per_print": "auto"})").find("nothing to fill it from"), std::string::npos);
}

TEST(DsConfig, BadValuesAreErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"train_batch_size": 0})", "train_batch_size must be >= 1, got 0"},
      {R"({"train_micro_batch_size_per_gpu": -4})", "train_micro_batch_size_per_gpu must be >= 1"},
      {R"({"gradient_accumulation_steps": 0})", "gradient_accumulation_steps must be >= 1"},
      {R"({"gradient_clipping": -1})", "gradient_clipping must be >= 0"},
      {R"({"steps_per_print": 0})", "steps_per_print must be >= 1"},
      {R"({"zero_optimization": {"stage": 4}})", "zero_optimization.stage must be 0, 1, 2 or 3, got 4"},
      {R"({"zero_optimization": true})", "zero_optimization must be a JSON object, got true"},
      {R"({"zero_optimization": {"offload_optimizer": {"device": "gpu"}}})",
       "zero_optimization.offload_optimizer.device must be \"none\", \"cpu\" or \"nvme\", got \"gpu\""},
      {R"({"zero_optimization": {"allgather_bucket_size": 0}})", "zero_optimization.allgather_bucket_size must be >= 1"},
      {R"({"fp16": {"loss_scale": -1}})", "fp16.loss_scale must be >= 0"},
      {R"({"fp16": {"initial_scale_power": 64}})", "fp16.initial_scale_power must be in 0..63, got 64"},
      {R"({"fp16": {"loss_scale_window": 0}})", "fp16.loss_scale_window must be >= 1, got 0"},
      {R"({"fp16": {"hysteresis": 0}})", "fp16.hysteresis must be >= 1, got 0"},
      {R"({"fp16": {"min_loss_scale": 0}})", "fp16.min_loss_scale must be > 0"},
      {R"({"fp16": {"enabled": true}, "bf16": {"enabled": true}})", "fp16.enabled and bf16.enabled are both true"},
      {R"({"fp16": {"enabled": true}, "bfloat16": {"enabled": true}})", "fp16.enabled and bfloat16.enabled are both true"},
      {R"({"bf16": {"enabled": true}, "bfloat16": {"enabled": true}})", "both bf16 and bfloat16 are given"},
      {R"({"optimizer": {"params": {"lr": 1}}})", "optimizer.type is missing"},
      {R"({"optimizer": {"type": "OneBitAdam"}})", "optimizer.type \"OneBitAdam\" is not supported"},
      {R"({"optimizer": {"type": "AdamW", "params": {"betas": [0.9, 1.5]}}})", "optimizer.params.betas must be in [0, 1)"},
      {R"({"optimizer": {"type": "AdamW", "params": {"lr": -1}}})", "optimizer.params.lr must be >= 0"},
      {R"({"scheduler": {"params": {}}})", "scheduler.type is missing"},
      {R"({"scheduler": {"type": "OneCycle"}})", "scheduler.type \"OneCycle\" is not supported"},
      {R"({"scheduler": {"type": "WarmupDecayLR", "params": {"warmup_num_steps": 10}}})",
       "scheduler.params.total_num_steps is required for WarmupDecayLR"},
      {R"({"scheduler": {"type": "WarmupCosineLR"}})", "scheduler.params.total_num_steps is required for WarmupCosineLR"},
      {R"({"scheduler": {"type": "WarmupLR", "params": {"warmup_type": "cosine"}}})",
       "scheduler.params.warmup_type must be \"log\" or \"linear\""},
  };
  for (auto& [text, expected] : cases) {
    std::string err = error_of(text);
    EXPECT_NE(err.find(expected), std::string::npos) << text << "\n  expected: " << expected << "\n  got: " << err;
  }
  // Integral floats are integers (DeepSpeed-Chat writes 1e4, 3e7).
  EXPECT_EQ(parse(R"({"zero_optimization": {"stage3_max_live_parameters": 3e7}})").zero_optimization->stage3_max_live_parameters,
            30000000);
}

TEST(DsConfig, Fp16SectionToLossScalerConfig) {
  auto scaler = [](const std::string& fp16) { return parse(R"({"fp16": )" + fp16 + "}").fp16->loss_scaler(); };
  // None of the five scaler keys: ZeRO's defaults 2^32, window 1000, hysteresis 1, min 1.
  for (const char* s : {R"({"enabled": true})", R"({"enabled": true, "loss_scale": 0})", R"({"auto_cast": false})"}) {
    LossScalerConfig c = scaler(s);
    EXPECT_EQ(c.loss_scale, 0.0) << s;
    EXPECT_EQ(c.initial_scale, 4294967296.0) << s;
    EXPECT_EQ(c.scale_window, 1000) << s;
    EXPECT_EQ(c.hysteresis, 1) << s;
    EXPECT_FALSE(c.consecutive_hysteresis) << s;
    EXPECT_EQ(c.min_scale, 1.0) << s;
  }
  // Any one key present: DeepSpeed's keys-present defaults (2^16, 1000, 2, false, 1) with that key applied.
  LossScalerConfig w = scaler(R"({"enabled": true, "loss_scale_window": 100})");  // DeepSpeed-Chat's section
  EXPECT_EQ(w.initial_scale, 65536.0);
  EXPECT_EQ(w.scale_window, 100);
  EXPECT_EQ(w.hysteresis, 2);
  EXPECT_EQ(w.min_scale, 1.0);
  LossScalerConfig m = scaler(R"({"min_loss_scale": 0.25})");
  EXPECT_EQ(m.initial_scale, 65536.0);
  EXPECT_EQ(m.scale_window, 1000);
  EXPECT_EQ(m.hysteresis, 2);
  EXPECT_EQ(m.min_scale, 0.25);
  LossScalerConfig ch = scaler(R"({"consecutive_hysteresis": false})");  // present even when false
  EXPECT_EQ(ch.initial_scale, 65536.0);
  EXPECT_EQ(ch.hysteresis, 2);
  LossScalerConfig all = scaler(R"({"initial_scale_power": 12, "loss_scale_window": 500, "hysteresis": 3,
                                    "consecutive_hysteresis": true, "min_loss_scale": 0.5})");
  EXPECT_EQ(all.initial_scale, 4096.0);
  EXPECT_EQ(all.scale_window, 500);
  EXPECT_EQ(all.hysteresis, 3);
  EXPECT_TRUE(all.consecutive_hysteresis);
  EXPECT_EQ(all.min_scale, 0.5);
  // loss_scale > 0: a static scale.
  LossScalerConfig st = scaler(R"({"enabled": true, "loss_scale": 128})");
  EXPECT_EQ(st.loss_scale, 128.0);
  LossScaler s(st);
  EXPECT_FALSE(s.dynamic());
  EXPECT_EQ(s.scale(), 128.0);
  LossScaler dyn(w);
  EXPECT_TRUE(dyn.dynamic());
  EXPECT_EQ(dyn.scale(), 65536.0);
}

TEST(DsConfig, LoadsFilesAndNamesThemInErrors) {
  auto dir = std::filesystem::path(ZT_BINARY_DIR) / "config_ds_test";
  std::filesystem::create_directories(dir);
  auto good = (dir / "ds.json").string();
  std::ofstream(good) << R"({"train_micro_batch_size_per_gpu": 2, "zero_optimization": {"stage": 1, "bogus": 0}})";
  DsConfig d = load_ds_config(good);
  EXPECT_EQ(d.source, good);
  EXPECT_EQ(d.zero_optimization->stage, 1);
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_EQ(d.warnings[0], good + ": unknown key zero_optimization.bogus (ignored)");
  auto bad = (dir / "bad.json").string();
  std::ofstream(bad) << R"({"train_batch_size": 8,})";
  try {
    load_ds_config(bad);
    ADD_FAILURE() << "accepted invalid JSON";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(bad + ": invalid JSON"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_ds_config((dir / "missing.json").string()), Error);
}

TEST(DsConfig, DeepSpeedChatStep1Config) {
  TrainConfig c = flags();
  c.per_device_train_batch_size = 4;
  c.gradient_accumulation_steps = 2;
  c.zero_stage = 3;
  Json j = dschat_step1_ds_config(c, 8);
  Json expected = parse_json(R"({
    "train_batch_size": 64, "train_micro_batch_size_per_gpu": 4, "steps_per_print": 10,
    "zero_optimization": {"stage": 3, "overlap_comm": true, "offload_param": {"device": "none"},
      "offload_optimizer": {"device": "none"}, "stage3_param_persistence_threshold": 10000,
      "stage3_max_live_parameters": 30000000, "stage3_prefetch_bucket_size": 30000000, "memory_efficient_linear": false},
    "fp16": {"enabled": true, "loss_scale_window": 100},
    "gradient_clipping": 1.0, "prescale_gradients": false, "wall_clock_breakdown": false,
    "tensorboard": {"enabled": false, "output_path": "step1_tensorboard/ds_tensorboard_logs/",
                    "job_name": "step1_model_tensorboard"}})", "expected");
  EXPECT_EQ(j, expected) << j.dump(2);
  c.dtype = DType::bf16;
  c.offload = true;
  c.enable_tensorboard = true;
  c.tensorboard_path = "/runs/tb";
  Json b = dschat_step1_ds_config(c, 1);
  EXPECT_FALSE(b.contains("fp16"));
  EXPECT_EQ(b["bfloat16"], Json({{"enabled", true}}));
  EXPECT_EQ(b["zero_optimization"]["offload_param"]["device"], "cpu");
  EXPECT_EQ(b["zero_optimization"]["offload_optimizer"]["device"], "cpu");
  EXPECT_EQ(b["tensorboard"]["enabled"], true);
  EXPECT_EQ(b["tensorboard"]["output_path"], "/runs/tb/ds_tensorboard_logs/");
  EXPECT_EQ(b["train_batch_size"], 8);
  // Our own reader takes it without a warning.
  EXPECT_TRUE(parse_ds_config(j, "gen").warnings.empty());
  EXPECT_TRUE(parse_ds_config(b, "gen").warnings.empty());
}
