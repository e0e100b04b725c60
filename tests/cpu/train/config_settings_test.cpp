// Tests of the effective settings: DeepSpeed-Chat's defaults without a ds_config, DeepSpeed's batch-size rule in
// every combination, "auto" filling, the precedence (flags / ds_config / defaults) and contradictions, the JSON echo.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "train/train_settings.hpp"

using namespace zt;
using namespace zt::train;

namespace {

// Flags as if typed: values set here are marked as given.
TrainConfig flags(const FlagValues& v = {}) {
  FlagValues all = v;
  all["model_name_or_path"] = {"/m"};
  return train_config_from_values(all);
}

DsConfig ds(const std::string& text) { return parse_ds_config(parse_json(text, "ds.json"), "ds.json"); }

TrainSettings resolve(const FlagValues& f, const std::string& ds_text, int64_t world = 1, int64_t hidden = 0) {
  DsConfig d = ds(ds_text);
  return resolve_train_settings(flags(f), &d, world, hidden);
}

std::string error_of(const FlagValues& f, const std::string& ds_text, int64_t world = 1) {
  try {
    resolve(f, ds_text, world);
  } catch (const Error& e) {
    return e.describe();
  }
  return "";
}

#define EXPECT_ERROR(call, text)                                                              \
  do {                                                                                        \
    std::string err_ = (call);                                                                \
    EXPECT_NE(err_.find(text), std::string::npos) << "expected: " << (text) << "\ngot: " << err_; \
  } while (0)

}  // namespace

TEST(TrainSettings, DeepSpeedChatDefaultsWithoutADsConfig) {
  TrainSettings s = resolve_train_settings(flags(), nullptr, 4);
  EXPECT_EQ(s.ds_config_source, "DeepSpeed-Chat step-1 config");
  EXPECT_EQ(s.micro_batch_size, 16);
  EXPECT_EQ(s.gradient_accumulation_steps, 1);
  EXPECT_EQ(s.train_batch_size, 64);
  EXPECT_EQ(s.dtype, DType::f16);
  EXPECT_EQ(s.loss_scaler.initial_scale, 65536.0);  // fp16 {enabled, loss_scale_window 100}: keys-present defaults
  EXPECT_EQ(s.loss_scaler.scale_window, 100);
  EXPECT_EQ(s.loss_scaler.hysteresis, 2);
  EXPECT_EQ(s.loss_scaler.loss_scale, 0.0);
  EXPECT_EQ(s.gradient_clipping, 1.0);
  EXPECT_EQ(s.steps_per_print, 10);
  EXPECT_FALSE(s.wall_clock_breakdown);
  EXPECT_EQ(s.zero.stage, 0);
  EXPECT_TRUE(s.zero.overlap_comm);
  EXPECT_EQ(s.zero.offload_optimizer_device, "none");
  EXPECT_EQ(s.zero.offload_param_device, "none");
  EXPECT_EQ(s.zero.stage3_param_persistence_threshold, 10000);
  EXPECT_EQ(s.zero.stage3_max_live_parameters, 30000000);
  EXPECT_EQ(s.zero.stage3_prefetch_bucket_size, 30000000);
  EXPECT_EQ(s.optimizer.type, "AdamW");
  EXPECT_FALSE(s.optimizer.from_ds_config);
  EXPECT_EQ(s.optimizer.learning_rate, 1e-3);
  EXPECT_EQ(s.optimizer.lora_learning_rate, 5e-4);
  EXPECT_EQ(s.optimizer.beta1, 0.9);
  EXPECT_EQ(s.optimizer.beta2, 0.95);
  EXPECT_EQ(s.optimizer.eps, 1e-8);
  EXPECT_EQ(s.schedule.lr_scheduler_type, LrScheduleType::cosine);
  EXPECT_FALSE(s.schedule.ds_scheduler.has_value());
  EXPECT_FALSE(s.tensorboard_enabled);
  EXPECT_EQ(s.tensorboard_dir, "step1_tensorboard/ds_tensorboard_logs/step1_model_tensorboard");
  EXPECT_TRUE(s.warnings.empty());

  TrainSettings b = resolve_train_settings(
      flags({{"dtype", {"bf16"}}, {"offload", {"1"}}, {"zero_stage", {"3"}}, {"per_device_train_batch_size", {"4"}},
             {"gradient_accumulation_steps", {"2"}}, {"enable_tensorboard", {"1"}}, {"tensorboard_path", {"/tb"}},
             {"gradient_checkpointing", {"1"}}}),
      nullptr, 8);
  EXPECT_EQ(b.dtype, DType::bf16);
  EXPECT_EQ(b.zero.stage, 3);
  EXPECT_EQ(b.zero.offload_optimizer_device, "cpu");
  EXPECT_EQ(b.zero.offload_param_device, "cpu");
  EXPECT_EQ(b.micro_batch_size, 4);
  EXPECT_EQ(b.gradient_accumulation_steps, 2);
  EXPECT_EQ(b.train_batch_size, 64);
  EXPECT_TRUE(b.tensorboard_enabled);
  EXPECT_EQ(b.tensorboard_dir, "/tb/ds_tensorboard_logs/step1_model_tensorboard");
  EXPECT_TRUE(b.gradient_checkpointing);
}

