// `zerotune export`: a checkpoint (the shards of any number of ranks and ZeRO stage) as a Hugging Face model directory
// with LoRA merged, or as a PEFT adapter directory, in the training dtype or --dtype.
#include <filesystem>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "io/model_io.hpp"
#include "io/peft_adapter.hpp"
#include "model/config.hpp"
#include "train/checkpoint.hpp"

namespace zt::cli {

namespace fs = std::filesystem;

namespace {
DType dtype_of_flag(const std::string& s, const std::string& where) {
  if (s == "fp32") return DType::f32;
  if (s == "bf16") return DType::bf16;
  if (s == "fp16") return DType::f16;
  fail(where + " is '" + s + "', expected fp32, bf16 or fp16");
}
}  // namespace

int cmd_export(const std::vector<std::string>& argv) {
  Args a("export",
         "Writes a checkpoint (<output_dir>/checkpoints/step_<N>, a checkpoints directory or an output dir: its latest) as a\n"
         "Hugging Face model directory with LoRA merged (default), or with --peft as a PEFT adapter directory\n"
         "(adapter_config.json + adapter_model.safetensors) that peft.PeftModel.from_pretrained loads on the base model.",
         {{"checkpoint", FlagKind::string, "", "the checkpoint to export", true, {}},
          {"out", FlagKind::string, "", "the directory to write", true, {}},
          {"merge_lora", FlagKind::boolean, "", "a full model with the LoRA matrices merged into the base weights (the default)", false, {}},
          {"peft", FlagKind::boolean, "", "a PEFT LoRA adapter (only when LoRA alone was trained: --only_optimize_lora)", false, {}},
          {"dtype", FlagKind::string, "", "weights in fp32, bf16 or fp16 (default: the dtype the run computed in)", false, {"fp32", "bf16", "fp16"}},
          {"model_name_or_path", FlagKind::string, "",
           "the base model directory (default: the one the run trained, from the checkpoint's manifest)", false, {}}});
  if (!a.parse(argv)) return 0;
  check(!(a.flag("peft") && a.flag("merge_lora")), "--peft and --merge_lora exclude each other", "pick one kind of export");
  const std::string dir = train::checkpoint_dir_of(a.str("checkpoint"));
  train::CheckpointManifest m = train::read_checkpoint_manifest(dir);
  train::verify_checkpoint(m);
  const std::string base = a.given("model_name_or_path") ? a.str("model_name_or_path") : m.model_name_or_path;
  check(!base.empty() && fs::is_directory(base), "the base model directory '" + base + "' of checkpoint " + dir + " is not a directory",
        "pass --model_name_or_path with the model the run fine-tuned");
  const DType dtype = a.given("dtype") ? dtype_of_flag(a.str("dtype"), "--dtype") : dtype_of_flag(m.compute_dtype, dir + " compute_dtype");
  model::ModelConfig cfg = model::load_model_config(base);
  model::LoraSpec lora = m.lora;
  const model::ModelLayout layout = model::make_layout(cfg, lora);
  train::check_layout_matches(m, layout);
  auto trained = train::consolidate_checkpoint(m);
  const std::string out = a.str("out");
  if (a.flag("peft")) {
    save_peft_adapter(layout, lora, [&](const std::string& n) { return trained.at(n); }, out, dtype, fs::absolute(base).string());
    log::info("wrote the PEFT adapter of " + dir + " (r=" + std::to_string(lora.dim) + ", " + std::to_string(layout.lora_modules.size()) +
              " modules, " + dtype_name(dtype) + ") to " + out);
    return 0;
  }
  HfCheckpoint ckpt = HfCheckpoint::open(base);
  check_checkpoint_covers(ckpt, layout, cfg);
  save_pretrained(cfg, layout, lora,
                  [&](const std::string& n) {
                    auto it = trained.find(n);
                    return it != trained.end() ? it->second : ckpt.load(n, DType::f32);
                  },
                  out, dtype);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"})
    if (fs::exists(fs::path(base) / f)) fs::copy_file(fs::path(base) / f, fs::path(out) / f, fs::copy_options::overwrite_existing);
  log::info("wrote " + dir + " as a Hugging Face model" + (lora.enabled() ? " (LoRA merged)" : "") + " in " + dtype_name(dtype) + " to " + out);
  return 0;
}

}  // namespace zt::cli
