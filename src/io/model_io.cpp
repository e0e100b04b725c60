// HF directory <-> ResidentModel.
#include "io/model_io.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "ops/elementwise.hpp"
#include "ops/linear.hpp"

namespace zt {

using namespace model;

size_t load_parameters(ResidentModel& m, const HfCheckpoint& ckpt, bool require_all_base) {
  size_t loaded = 0;
  std::string missing;
  int n_missing = 0;
  for (auto& u : m.layout().units)
    for (auto& p : u.params) {
      bool is_lora = p.name.ends_with(".lora_right_weight") || p.name.ends_with(".lora_left_weight");
      if (!ckpt.contains(p.name)) {
        if (!is_lora && require_all_base) {
          if (n_missing++ < 8) missing += "\n  " + p.name;
        }
        continue;
      }
      const SafetensorsEntry& e = ckpt.info(p.name);
      check(e.shape == p.shape, ckpt.dir() + ": tensor '" + p.name + "' has shape " + shape_str(e.shape) +
                                    ", the model's config.json implies " + shape_str(p.shape),
            "the weights do not belong to this config.json");
      Tensor dst = m.param(p.name);
      ops::copy(dst, ckpt.load(p.name, dst.dtype()));
      ++loaded;
    }
  if (n_missing)
    fail(ckpt.dir() + ": " + std::to_string(n_missing) + " parameter(s) of the model are not in the checkpoint:" + missing +
             (n_missing > 8 ? "\n  ..." : ""),
         "is this the right model directory for its config.json?");
  std::string unused;
  int n_unused = 0;
  for (auto& name : ckpt.names()) {
    if (m.layout().find(name).second) continue;
    // tied models may still carry lm_head.weight; rotary buffers are recomputed.
    if (name == "lm_head.weight" && m.config().tie_word_embeddings) continue;
    if (name.ends_with("rotary_emb.inv_freq")) continue;
    if (n_unused++ < 8) unused += " " + name;
  }
  if (n_unused)
    log::warn(ckpt.dir() + ": " + std::to_string(n_unused) + " tensor(s) in the checkpoint are not used by this model:" + unused +
              (n_unused > 8 ? " ..." : ""));
  return loaded;
}

std::unique_ptr<ResidentModel> load_pretrained(const std::string& dir, const LoraSpec& lora, DType dtype, uint64_t lora_seed,
                                               Device dev) {
  HfCheckpoint ckpt = HfCheckpoint::open(dir);
  ModelConfig cfg = parse_model_config(ckpt.config(), ckpt.dir() + "/config.json");
  auto m = std::make_unique<ResidentModel>(cfg, lora, dtype, dev);
  m->init_lora(lora_seed);
  load_parameters(*m, ckpt, true);
  return m;
}

static const char* torch_dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::bf16: return "bfloat16";
    case DType::f16: return "float16";
    default: fail(std::string("cannot save a model in ") + dtype_name(t), "use fp32, bf16 or fp16");
  }
}

void save_pretrained(const ResidentModel& m, const std::string& dir, DType dtype, uint64_t max_shard_bytes) {
  const char* tname = torch_dtype_name(dtype);
  const float scaling = m.model().lora().enabled() ? m.model().lora().scaling() : 0.0f;
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& u : m.layout().units)
    for (auto& p : u.params) {
      if (p.name.ends_with(".lora_right_weight") || p.name.ends_with(".lora_left_weight")) continue;
      Tensor w = Tensor::empty(p.shape, DType::f32);
      ops::copy(w, m.param(p.name));
      std::string mod = p.name.substr(0, p.name.size() - 7);  // strip ".weight"
      if (p.name.ends_with(".weight") && m.layout().find(mod + ".lora_right_weight").second) {
        // W (out, in) += scaling * left^T (out, r) @ right^T (r, in)
        Tensor right = Tensor::empty(m.param(mod + ".lora_right_weight").shape(), DType::f32);
        Tensor left = Tensor::empty(m.param(mod + ".lora_left_weight").shape(), DType::f32);
        ops::copy(right, m.param(mod + ".lora_right_weight"));
        ops::copy(left, m.param(mod + ".lora_left_weight"));
        ops::gemm(w, left, true, right, true, scaling, 1.0f);
      }
      Tensor o = Tensor::empty(p.shape, dtype);
      ops::copy(o, w);
      out.emplace_back(p.name, o);
    }
  Json cfg = m.config().raw;
  cfg["dtype"] = tname;        // transformers >= 5
  cfg["torch_dtype"] = tname;  // transformers 4.x
  save_hf_checkpoint(dir, out, cfg, max_shard_bytes);
}

}  // namespace zt
