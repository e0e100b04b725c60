// A model whose units all live on one device with their flat buffers resident: the world-size-1 layout
// used by `score`, `init`, the tests and (until the ZeRO engine) training. Owns parameters and fp32
// gradients per unit and drives CausalLM over all units for one micro-batch.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "model/llama.hpp"

namespace zt::model {

// Gradients and master weights are fp32 (f64 for the double-precision reference used by tests).
DType grad_dtype(DType compute);

// The initialisation ResidentModel::init_random / init_lora apply, one unit at a time (for owners of other
// storage, e.g. the ZeRO engine's staging): call for every unit in order with one generator to get the same values.
void init_unit_random(const ModelConfig& cfg, const LoraSpec& lora, const UnitLayout& u, const UnitParams& p, std::mt19937_64& rng);
void init_unit_lora(const LoraSpec& lora, const UnitLayout& u, const UnitParams& p, std::mt19937_64& rng);

class ResidentModel {
 public:
  ResidentModel(ModelConfig cfg, LoraSpec lora, DType dtype, Device dev = Device::CPU());
  const CausalLM& model() const { return model_; }
  const ModelLayout& layout() const { return model_.layout(); }
  const ModelConfig& config() const { return model_.config(); }
  DType dtype() const { return model_.dtype(); }

  // transformers' init: normal(0, initializer_range) for linears and embeddings (the padding_idx row zero),
  // ones for norms, zeros for biases; LoRA right U(-1/sqrt(r), 1/sqrt(r)) (kaiming-uniform a = sqrt(5)),
  // left zeros. Deterministic for a seed.
  void init_random(uint64_t seed);
  // Re-initialises only the LoRA matrices (after loading a base checkpoint).
  void init_lora(uint64_t seed);

  Tensor param(const std::string& name) const;  // view into the unit's flat buffer
  Tensor grad(const std::string& name) const;   // grad_dtype view; error for frozen params
  const UnitParams& unit_params(int u) const { return params_.at(u); }
  const UnitParams& unit_grads(int u) const { return grads_.at(u); }
  void zero_grad();

  // Forward (and backward unless `backward` is false) of one micro-batch; gradients accumulate into the
  // fp32 gradient buffers scaled by `grad_scale` (0 = 1 / number of targets). Returns the mean loss.
  // `logits_out`, when given, receives a copy of the (T, V) logits.
  double run(const PackedBatch& batch, const RunOptions& opt, bool backward, float grad_scale = 0.0f,
             Tensor* logits_out = nullptr);

 private:
  CausalLM model_;
  std::vector<Tensor> frozen_, trainable_, grad_flat_;  // per unit
  std::vector<UnitParams> params_, grads_;
  std::vector<Tensor> grad_compute_;                    // per unit gradient scratch in the compute dtype (CPU only)
  std::vector<UnitParams> grads_compute_;
};

}  // namespace zt::model
