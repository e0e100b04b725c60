// Tests of `zerotune train`'s flags: every spec flag with its name and default, --help data, the issue's real
// command line through cli::Args, and every validation error naming its flag.
#include <gtest/gtest.h>

#include <set>

#include "core/error.hpp"
#include "train/train_config.hpp"

// src/cli is linked into the zerotune binary only; the flag parser is compiled in here so that
// train_config_from_args() can be tested on real argv lists.
#include "cli/args.cpp"

using namespace zt;
using namespace zt::train;

namespace {

TrainConfig from(FlagValues v) {
  if (!v.count("model_name_or_path")) v["model_name_or_path"] = {"/models/tiny"};
  return train_config_from_values(v);
}

// The error's text (what + hint) or "" when none was thrown.
std::string error_of(FlagValues v) {
  try {
    from(std::move(v));
  } catch (const Error& e) {
    return e.describe();
  }
  return "";
}

TrainConfig parse_argv(const std::vector<std::string>& argv) {
  cli::Args a("train", "test", train_flags());
  EXPECT_TRUE(a.parse(argv));
  return train_config_from_args(a);
}

}  // namespace

TEST(TrainFlags, EveryFlagOfTheSpecTableWithItsDefault) {
  // name -> default text, straight from the spec's table (empty = none / switch off).
  const std::map<std::string, std::string> spec = {
      {"data_path", "Dahoas/rm-static"}, {"data_split", "2,4,4"}, {"sft_only_data_path", ""},
      {"data_output_path", "/tmp/data_files/"}, {"model_name_or_path", ""}, {"per_device_train_batch_size", "16"},
      {"per_device_eval_batch_size", "16"}, {"max_seq_len", "512"}, {"learning_rate", "1e-3"}, {"weight_decay", "0.0"},
      {"num_train_epochs", "1"}, {"gradient_accumulation_steps", "1"}, {"lr_scheduler_type", "cosine"},
      {"num_warmup_steps", "0"}, {"output_dir", ""}, {"seed", "1234"}, {"local_rank", "-1"},
      {"gradient_checkpointing", ""}, {"dropout", ""}, {"offload", ""}, {"dtype", "fp16"}, {"zero_stage", "0"},
      {"lora_dim", "0"}, {"lora_module_name", "decoder.layers."}, {"only_optimize_lora", ""},
      {"lora_learning_rate", "5e-4"}, {"compute_fp32_loss", ""}, {"enable_tensorboard", ""},
      {"tensorboard_path", "step1_tensorboard"}, {"add_eot_token", ""}, {"eot_token", "<|endoftext|>"},
      {"print_loss", ""}, {"deepspeed", ""}, {"deepspeed_config", ""}};
  const std::set<std::string> extras = {"assistant_only_loss", "metrics_file", "save_steps", "save_each_epoch", "save_total_limit",
                                        "resume"};
  std::set<std::string> seen;
  for (const cli::Flag& f : train_flags()) {
    EXPECT_TRUE(seen.insert(f.name).second) << "duplicate flag " << f.name;
    EXPECT_FALSE(f.help.empty()) << f.name;
    if (extras.count(f.name)) {
      EXPECT_EQ(f.help.rfind("[zerotune extra]", 0), 0u) << f.name << " must be marked as an extra";
      continue;
    }
    ASSERT_TRUE(spec.count(f.name)) << "flag not in the spec: " << f.name;
    EXPECT_EQ(f.default_value, spec.at(f.name)) << f.name;
    EXPECT_EQ(f.required, f.name == "model_name_or_path") << f.name;
  }
  for (auto& [name, _] : spec) EXPECT_TRUE(seen.count(name)) << "missing flag " << name;
  for (auto& name : extras) EXPECT_TRUE(seen.count(name)) << "missing extra " << name;
}

