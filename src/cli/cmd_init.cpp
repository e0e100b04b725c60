// `zerotune init`: a randomly initialised hub-format model from a config.json or a built-in preset (for tests,
// demos, benches), streamed tensor block by tensor block into its shards by all cores; optionally with a tokenizer.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "io/random_init.hpp"
#include "model/presets.hpp"
#include "tokenizer/tokenizer.hpp"

namespace zt::cli {

namespace fs = std::filesystem;

int cmd_init(const std::vector<std::string>& argv) {
  std::string presets;
  for (const auto& n : model::preset_names()) presets += (presets.empty() ? "" : ", ") + n;
  Args a("init", "Writes a randomly initialised Hugging Face-format model (config.json + safetensors, sharded above 5 GB) from a\n"
                 "config.json or a built-in shape, initialised as transformers does: normal(0, initializer_range) weights, ones\n"
                 "for norms, zero biases. Every core generates and writes; the bytes depend on --seed only.",
         {{"config", FlagKind::string, "", "a Hugging Face config.json (or a directory holding one)"},
          {"preset", FlagKind::string, "", "a built-in shape instead of --config: " + presets, false, model::preset_names()},
          {"layers", FlagKind::integer, "", "number of decoder layers (overrides the config's num_hidden_layers)"},
          {"out", FlagKind::string, "", "output directory (created)", true},
          {"seed", FlagKind::integer, "1234", "random seed"},
          {"dtype", FlagKind::string, "", "dtype of the written weights (default: the config's dtype, else fp32)", false,
           {"fp32", "bf16", "fp16"}},
          {"tokenizer", FlagKind::string, "",
           "a directory holding tokenizer.json (and tokenizer_config.json, special_tokens_map.json) to copy into --out"},
          {"threads", FlagKind::integer, "0", "generator threads (0: all cores); the output does not depend on it"}});
  if (!a.parse(argv)) return 0;
  check(a.given("config") != a.given("preset"), "init needs exactly one of --config and --preset",
        "--config path/to/config.json, or --preset " + presets);
  const std::string source = a.given("preset") ? "preset " + a.str("preset") : a.str("config");
  model::ModelConfig cfg = a.given("preset") ? model::parse_model_config(model::preset_config(a.str("preset")), source)
                                             : model::load_model_config(a.str("config"));
  if (a.given("layers")) {
    check(a.integer("layers") > 0, "--layers must be positive");
    Json j = cfg.raw;
    j["num_hidden_layers"] = a.integer("layers");
    cfg = model::parse_model_config(j, source);
  }
  RandomInitOptions o;
  o.seed = uint64_t(a.integer("seed"));
  o.threads = int(a.integer("threads"));
  o.dtype = DType::f32;
  if (a.given("dtype")) o.dtype = parse_dtype(a.str("dtype"));
  else if (cfg.torch_dtype == "bfloat16") o.dtype = DType::bf16;
  else if (cfg.torch_dtype == "float16") o.dtype = DType::f16;

  // The tokenizer first: a mismatch fails before gigabytes are written.
  const std::string out = a.str("out");
  std::vector<fs::path> tok_files;
  if (a.given("tokenizer")) {
    const fs::path td = a.str("tokenizer");
    check(fs::is_regular_file(td / "tokenizer.json"), "--tokenizer " + td.string() + " holds no tokenizer.json",
          "pass a Hugging Face model or tokenizer directory");
    Tokenizer tok = Tokenizer::load(td.string());
    check(tok.vocab_size() <= cfg.vocab_size,
          "--tokenizer " + td.string() + " has " + std::to_string(tok.vocab_size()) + " token ids, more than the model's vocab_size " +
              std::to_string(cfg.vocab_size),
          "use the tokenizer the config was made for");
    for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
      if (fs::is_regular_file(td / f)) tok_files.push_back(td / f);
  }

  log::info("init: " + std::string(model::arch_name(cfg.arch)) + " with " + std::to_string(cfg.num_hidden_layers) + " layers, seed " +
            std::to_string(o.seed) + ", " + dtype_name(o.dtype) + " -> " + out);
  const RandomInitStats st = write_random_checkpoint(cfg, out, o);
  for (const auto& f : tok_files) fs::copy_file(f, fs::path(out) / f.filename(), fs::copy_options::overwrite_existing);
  char line[200];
  std::snprintf(line, sizeof line, "init: wrote %lld parameters (%zu tensors, %.2f GB in %zu file%s) in %.1f s (%.2f GB/s)%s",
                (long long)st.parameters, st.tensors, double(st.bytes) / 1e9, st.shards, st.shards == 1 ? "" : "s", st.seconds,
                double(st.bytes) / 1e9 / std::max(st.seconds, 1e-9), tok_files.empty() ? "" : ", tokenizer copied");
  log::info(line);
  return 0;
}

}  // namespace zt::cli
