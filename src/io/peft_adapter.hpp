// PEFT LoRA adapters: DeepSpeed-Chat's LoRA written as a directory peft.PeftModel.from_pretrained loads
// (adapter_config.json + adapter_model.safetensors with peft's names), and read back.
#pragma once
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/tensor.hpp"
#include "model/config.hpp"
#include "model/layout.hpp"

namespace zt {

// DeepSpeed-Chat computes y = x W^T + scaling * (x @ right @ left) with right (in, r), left (r, out), scaling 1/r;
// peft computes y = x W^T + (alpha / r) * B(A(x)) with A (r, in), B (out, r). So lora_A = right^T, lora_B = left^T and
// lora_alpha = 1 (DeepSpeed-Chat's 1/r is peft's alpha/r with alpha 1). Names:
// base_model.model.<module>.lora_A.weight / .lora_B.weight, e.g. base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight.
// target_modules: the module suffixes ("q_proj", ...) when they pick exactly the LoRA modules, else every module's full name.

// Trainable parameters that are not LoRA matrices (what an adapter cannot carry); empty when only LoRA trains.
std::vector<std::string> non_lora_trainable(const model::ModelLayout& layout);

// Writes <dir>/adapter_config.json and <dir>/adapter_model.safetensors (tensors in `dtype`) from the LoRA parameters
// fetched by name (any dtype/device). Fails when LoRA is off or when other parameters trained too (the adapter would
// silently lose them), naming them and pointing at the merged export.
void save_peft_adapter(const model::ModelLayout& layout, const model::LoraSpec& lora,
                       const std::function<Tensor(const std::string&)>& param, const std::string& dir, DType dtype,
                       const std::string& base_model_name_or_path);

// Reads an adapter directory written by save_peft_adapter (or peft for the same modules) back into zerotune's LoRA
// parameters by name (fp32: "<module>.lora_right_weight" (in, r), "<module>.lora_left_weight" (r, out)); checks r,
// lora_alpha (must make alpha/r = 1/r) and that every LoRA module of `layout` is present.
std::unordered_map<std::string, Tensor> load_peft_adapter(const std::string& dir, const model::ModelLayout& layout,
                                                          const model::LoraSpec& lora);

}  // namespace zt