TEST(TrainSettings, BatchRuleAnyTwoDetermineTheThird) {
  // train_batch_size + micro -> GAS
  TrainSettings a = resolve({}, R"({"train_batch_size": 64, "train_micro_batch_size_per_gpu": 4})", 4);
  EXPECT_EQ(a.gradient_accumulation_steps, 4);
  EXPECT_EQ(a.micro_batch_size, 4);
  // train_batch_size + GAS -> micro
  TrainSettings b = resolve({}, R"({"train_batch_size": 64, "gradient_accumulation_steps": 2})", 4);
  EXPECT_EQ(b.micro_batch_size, 8);
  // micro + GAS -> train_batch_size
  TrainSettings c = resolve({}, R"({"train_micro_batch_size_per_gpu": 3, "gradient_accumulation_steps": 5})", 2);
  EXPECT_EQ(c.train_batch_size, 30);
  // train_batch_size alone -> GAS 1, micro = total / world
  TrainSettings d = resolve({}, R"({"train_batch_size": 32})", 4);
  EXPECT_EQ(d.gradient_accumulation_steps, 1);
  EXPECT_EQ(d.micro_batch_size, 8);
  // micro alone -> GAS 1
  TrainSettings e = resolve({}, R"({"train_micro_batch_size_per_gpu": 2})", 3);
  EXPECT_EQ(e.gradient_accumulation_steps, 1);
  EXPECT_EQ(e.train_batch_size, 6);
  // all three, consistent
  TrainSettings f = resolve({}, R"({"train_batch_size": 24, "train_micro_batch_size_per_gpu": 3,
                                    "gradient_accumulation_steps": 2})", 4);
  EXPECT_EQ(f.train_batch_size, 24);
  // none: the flags (defaults or given)
  TrainSettings g = resolve({}, R"({})", 2);
  EXPECT_EQ(g.micro_batch_size, 16);
  EXPECT_EQ(g.gradient_accumulation_steps, 1);
  EXPECT_EQ(g.train_batch_size, 32);
  TrainSettings h = resolve({{"per_device_train_batch_size", {"2"}}, {"gradient_accumulation_steps", {"4"}}}, R"({})", 2);
  EXPECT_EQ(h.train_batch_size, 16);
  // the file's total with a given GAS flag (file silent on GAS): micro derived
  TrainSettings i = resolve({{"gradient_accumulation_steps", {"2"}}}, R"({"train_batch_size": 32})", 2);
  EXPECT_EQ(i.micro_batch_size, 8);
  EXPECT_EQ(i.gradient_accumulation_steps, 2);
}

