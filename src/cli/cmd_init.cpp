// `zerotune init`: a randomly initialised hub-format model from a config.json (for tests, demos, benches).
#include <cstdio>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "core/log.hpp"
#include "io/model_io.hpp"
#include "model/resident.hpp"

namespace zt::cli {

int cmd_init(const std::vector<std::string>& argv) {
  Args a("init", "Writes a randomly initialised Hugging Face-format model (config.json + safetensors) from a config.json,\n"
                 "initialised as transformers does: normal(0, initializer_range) weights, ones for norms, zero biases.",
         {{"config", FlagKind::string, "", "a Hugging Face config.json (or a directory holding one)", true},
          {"out", FlagKind::string, "", "output directory (created)", true},
          {"seed", FlagKind::integer, "1234", "random seed"},
          {"dtype", FlagKind::string, "", "dtype of the written weights (default: the config's dtype, else fp32)", false,
           {"fp32", "bf16", "fp16"}}});
  if (!a.parse(argv)) return 0;
  model::ModelConfig cfg = model::load_model_config(a.str("config"));
  DType out_t = DType::f32;
  if (a.given("dtype")) out_t = parse_dtype(a.str("dtype"));
  else if (cfg.torch_dtype == "bfloat16") out_t = DType::bf16;
  else if (cfg.torch_dtype == "float16") out_t = DType::f16;
  model::ResidentModel m(cfg, model::LoraSpec{}, DType::f32);
  log::info("init: " + std::string(model::arch_name(cfg.arch)) + ", " + std::to_string(m.layout().total_numel()) +
            " parameters, seed " + std::to_string(a.integer("seed")));
  m.init_random(uint64_t(a.integer("seed")));
  save_pretrained(m, a.str("out"), out_t);
  log::info("init: wrote " + a.str("out"));
  return 0;
}

}  // namespace zt::cli