TEST(TrainFlags, KindsAndChoices) {
  std::map<std::string, cli::Flag> by;
  for (auto& f : train_flags()) by[f.name] = f;
  EXPECT_EQ(by["data_path"].kind, cli::FlagKind::list);
  EXPECT_EQ(by["sft_only_data_path"].kind, cli::FlagKind::list);
  EXPECT_EQ(by["lr_scheduler_type"].choices,
            (std::vector<std::string>{"linear", "cosine", "cosine_with_restarts", "polynomial", "constant",
                                      "constant_with_warmup"}));
  EXPECT_EQ(by["dtype"].choices, (std::vector<std::string>{"fp16", "bf16"}));
  for (const char* sw : {"gradient_checkpointing", "offload", "only_optimize_lora", "compute_fp32_loss",
                         "enable_tensorboard", "add_eot_token", "print_loss", "deepspeed"})
    EXPECT_EQ(by[sw].kind, cli::FlagKind::boolean) << sw;
  for (const char* n : {"learning_rate", "weight_decay", "dropout", "lora_learning_rate"})
    EXPECT_EQ(by[n].kind, cli::FlagKind::number) << n;
  cli::Args a("train", "summary", train_flags());
  std::string u = a.usage();
  EXPECT_NE(u.find("--lr_scheduler_type"), std::string::npos);
  EXPECT_NE(u.find("{linear,cosine,cosine_with_restarts,polynomial,constant,constant_with_warmup}"), std::string::npos);
  EXPECT_NE(u.find("--model_name_or_path STR"), std::string::npos);
}

TEST(TrainFlags, DefaultsAreTheSpecs) {
  TrainConfig c = from({});
  EXPECT_EQ(c.data_path, std::vector<std::string>{"Dahoas/rm-static"});
  EXPECT_EQ(c.data_split, "2,4,4");
  EXPECT_EQ(c.data_split_parts, (std::array<double, 3>{2, 4, 4}));
  EXPECT_TRUE(c.sft_only_data_path.empty());
  EXPECT_EQ(c.data_output_path, "/tmp/data_files/");
  EXPECT_EQ(c.per_device_train_batch_size, 16);
  EXPECT_EQ(c.per_device_eval_batch_size, 16);
  EXPECT_EQ(c.max_seq_len, 512);
  EXPECT_DOUBLE_EQ(c.learning_rate, 1e-3);
  EXPECT_DOUBLE_EQ(c.weight_decay, 0.0);
  EXPECT_EQ(c.num_train_epochs, 1);
  EXPECT_EQ(c.gradient_accumulation_steps, 1);
  EXPECT_EQ(c.lr_scheduler_type, LrScheduleType::cosine);
  EXPECT_EQ(c.num_warmup_steps, 0);
  EXPECT_FALSE(c.output_dir.has_value());
  EXPECT_EQ(c.seed, 1234);
  EXPECT_EQ(c.local_rank, -1);
  EXPECT_FALSE(c.gradient_checkpointing);
  EXPECT_FALSE(c.dropout.has_value());
  EXPECT_FALSE(c.offload);
  EXPECT_EQ(c.dtype, DType::f16);
  EXPECT_EQ(c.zero_stage, 0);
  EXPECT_EQ(c.lora_dim, 0);
  EXPECT_EQ(c.lora_module_name, "decoder.layers.");
  EXPECT_FALSE(c.only_optimize_lora);
  EXPECT_DOUBLE_EQ(c.lora_learning_rate, 5e-4);
  EXPECT_FALSE(c.compute_fp32_loss);
  EXPECT_FALSE(c.enable_tensorboard);
  EXPECT_EQ(c.tensorboard_path, "step1_tensorboard");
  EXPECT_FALSE(c.add_eot_token);
  EXPECT_EQ(c.eot_token, "<|endoftext|>");
  EXPECT_FALSE(c.print_loss);
  EXPECT_FALSE(c.deepspeed);
  EXPECT_FALSE(c.deepspeed_config.has_value());
  EXPECT_FALSE(c.assistant_only_loss);
  EXPECT_FALSE(c.metrics_file.has_value());
  EXPECT_EQ(c.given, std::set<std::string>{"model_name_or_path"});
}