TEST(TrainSettings, BatchRuleInconsistenciesShowTheNumbers) {
  EXPECT_ERROR(error_of({}, R"({"train_batch_size": 100, "train_micro_batch_size_per_gpu": 4,
                                "gradient_accumulation_steps": 2})", 4),
               "ds.json: train_batch_size 100 != micro-batch 4 x gradient_accumulation_steps 2 x world size 4 = 32");
  // DeepSpeed's integer division: 10 / 4 -> GAS 2, and 4 x 2 x 1 != 10.
  EXPECT_ERROR(error_of({}, R"({"train_batch_size": 10, "train_micro_batch_size_per_gpu": 4})"),
               "train_batch_size 10 != micro-batch 4 x gradient_accumulation_steps 2 x world size 1 = 8");
  // Too small for the world: micro 0.
  EXPECT_ERROR(error_of({}, R"({"train_batch_size": 2})", 4), "the batch sizes do not divide");
  // A given flag that the file's two values contradict.
  EXPECT_ERROR(error_of({{"gradient_accumulation_steps", {"3"}}}, R"({"train_batch_size": 32, "train_micro_batch_size_per_gpu": 4})"),
               "train_batch_size 32 != micro-batch 4 x gradient_accumulation_steps 3 x world size 1 = 12");
}

TEST(TrainSettings, AutoIsFilledFromTheFlags) {
  TrainSettings s = resolve({{"per_device_train_batch_size", {"8"}}, {"gradient_accumulation_steps", {"2"}},
                             {"learning_rate", {"1e-4"}}, {"weight_decay", {"0.1"}}, {"num_warmup_steps", {"7"}},
                             {"dtype", {"bf16"}}},
                            R"({"train_batch_size": "auto", "train_micro_batch_size_per_gpu": "auto",
      "gradient_accumulation_steps": "auto", "gradient_clipping": "auto",
      "fp16": {"enabled": "auto"}, "bf16": {"enabled": "auto"},
      "optimizer": {"type": "AdamW", "params": {"lr": "auto", "betas": "auto", "eps": "auto", "weight_decay": "auto"}},
      "scheduler": {"type": "WarmupDecayLR", "params": {"warmup_min_lr": "auto", "warmup_max_lr": "auto",
                    "warmup_num_steps": "auto", "total_num_steps": "auto"}},
      "zero_optimization": {"stage": 3, "reduce_bucket_size": "auto", "stage3_prefetch_bucket_size": "auto",
                            "stage3_param_persistence_threshold": "auto"}})",
                            4, 4096);
  EXPECT_EQ(s.micro_batch_size, 8);
  EXPECT_EQ(s.gradient_accumulation_steps, 2);
  EXPECT_EQ(s.train_batch_size, 64);
  EXPECT_EQ(s.gradient_clipping, 1.0);
  EXPECT_EQ(s.dtype, DType::bf16);
  EXPECT_EQ(s.optimizer.learning_rate, 1e-4);
  EXPECT_EQ(s.optimizer.weight_decay, 0.1);
  EXPECT_EQ(s.optimizer.beta1, 0.9);
  EXPECT_EQ(s.optimizer.beta2, 0.95);
  EXPECT_EQ(s.optimizer.eps, 1e-8);
  ASSERT_TRUE(s.schedule.ds_scheduler);
  const DsScheduler& d = *s.schedule.ds_scheduler;
  EXPECT_EQ(d.warmup_min_lr.value, 0.0);
  EXPECT_EQ(d.warmup_max_lr.value, 1e-4);
  EXPECT_EQ(d.warmup_num_steps.value, 7);
  EXPECT_EQ(d.total_num_steps.value, -1);  // the trainer's num_training_steps
  EXPECT_EQ(s.schedule.num_warmup_steps, 7);
  EXPECT_EQ(s.zero.reduce_bucket_size, 4096 * 4096);
  EXPECT_EQ(s.zero.stage3_prefetch_bucket_size, int64_t(0.9 * 4096 * 4096));
  EXPECT_EQ(s.zero.stage3_param_persistence_threshold, 40960);
  // Unknown hidden size: DeepSpeed's defaults.
  TrainSettings u = resolve({}, R"({"zero_optimization": {"reduce_bucket_size": "auto",
                                     "stage3_prefetch_bucket_size": "auto", "stage3_param_persistence_threshold": "auto"}})");
  EXPECT_EQ(u.zero.reduce_bucket_size, 500000000);
  EXPECT_EQ(u.zero.stage3_prefetch_bucket_size, 50000000);
  EXPECT_EQ(u.zero.stage3_param_persistence_threshold, 100000);
}

