// HF directory <-> ResidentModel.
#include "io/model_io.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "ops/elementwise.hpp"
#include "ops/linear.hpp"

namespace zt {

using namespace model;

static bool is_lora_name(const std::string& n) { return n.ends_with(".lora_right_weight") || n.ends_with(".lora_left_weight"); }

void check_checkpoint_covers(const HfCheckpoint& ckpt, const ModelLayout& layout, const ModelConfig& cfg) {
  std::string missing;
  int n_missing = 0;
  for (auto& u : layout.units)
    for (auto& p : u.params) {
      if (!ckpt.contains(p.name)) {
        if (!is_lora_name(p.name) && n_missing++ < 8) missing += "\n  " + p.name;
        continue;
      }
      const SafetensorsEntry& e = ckpt.info(p.name);
      check(e.shape == p.shape, ckpt.dir() + ": tensor '" + p.name + "' has shape " + shape_str(e.shape) +
                                    ", the model's config.json implies " + shape_str(p.shape),
            "the weights do not belong to this config.json");
    }
  if (n_missing)
    fail(ckpt.dir() + ": " + std::to_string(n_missing) + " parameter(s) of the model are not in the checkpoint:" + missing +
             (n_missing > 8 ? "\n  ..." : ""),
         "is this the right model directory for its config.json?");
  std::string unused;
  int n_unused = 0;
  for (auto& name : ckpt.names()) {
    if (layout.find(name).second) continue;
    // tied models may still carry lm_head.weight; rotary buffers are recomputed.
    if (name == "lm_head.weight" && cfg.tie_word_embeddings) continue;
    if (name.ends_with("rotary_emb.inv_freq")) continue;
    if (n_unused++ < 8) unused += " " + name;
  }
  if (n_unused)
    log::warn(ckpt.dir() + ": " + std::to_string(n_unused) + " tensor(s) in the checkpoint are not used by this model:" + unused +
              (n_unused > 8 ? " ..." : ""));
}

size_t load_unit_parameters(const HfCheckpoint& ckpt, const UnitLayout& u, const UnitParams& dst) {
  size_t loaded = 0;
  for (auto& p : u.params) {
    if (!ckpt.contains(p.name)) continue;
    const SafetensorsEntry& e = ckpt.info(p.name);
    check(e.shape == p.shape, ckpt.dir() + ": tensor '" + p.name + "' has shape " + shape_str(e.shape) +
                                  ", the model's config.json implies " + shape_str(p.shape),
          "the weights do not belong to this config.json");
    Tensor d = dst.get(p.name);
    ops::copy(d, ckpt.load(p.name, d.dtype()));
    ++loaded;
  }
  return loaded;
}

size_t load_parameters(ResidentModel& m, const HfCheckpoint& ckpt, bool require_all_base) {
  if (require_all_base) check_checkpoint_covers(ckpt, m.layout(), m.config());
  size_t loaded = 0;
  for (size_t u = 0; u < m.layout().units.size(); ++u) loaded += load_unit_parameters(ckpt, m.layout().units[u], m.unit_params(int(u)));
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

const char* torch_dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::bf16: return "bfloat16";
    case DType::f16: return "float16";
    default: fail(std::string("cannot save a model in ") + dtype_name(t), "use fp32, bf16 or fp16");
  }
}

void save_pretrained(const ModelConfig& mcfg, const ModelLayout& layout, const LoraSpec& lora,
                     const std::function<Tensor(const std::string&)>& param, const std::string& dir, DType dtype,
                     uint64_t max_shard_bytes) {
  const char* tname = torch_dtype_name(dtype);
  const float scaling = lora.enabled() ? lora.scaling() : 0.0f;
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& u : layout.units)
    for (auto& p : u.params) {
      if (is_lora_name(p.name)) continue;
      Tensor w = Tensor::empty(p.shape, DType::f32);
      ops::copy(w, param(p.name));
      std::string mod = p.name.substr(0, p.name.size() - 7);  // strip ".weight"
      if (p.name.ends_with(".weight") && layout.find(mod + ".lora_right_weight").second) {
        // W (out, in) += scaling * left^T (out, r) @ right^T (r, in)
        Tensor r = param(mod + ".lora_right_weight"), l = param(mod + ".lora_left_weight");
        Tensor right = Tensor::empty(r.shape(), DType::f32);
        Tensor left = Tensor::empty(l.shape(), DType::f32);
        ops::copy(right, r);
        ops::copy(left, l);
        ops::gemm(w, left, true, right, true, scaling, 1.0f);
      }
      Tensor o = Tensor::empty(p.shape, dtype);
      ops::copy(o, w);
      out.emplace_back(p.name, o);
    }
  Json cfg = mcfg.raw;
  cfg["dtype"] = tname;        // transformers >= 5
  cfg["torch_dtype"] = tname;  // transformers 4.x
  save_hf_checkpoint(dir, out, cfg, max_shard_bytes);
}

void save_pretrained(const ResidentModel& m, const std::string& dir, DType dtype, uint64_t max_shard_bytes) {
  save_pretrained(m.config(), m.layout(), m.model().lora(), [&](const std::string& n) { return m.param(n); }, dir, dtype,
                  max_shard_bytes);
}

}  // namespace zt