TEST(TrainFlags, TheIssuesCommandLine) {
  TrainConfig c = parse_argv(
      {"--data_path", "Dahoas/rm-static", "--data_split", "2,4,4", "--model_name_or_path", "/m/Llama-3-8B-Instruct",
       "--per_device_train_batch_size", "4", "--max_seq_len", "512", "--learning_rate", "1e-4", "--weight_decay", "0.1",
       "--num_train_epochs", "2", "--gradient_accumulation_steps", "1", "--lr_scheduler_type", "cosine",
       "--num_warmup_steps", "0", "--seed", "1234", "--gradient_checkpointing", "--zero_stage", "3", "--lora_dim", "128",
       "--lora_module_name", "model.layers.", "--deepspeed", "--output_dir", "/out", "--local_rank=-1"});
  EXPECT_EQ(c.model_name_or_path, "/m/Llama-3-8B-Instruct");
  EXPECT_EQ(c.per_device_train_batch_size, 4);
  EXPECT_DOUBLE_EQ(c.learning_rate, 1e-4);
  EXPECT_DOUBLE_EQ(c.weight_decay, 0.1);
  EXPECT_EQ(c.num_train_epochs, 2);
  EXPECT_TRUE(c.gradient_checkpointing);
  EXPECT_EQ(c.zero_stage, 3);
  EXPECT_EQ(c.lora_dim, 128);
  EXPECT_EQ(c.lora_module_name, "model.layers.");
  EXPECT_TRUE(c.deepspeed);
  EXPECT_EQ(c.output_dir, std::optional<std::string>("/out"));
  EXPECT_EQ(c.local_rank, -1);
  EXPECT_TRUE(c.was_given("zero_stage"));
  EXPECT_TRUE(c.was_given("local_rank"));
  EXPECT_FALSE(c.was_given("per_device_eval_batch_size"));
}

TEST(TrainFlags, ListsSwitchesAndOptionals) {
  TrainConfig c = parse_argv({"--model_name_or_path", "m", "--data_path", "a", "/data/b", "c.jsonl", "--sft_only_data_path",
                              "s.parquet", "--dtype", "bf16", "--dropout", "0.1", "--offload", "--enable_tensorboard",
                              "--tensorboard_path", "tb", "--add_eot_token", "--eot_token", "<|eot_id|>", "--print_loss",
                              "--compute_fp32_loss", "--lora_dim", "8", "--only_optimize_lora", "--lr_scheduler_type",
                              "constant_with_warmup", "--deepspeed_config", "ds.json", "--local_rank", "3",
                              "--assistant_only_loss", "--metrics_file", "m.jsonl", "--data_split", "10,0,0"});
  EXPECT_EQ(c.data_path, (std::vector<std::string>{"a", "/data/b", "c.jsonl"}));
  EXPECT_EQ(c.sft_only_data_path, std::vector<std::string>{"s.parquet"});
  EXPECT_EQ(c.dtype, DType::bf16);
  EXPECT_EQ(c.dropout, std::optional<double>(0.1));
  EXPECT_TRUE(c.offload && c.enable_tensorboard && c.add_eot_token && c.print_loss && c.compute_fp32_loss);
  EXPECT_TRUE(c.only_optimize_lora && c.assistant_only_loss);
  EXPECT_EQ(c.tensorboard_path, "tb");
  EXPECT_EQ(c.eot_token, "<|eot_id|>");
  EXPECT_EQ(c.lr_scheduler_type, LrScheduleType::constant_with_warmup);
  EXPECT_EQ(c.deepspeed_config, std::optional<std::string>("ds.json"));
  EXPECT_EQ(c.metrics_file, std::optional<std::string>("m.jsonl"));
  EXPECT_EQ(c.local_rank, 3);
  EXPECT_EQ(c.data_split_parts, (std::array<double, 3>{10, 0, 0}));
  // A switch given as =false counts as given (it can contradict a ds_config) but is off.
  TrainConfig d = parse_argv({"--model_name_or_path", "m", "--offload=false"});
  EXPECT_FALSE(d.offload);
  EXPECT_TRUE(d.was_given("offload"));
}