TEST(TrainSettings, ExplicitFileValuesBeatFlagDefaults) {
  TrainSettings s = resolve({}, R"({"train_micro_batch_size_per_gpu": 4, "gradient_accumulation_steps": 8,
      "zero_optimization": {"stage": 2, "offload_optimizer": {"device": "cpu", "pin_memory": true}},
      "optimizer": {"type": "AdamW", "params": {"lr": 2e-5, "weight_decay": 0.01}},
      "tensorboard": {"enabled": true, "output_path": "/x/tb/", "job_name": "j"}, "gradient_clipping": 0.5,
      "steps_per_print": 50, "wall_clock_breakdown": true})");
  EXPECT_EQ(s.micro_batch_size, 4);
  EXPECT_EQ(s.gradient_accumulation_steps, 8);
  EXPECT_EQ(s.zero.stage, 2);
  EXPECT_FALSE(s.zero.overlap_comm);  // DeepSpeed's default below stage 3
  EXPECT_EQ(s.zero.offload_optimizer_device, "cpu");
  EXPECT_EQ(s.zero.offload_param_device, "none");
  EXPECT_TRUE(s.zero.offload_pin_memory);
  EXPECT_EQ(s.optimizer.learning_rate, 2e-5);
  EXPECT_EQ(s.optimizer.weight_decay, 0.01);
  EXPECT_EQ(s.optimizer.beta2, 0.999);  // a ds optimizer without betas: DeepSpeed's Adam default
  EXPECT_TRUE(s.optimizer.from_ds_config);
  EXPECT_TRUE(s.tensorboard_enabled);
  EXPECT_EQ(s.tensorboard_dir, "/x/tb/j");
  EXPECT_EQ(s.gradient_clipping, 0.5);
  EXPECT_EQ(s.steps_per_print, 50);
  EXPECT_TRUE(s.wall_clock_breakdown);
  // A user file silent on clipping gets DeepSpeed's default (off); stage 3 overlaps by default.
  TrainSettings z = resolve({}, R"({"zero_optimization": {"stage": 3}, "tensorboard": {"enabled": true}})");
  EXPECT_EQ(z.gradient_clipping, 0.0);
  EXPECT_TRUE(z.zero.overlap_comm);
  EXPECT_EQ(z.tensorboard_dir, "step1_tensorboard/ds_tensorboard_logs/DeepSpeedJobName");
  // Explicit flags that agree with the file are fine.
  TrainSettings ok = resolve({{"zero_stage", {"2"}}, {"per_device_train_batch_size", {"4"}}, {"offload", {"1"}}},
                             R"({"train_micro_batch_size_per_gpu": 4, "zero_optimization": {"stage": 2,
                                 "offload_optimizer": {"device": "cpu"}}})");
  EXPECT_EQ(ok.zero.stage, 2);
  EXPECT_EQ(ok.zero.offload_param_device, "cpu");  // the flag fills what the file leaves out
}

