// PEFT LoRA adapter directories out of (and back into) DeepSpeed-Chat-style LoRA parameters: the transposes, the names,
// adapter_config.json with lora_alpha 1 and target_modules derived from the layout.
#include "io/peft_adapter.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/mmap.hpp"
#include "io/safetensors.hpp"
#include "ops/elementwise.hpp"

namespace zt {

namespace fs = std::filesystem;

namespace {

constexpr const char* kRight = ".lora_right_weight";
constexpr const char* kLeft = ".lora_left_weight";
constexpr const char* kPrefix = "base_model.model.";

bool is_lora(const std::string& n) { return n.ends_with(kRight) || n.ends_with(kLeft); }

// (a, b) in any dtype/device -> (b, a) fp32 on the CPU.
Tensor transposed(const Tensor& src) {
  check(src.shape().size() == 2, "internal: transposing " + src.str());
  Tensor s = Tensor::empty(src.shape(), DType::f32);
  ops::copy(s, src);
  const int64_t a = s.size(0), b = s.size(1);
  Tensor t = Tensor::empty({b, a}, DType::f32);
  const float* x = s.data<float>();
  float* y = t.data<float>();
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j) y[j * a + i] = x[i * b + j];
  return t;
}

std::string last_component(const std::string& module) {
  const size_t dot = module.rfind('.');
  return dot == std::string::npos ? module : module.substr(dot + 1);
}

// peft matches a target_modules list entry t against a module name k by k == t or k ending in "." + t.
Json target_modules(const model::ModelLayout& layout) {
  std::set<std::string> lora(layout.lora_modules.begin(), layout.lora_modules.end()), suffixes;
  for (const auto& m : layout.lora_modules) suffixes.insert(last_component(m));
  bool exact = true;
  for (const auto& u : layout.units)
    for (const auto& p : u.params) {
      if (!p.name.ends_with(".weight") || is_lora(p.name)) continue;
      const std::string mod = p.name.substr(0, p.name.size() - 7);
      if (suffixes.count(last_component(mod)) && !lora.count(mod)) exact = false;
    }
  Json j = Json::array();
  for (const auto& s : exact ? suffixes : lora) j.push_back(s);
  return j;
}

}  // namespace

std::vector<std::string> non_lora_trainable(const model::ModelLayout& layout) {
  std::vector<std::string> r;
  for (const auto& u : layout.units)
    for (const auto& p : u.params)
      if (p.trainable && !is_lora(p.name)) r.push_back(p.name);
  return r;
}

void save_peft_adapter(const model::ModelLayout& layout, const model::LoraSpec& lora,
                       const std::function<Tensor(const std::string&)>& param, const std::string& dir, DType dtype,
                       const std::string& base_model_name_or_path) {
  check(lora.enabled() && !layout.lora_modules.empty(), "a PEFT adapter needs LoRA, and this model has none",
        "train with --lora_dim > 0, or export the full model (zerotune export --merge_lora)");
  const auto others = non_lora_trainable(layout);
  if (!others.empty()) {
    std::string list;
    for (size_t i = 0; i < others.size() && i < 5; ++i) list += "\n  " + others[i];
    if (others.size() > 5) list += "\n  ... (" + std::to_string(others.size() - 5) + " more)";
    fail("a PEFT adapter would lose " + std::to_string(others.size()) + " trained parameters that are not LoRA matrices:" + list,
         "export the merged model instead (zerotune export --merge_lora), or train with --only_optimize_lora for an adapter");
  }
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& mod : layout.lora_modules) {
    Tensor a = transposed(param(mod + kRight)), b = transposed(param(mod + kLeft));  // (r, in), (out, r)
    Tensor ao = Tensor::empty(a.shape(), dtype), bo = Tensor::empty(b.shape(), dtype);
    ops::copy(ao, a);
    ops::copy(bo, b);
    tensors.emplace_back(kPrefix + mod + ".lora_A.weight", ao);
    tensors.emplace_back(kPrefix + mod + ".lora_B.weight", bo);
  }
  std::sort(tensors.begin(), tensors.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::error_code ec;
  fs::create_directories(dir, ec);
  check(!ec && fs::is_directory(dir), "cannot create adapter directory " + dir + ": " + ec.message(), "check the path and permissions");
  save_safetensors((fs::path(dir) / "adapter_model.safetensors").string(), tensors, {{"format", "pt"}});
  Json cfg = {{"peft_type", "LORA"},
              {"task_type", "CAUSAL_LM"},
              {"base_model_name_or_path", base_model_name_or_path},
              {"revision", nullptr},
              {"inference_mode", true},
              {"r", lora.dim},
              {"lora_alpha", 1},  // peft scales by alpha / r; DeepSpeed-Chat by 1 / r
              {"lora_dropout", lora.dropout},
              {"target_modules", target_modules(layout)},
              {"fan_in_fan_out", false},
              {"bias", "none"},
              {"modules_to_save", nullptr},
              {"init_lora_weights", true},
              {"layers_to_transform", nullptr},
              {"layers_pattern", nullptr},
              {"rank_pattern", Json::object()},
              {"alpha_pattern", Json::object()},
              {"use_rslora", false},
              {"use_dora", false}};
  write_file_atomic((fs::path(dir) / "adapter_config.json").string(), cfg.dump(2) + "\n");
}

std::unordered_map<std::string, Tensor> load_peft_adapter(const std::string& dir, const model::ModelLayout& layout,
                                                          const model::LoraSpec& lora) {
  const std::string cpath = (fs::path(dir) / "adapter_config.json").string();
  const Json cfg = load_json_file(cpath);
  check(json_opt_string(cfg, "peft_type", cpath).value_or("") == "LORA", cpath + ": not a LoRA adapter (peft_type)");
  const int64_t r = json_int(cfg, "r", cpath);
  const double alpha = json_number(cfg, "lora_alpha", cpath);
  check(r == lora.dim, cpath + ": r is " + std::to_string(r) + ", the model's LoRA rank " + std::to_string(lora.dim),
        "load it with --lora_dim " + std::to_string(r));
  check(alpha == 1.0 && !json_opt_bool(cfg, "use_rslora", false, cpath),
        cpath + ": lora_alpha must be 1 (without rsLoRA) for DeepSpeed-Chat's 1/r scaling", "scale the lora_B matrices by alpha instead");
  SafetensorsFile f = SafetensorsFile::open((fs::path(dir) / "adapter_model.safetensors").string());
  std::unordered_map<std::string, Tensor> out;
  for (const auto& mod : layout.lora_modules) {
    const std::string a = kPrefix + mod + ".lora_A.weight", b = kPrefix + mod + ".lora_B.weight";
    check(f.contains(a) && f.contains(b), f.source() + ": no LoRA matrices for " + mod, "the adapter targets other modules");
    out.emplace(mod + kRight, transposed(f.load(a, DType::f32)));
    out.emplace(mod + kLeft, transposed(f.load(b, DType::f32)));
  }
  return out;
}

}  // namespace zt