TEST(TrainFlags, ParserLevelErrors) {
  cli::Args a("train", "t", train_flags());
  EXPECT_THROW(a.parse({"--dtype", "fp32", "--model_name_or_path", "m"}), Error);  // not a choice
  cli::Args b("train", "t", train_flags());
  EXPECT_THROW(b.parse({"--lr_scheduler_type", "cosine_annealing", "--model_name_or_path", "m"}), Error);
  cli::Args c("train", "t", train_flags());
  EXPECT_THROW(c.parse({"--per_device_train_batch_size", "4"}), Error);  // --model_name_or_path is required
  cli::Args d("train", "t", train_flags());
  EXPECT_THROW(d.parse({"--model_name_or_path", "m", "--save_every", "10"}), Error);  // not a flag
  cli::Args e("train", "t", train_flags());
  EXPECT_THROW(e.parse({"--model_name_or_path", "m", "--save_steps", "ten"}), Error);  // not an integer
}

TEST(TrainFlags, DataSplit) {
  EXPECT_EQ(parse_data_split("2,4,4"), (std::array<double, 3>{2, 4, 4}));
  EXPECT_EQ(parse_data_split("1.5,0,0.5"), (std::array<double, 3>{1.5, 0, 0.5}));
  for (const char* bad : {"2,4", "2,4,4,1", "", "2,,4", "a,4,4", "2,4,4x", "inf,1,1", "nan,1,1"})
    try {
      parse_data_split(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--data_split"), std::string::npos) << e.what();
      EXPECT_NE(e.hint().find("three comma-separated"), std::string::npos);
    }
  EXPECT_NE(error_of({{"data_split", {"-1,4,4"}}}).find("--data_split part 1 of '-1,4,4' is negative"), std::string::npos);
  EXPECT_NE(error_of({{"data_split", {"2,-4,4"}}}).find("part 2"), std::string::npos);
  EXPECT_NE(error_of({{"data_split", {"0,5,5"}}}).find("gives phase 1 nothing"), std::string::npos);
}

TEST(TrainFlags, EveryValidationErrorNamesItsFlag) {
  const std::vector<std::pair<FlagValues, std::string>> cases = {
      {{{"data_path", {}}}, "--data_path needs at least one dataset"},
      {{{"data_path", {""}}}, "--data_path has an empty entry"},
      {{{"sft_only_data_path", {"a", ""}}}, "--sft_only_data_path has an empty entry"},
      {{{"data_output_path", {""}}}, "--data_output_path must not be empty"},
      {{{"model_name_or_path", {""}}}, "--model_name_or_path is required"},
      {{{"per_device_train_batch_size", {"0"}}}, "--per_device_train_batch_size must be > 0, got 0"},
      {{{"per_device_eval_batch_size", {"-2"}}}, "--per_device_eval_batch_size must be > 0, got -2"},
      {{{"max_seq_len", {"1"}}}, "--max_seq_len must be >= 2, got 1"},
      {{{"learning_rate", {"-1e-4"}}}, "--learning_rate must be >= 0"},
      {{{"learning_rate", {"inf"}}}, "--learning_rate must be a finite number, got 'inf'"},
      {{{"learning_rate", {"fast"}}}, "--learning_rate must be a finite number, got 'fast'"},
      {{{"weight_decay", {"-0.1"}}}, "--weight_decay must be >= 0"},
      {{{"num_train_epochs", {"-1"}}}, "--num_train_epochs must be >= 0, got -1"},
      {{{"num_train_epochs", {"1.5"}}}, "--num_train_epochs must be an integer, got '1.5'"},
      {{{"gradient_accumulation_steps", {"0"}}}, "--gradient_accumulation_steps must be > 0, got 0"},
      {{{"lr_scheduler_type", {"cosine_annealing"}}}, "--lr_scheduler_type"},
      {{{"num_warmup_steps", {"-5"}}}, "--num_warmup_steps must be >= 0, got -5"},
      {{{"output_dir", {""}}}, "--output_dir must not be empty"},
      {{{"seed", {"-1"}}}, "--seed must be in 0..4294967295, got -1"},
      {{{"seed", {"4294967296"}}}, "--seed must be in 0..4294967295"},
      {{{"local_rank", {"-2"}}}, "--local_rank must be >= -1, got -2"},
      {{{"dropout", {"1"}}}, "--dropout must be in [0, 1), got 1"},
      {{{"dropout", {"-0.1"}}}, "--dropout must be in [0, 1)"},
      {{{"dtype", {"fp32"}}}, "--dtype must be fp16 or bf16, got 'fp32'"},
      {{{"zero_stage", {"4"}}}, "--zero_stage must be 0, 1, 2 or 3, got 4"},
      {{{"lora_dim", {"-1"}}}, "--lora_dim must be >= 0, got -1"},
      {{{"lora_dim", {"8"}}, {"lora_module_name", {""}}}, "--lora_module_name must not be empty when --lora_dim > 0"},
      {{{"only_optimize_lora", {"1"}}}, "--only_optimize_lora needs --lora_dim > 0"},
      {{{"lora_learning_rate", {"-1"}}}, "--lora_learning_rate must be >= 0"},
      {{{"enable_tensorboard", {"1"}}, {"tensorboard_path", {""}}}, "--tensorboard_path must not be empty"},
      {{{"add_eot_token", {"1"}}, {"eot_token", {""}}}, "--eot_token must not be empty"},
      {{{"deepspeed_config", {""}}}, "--deepspeed_config must not be empty"},
      {{{"metrics_file", {""}}}, "--metrics_file must not be empty"},
      {{{"print_loss", {"maybe"}}}, "--print_loss is a switch; got 'maybe'"},
      {{{"save_steps", {"-1"}}}, "--save_steps must be >= 0, got -1"},
      {{{"save_steps", {"5"}}}, "--save_steps needs --output_dir"},
      {{{"save_each_epoch", {"1"}}}, "--save_each_epoch needs --output_dir"},
      {{{"save_total_limit", {"-2"}}}, "--save_total_limit must be >= 0, got -2"},
      {{{"resume", {"auto"}}}, "--resume auto needs --output_dir"},
      {{{"max_seq_len", {}}}, "--max_seq_len needs a value"},
  };
  for (auto& [values, expected] : cases) {
    std::string err = error_of(values);
    EXPECT_NE(err.find(expected), std::string::npos) << "expected '" << expected << "', got '" << err << "'";
  }
  EXPECT_THROW(train_config_from_values({{"model_name_or_path", {"m"}}, {"no_such_flag", {"1"}}}), Error);
}

TEST(TrainFlags, ConfigJsonHasEveryFlag) {
  TrainConfig c = from({{"output_dir", {"/o"}}, {"dropout", {"0.25"}}});
  Json j = train_config_json(c);
  for (auto& f : train_flags()) EXPECT_TRUE(j.contains(f.name)) << f.name;
  EXPECT_EQ(j.size(), train_flags().size());
  EXPECT_EQ(j["output_dir"], "/o");
  EXPECT_EQ(j["dropout"], 0.25);
  EXPECT_TRUE(j["deepspeed_config"].is_null());
  EXPECT_EQ(j["dtype"], "fp16");
  EXPECT_EQ(j["lr_scheduler_type"], "cosine");
  EXPECT_EQ(j["data_path"], Json::array({"Dahoas/rm-static"}));
}

TEST(TrainFlags, LocalRankFromTheEnvironmentWins) {
  TrainConfig c = from({{"local_rank", {"2"}}});
  unsetenv("LOCAL_RANK");
  EXPECT_EQ(effective_local_rank(c), 2);
  EXPECT_EQ(effective_local_rank(from({})), -1);
  setenv("LOCAL_RANK", "5", 1);
  EXPECT_EQ(effective_local_rank(c), 5);
  setenv("LOCAL_RANK", "five", 1);
  EXPECT_THROW(effective_local_rank(c), Error);
  setenv("LOCAL_RANK", "-1", 1);
  EXPECT_THROW(effective_local_rank(c), Error);
  unsetenv("LOCAL_RANK");
}