TEST(TrainSettings, ContradictionsNameTheFlagAndTheKey) {
  EXPECT_ERROR(error_of({{"per_device_train_batch_size", {"8"}}}, R"({"train_micro_batch_size_per_gpu": 4})"),
               "--per_device_train_batch_size 8 contradicts ds.json: train_micro_batch_size_per_gpu = 4");
  EXPECT_ERROR(error_of({{"gradient_accumulation_steps", {"2"}}}, R"({"gradient_accumulation_steps": 4})"),
               "--gradient_accumulation_steps 2 contradicts ds.json: gradient_accumulation_steps = 4");
  EXPECT_ERROR(error_of({{"zero_stage", {"2"}}}, R"({"zero_optimization": {"stage": 3}})"),
               "--zero_stage 2 contradicts ds.json: zero_optimization.stage = 3");
  EXPECT_ERROR(error_of({{"offload", {"1"}}}, R"({"zero_optimization": {"offload_optimizer": {"device": "none"}}})"),
               "--offload contradicts ds.json: zero_optimization.offload_optimizer.device = \"none\"");
  EXPECT_ERROR(error_of({{"offload", {"0"}}}, R"({"zero_optimization": {"offload_param": {"device": "cpu"}}})"),
               "--offload=false contradicts ds.json: zero_optimization.offload_param.device = \"cpu\"");
  EXPECT_ERROR(error_of({{"learning_rate", {"1e-4"}}}, R"({"optimizer": {"type": "AdamW", "params": {"lr": 2e-5}}})"),
               "--learning_rate 0.0001 contradicts ds.json: optimizer.params.lr = 2e-05");
  EXPECT_ERROR(error_of({{"weight_decay", {"0.1"}}}, R"({"optimizer": {"type": "Adam", "params": {"weight_decay": 0}}})"),
               "--weight_decay 0.1 contradicts ds.json: optimizer.params.weight_decay = 0");
  EXPECT_ERROR(error_of({{"dtype", {"bf16"}}}, R"({"fp16": {"enabled": true}})"),
               "--dtype bf16 contradicts ds.json: fp16.enabled = true");
  EXPECT_ERROR(error_of({{"dtype", {"fp16"}}}, R"({"fp16": {"enabled": false}})"),
               "--dtype fp16 contradicts ds.json: fp16.enabled = false");
  EXPECT_ERROR(error_of({{"lr_scheduler_type", {"linear"}}}, R"({"scheduler": {"type": "WarmupLR"}})"),
               "--lr_scheduler_type linear contradicts ds.json: scheduler.type = \"WarmupLR\"");
  EXPECT_ERROR(error_of({{"num_warmup_steps", {"5"}}}, R"({"scheduler": {"type": "WarmupLR", "params": {"warmup_num_steps": 10}}})"),
               "--num_warmup_steps 5 contradicts ds.json: scheduler.params.warmup_num_steps = 10");
  EXPECT_ERROR(error_of({{"enable_tensorboard", {"1"}}}, R"({"tensorboard": {"enabled": false}})"),
               "--enable_tensorboard true contradicts ds.json: tensorboard.enabled = false");
  EXPECT_ERROR(error_of({{"tensorboard_path", {"/a"}}}, R"({"tensorboard": {"output_path": "/b"}})"),
               "--tensorboard_path /a contradicts ds.json: tensorboard.output_path = \"/b\"");
  // ... with a hint on how to resolve it.
  EXPECT_ERROR(error_of({{"zero_stage", {"2"}}}, R"({"zero_optimization": {"stage": 3}})"), "drop the flag or the key");
  // Not contradictions: the DeepSpeed-Chat spelling of the same tensorboard directory.
  TrainSettings t = resolve({{"tensorboard_path", {"/a"}}}, R"({"tensorboard": {"output_path": "/a/ds_tensorboard_logs/"}})");
  EXPECT_EQ(t.tensorboard_dir, "/a/ds_tensorboard_logs/DeepSpeedJobName");
}

TEST(TrainSettings, DtypeAndLossScaler) {
  EXPECT_EQ(resolve({}, R"({"fp16": {"enabled": false}})").dtype, DType::f32);  // flag default fp16 disabled by the file
  EXPECT_EQ(resolve({}, R"({"bf16": {"enabled": true}})").dtype, DType::bf16);
  EXPECT_EQ(resolve({}, R"({"bfloat16": {"enabled": true}})").dtype, DType::bf16);
  EXPECT_EQ(resolve({{"dtype", {"bf16"}}}, R"({"fp16": {"enabled": false}})").dtype, DType::bf16);
  EXPECT_EQ(resolve({{"dtype", {"bf16"}}}, R"({"fp16": {"enabled": "auto"}, "bf16": {"enabled": "auto"}})").dtype, DType::bf16);
  EXPECT_EQ(resolve({}, R"({"fp16": {"enabled": "auto"}, "bf16": {"enabled": "auto"}})").dtype, DType::f16);
  EXPECT_EQ(resolve({}, R"({"fp16": {"enabled": false}, "bf16": {"enabled": false}})").dtype, DType::f32);
  // fp16 section without scaler keys: ZeRO's no-keys defaults.
  TrainSettings z = resolve({}, R"({"fp16": {"enabled": true}})");
  EXPECT_EQ(z.loss_scaler.initial_scale, 4294967296.0);
  EXPECT_EQ(z.loss_scaler.hysteresis, 1);
  // fp16 from the flag with a file that has no fp16 section: DeepSpeed-Chat's section (window 100).
  TrainSettings f = resolve({}, R"({"train_batch_size": 16})");
  EXPECT_EQ(f.dtype, DType::f16);
  EXPECT_EQ(f.loss_scaler.scale_window, 100);
  EXPECT_EQ(f.loss_scaler.initial_scale, 65536.0);
  TrainSettings st = resolve({}, R"({"fp16": {"enabled": true, "loss_scale": 1024}})");
  EXPECT_EQ(st.loss_scaler.loss_scale, 1024.0);
}

TEST(TrainSettings, OptimizerAndScheduler) {
  TrainSettings a = resolve({}, R"({"optimizer": {"type": "Adam", "params": {"adam_w_mode": false, "betas": [0.8, 0.9],
                                                                            "eps": 1e-6}}})");
  EXPECT_EQ(a.optimizer.type, "Adam");
  EXPECT_FALSE(a.optimizer.decoupled_weight_decay);
  EXPECT_EQ(a.optimizer.beta1, 0.8);
  EXPECT_EQ(a.optimizer.beta2, 0.9);
  EXPECT_EQ(a.optimizer.eps, 1e-6);
  EXPECT_EQ(a.optimizer.learning_rate, 1e-3);  // absent in the file: the flag (default)
  EXPECT_TRUE(resolve({}, R"({"optimizer": {"type": "Adam"}})").optimizer.decoupled_weight_decay);  // adam_w_mode default
  // Scheduler params absent: DeepSpeed's defaults, unless the flag was given.
  TrainSettings w = resolve({}, R"({"scheduler": {"type": "WarmupLR"}})");
  const DsScheduler& d = *w.schedule.ds_scheduler;
  EXPECT_EQ(d.warmup_num_steps.value, 1000);
  EXPECT_EQ(d.warmup_min_lr.value, 0.0);
  EXPECT_EQ(d.warmup_max_lr.value, 0.001);
  EXPECT_EQ(d.warmup_type, "log");
  TrainSettings g = resolve({{"num_warmup_steps", {"3"}}, {"learning_rate", {"5e-5"}}}, R"({"scheduler": {"type": "WarmupLR"}})");
  EXPECT_EQ(g.schedule.ds_scheduler->warmup_num_steps.value, 3);
  EXPECT_EQ(g.schedule.ds_scheduler->warmup_max_lr.value, 5e-5);
  TrainSettings c = resolve({}, R"({"scheduler": {"type": "WarmupCosineLR", "params": {"total_num_steps": 100}}})");
  EXPECT_EQ(c.schedule.ds_scheduler->total_num_steps.value, 100);
  EXPECT_EQ(c.schedule.ds_scheduler->cos_min_ratio, 0.0001);
  EXPECT_EQ(c.schedule.ds_scheduler->warmup_min_ratio, 0.0);
  EXPECT_FALSE(c.schedule.ds_scheduler->warmup_max_lr.value.has_value());
  // Without a ds scheduler the flags' HF schedule stays.
  TrainSettings h = resolve({{"lr_scheduler_type", {"linear"}}, {"num_warmup_steps", {"4"}}}, R"({})");
  EXPECT_EQ(h.schedule.lr_scheduler_type, LrScheduleType::linear);
  EXPECT_EQ(h.schedule.num_warmup_steps, 4);
}

TEST(TrainSettings, LoadsTheFlagsFileWarningsAndJsonEcho) {
  auto dir = std::filesystem::path(ZT_BINARY_DIR) / "config_settings_test";
  std::filesystem::create_directories(dir);
  auto path = (dir / "ds_config.json").string();
  std::ofstream(path) << R"({"train_batch_size": 32, "train_micro_batch_size_per_gpu": 4, "zero_optimization":
                             {"stage": 1, "stage3_foo": 1}, "fp16": {"enabled": true, "loss_scale_window": 50}})";
  TrainSettings s = resolve_train_settings(flags({{"deepspeed_config", {path}}}), 2);
  EXPECT_EQ(s.ds_config_source, path);
  EXPECT_EQ(s.gradient_accumulation_steps, 4);
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_EQ(s.warnings[0], path + ": unknown key zero_optimization.stage3_foo (ignored)");
  Json j = train_settings_json(s);
  EXPECT_EQ(j["ds_config"], path);
  EXPECT_EQ(j["world_size"], 2);
  EXPECT_EQ(j["train_batch_size"], 32);
  EXPECT_EQ(j["train_micro_batch_size_per_gpu"], 4);
  EXPECT_EQ(j["gradient_accumulation_steps"], 4);
  EXPECT_EQ(j["dtype"], "fp16");
  EXPECT_EQ(j["fp16_loss_scaler"]["loss_scale_window"], 50);
  EXPECT_EQ(j["fp16_loss_scaler"]["initial_scale"], 65536.0);
  EXPECT_EQ(j["zero_optimization"]["stage"], 1);
  EXPECT_EQ(j["optimizer"]["betas"], Json::array({0.9, 0.95}));
  EXPECT_EQ(j["scheduler"]["type"], "cosine");
  EXPECT_EQ(j["tensorboard"]["enabled"], false);
  EXPECT_EQ(j["gradient_clipping"], 0.0);
  // Static scale and a DeepSpeed scheduler render too.
  Json k = train_settings_json(resolve({}, R"({"fp16": {"enabled": true, "loss_scale": 8},
      "scheduler": {"type": "WarmupDecayLR", "params": {"total_num_steps": "auto"}}})"));
  EXPECT_EQ(k["fp16_loss_scaler"]["static_loss_scale"], 8.0);
  EXPECT_EQ(k["scheduler"]["type"], "WarmupDecayLR");
  EXPECT_EQ(k["scheduler"]["params"]["total_num_steps"], -1);
  EXPECT_FALSE(train_settings_json(resolve({{"dtype", {"bf16"}}}, "{}")).contains("fp16_loss_scaler"));
  // A missing --deepspeed_config file is an error naming it.
  try {
    resolve_train_settings(flags({{"deepspeed_config", {(dir / "nope.json").string()}}}), 1);
    ADD_FAILURE() << "no error for a missing file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nope.json"), std::string::npos) << e.what();
  }
}
