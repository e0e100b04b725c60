// Resident (unsharded) parameter storage and the full forward/backward over all units.
#include "model/resident.hpp"

#include <cmath>
#include <random>

#include "core/error.hpp"
#include "ops/elementwise.hpp"

namespace zt::model {

DType grad_dtype(DType compute) { return compute == DType::f64 ? DType::f64 : DType::f32; }

ResidentModel::ResidentModel(ModelConfig cfg, LoraSpec lora, DType dtype, Device dev)
    : model_(std::move(cfg), std::move(lora), dtype, dev) {
  // Zeroed flat buffers (ops::zero: a memset on the CPU, cudaMemsetAsync on a GPU).
  auto zeros = [&](int64_t n, DType dt) {
    if (!n) return Tensor();
    Tensor t = Tensor::empty({n}, dt, dev);
    ops::zero(t);
    return t;
  };
  for (auto& u : layout().units) {
    Tensor fr = zeros(u.frozen_numel, dtype);
    Tensor tr = zeros(u.trainable_numel, dtype);
    Tensor gf = zeros(u.trainable_numel, grad_dtype(dtype));
    frozen_.push_back(fr);
    trainable_.push_back(tr);
    grad_flat_.push_back(gf);
    params_.push_back(bind_params(u, fr, tr));
    grads_.push_back(u.trainable_numel ? bind_grads(u, gf) : UnitParams{});
    // Gradients are produced in the compute dtype and accumulated into fp32; with an fp32 (or f64) model
    // they are written straight into the gradient buffer. The CUDA kernels accumulate parameter gradients
    // into f32 directly under 16-bit activations, so a GPU model needs no compute-dtype scratch either.
    if (grad_dtype(dtype) == dtype || !u.trainable_numel || dev.is_cuda()) {
      grad_compute_.push_back(Tensor());
      grads_compute_.push_back(UnitParams{});
    } else {
      Tensor gc = zeros(u.trainable_numel, dtype);
      grad_compute_.push_back(gc);
      grads_compute_.push_back(bind_grads(u, gc));
    }
  }
}

Tensor ResidentModel::param(const std::string& name) const {
  auto [u, p] = layout().find(name);
  check(p != nullptr, "the model has no parameter '" + name + "'");
  return params_[u].get(name);
}

Tensor ResidentModel::grad(const std::string& name) const {
  auto [u, p] = layout().find(name);
  check(p != nullptr, "the model has no parameter '" + name + "'");
  check(p->trainable, "parameter '" + name + "' is frozen and has no gradient");
  return grads_[u].get(name);
}

void ResidentModel::zero_grad() {
  for (auto& g : grad_flat_)
    if (g.defined()) ops::zero(g);
}

static void fill_param(Tensor t, const ParamInfo& p, double std, float lora_bound, std::mt19937_64& rng,
                       std::optional<int64_t> padding_idx) {
  if (p.init == Init::zeros) {  // draws nothing: a memset on the tensor's device (no host buffer for 8B-sized LoRA)
    ops::zero(t);
    return;
  }
  Tensor host = Tensor::empty(t.shape(), DType::f64);
  double* h = host.data<double>();
  const int64_t n = host.numel();
  switch (p.init) {
    case Init::ones: for (int64_t i = 0; i < n; ++i) h[i] = 1.0; break;
    case Init::zeros: for (int64_t i = 0; i < n; ++i) h[i] = 0.0; break;
    case Init::normal:
    case Init::embedding: {
      std::normal_distribution<double> nd(0.0, std);
      for (int64_t i = 0; i < n; ++i) h[i] = nd(rng);
      if (p.init == Init::embedding && padding_idx && *padding_idx >= 0 && *padding_idx < p.shape[0])
        for (int64_t j = 0; j < p.shape[1]; ++j) h[*padding_idx * p.shape[1] + j] = 0.0;
      break;
    }
    case Init::lora_right: {
      std::uniform_real_distribution<double> ud(-lora_bound, lora_bound);
      for (int64_t i = 0; i < n; ++i) h[i] = ud(rng);
      break;
    }
  }
  ops::copy(t, host);
}

void init_unit_random(const ModelConfig& cfg, const LoraSpec& lora, const UnitLayout& u, const UnitParams& params,
                      std::mt19937_64& rng) {
  const float bound = lora.enabled() ? 1.0f / std::sqrt(float(lora.dim)) : 0.0f;
  for (auto& p : u.params) fill_param(params.get(p.name), p, cfg.initializer_range, bound, rng, cfg.pad_token_id);
}

void init_unit_lora(const LoraSpec& lora, const UnitLayout& u, const UnitParams& params, std::mt19937_64& rng) {
  if (!lora.enabled()) return;
  const float bound = 1.0f / std::sqrt(float(lora.dim));
  for (auto& p : u.params)
    if (p.init == Init::lora_right || p.name.ends_with(".lora_left_weight")) fill_param(params.get(p.name), p, 0.0, bound, rng, std::nullopt);
}

void ResidentModel::init_random(uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t u = 0; u < layout().units.size(); ++u) init_unit_random(config(), model_.lora(), layout().units[u], params_[u], rng);
}

void ResidentModel::init_lora(uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t u = 0; u < layout().units.size(); ++u) init_unit_lora(model_.lora(), layout().units[u], params_[u], rng);
}

double ResidentModel::run(const PackedBatch& batch, const RunOptions& opt, bool backward, float grad_scale,
                          Tensor* logits_out) {
  MicroStep s;
  model_.begin(s, batch, opt);
  if (grad_scale != 0.0f) s.grad_scale = grad_scale;
  const int n = model_.num_units();
  const bool tied = config().tie_word_embeddings;
  for (int u = 0; u < n; ++u) model_.forward(s, u, params_[u], tied && u == n - 1 ? &params_[0] : nullptr);
  if (logits_out) {
    *logits_out = Tensor::empty(s.logits.shape(), s.logits.dtype(), s.logits.device());
    ops::copy(*logits_out, s.logits);
  }
  if (!backward) return s.loss();
  const bool via_compute = grad_dtype(dtype()) != dtype() && !model_.device().is_cuda();
  for (auto& g : grad_compute_)
    if (g.defined()) ops::zero(g);
  for (int u = n - 1; u >= 0; --u) {
    const UnitParams& g = via_compute ? grads_compute_[u] : grads_[u];
    const UnitParams& g0 = via_compute ? grads_compute_[0] : grads_[0];
    model_.backward(s, u, params_[u], g, tied && u == n - 1 ? &params_[0] : nullptr, tied && u == n - 1 ? &g0 : nullptr);
  }
  if (via_compute)
    for (size_t u = 0; u < grad_flat_.size(); ++u)
      if (grad_flat_[u].defined()) {
        Tensor tmp = Tensor::empty(grad_flat_[u].shape(), grad_flat_[u].dtype(), grad_flat_[u].device());
        ops::copy(tmp, grad_compute_[u]);
        ops::add_(grad_flat_[u], tmp);
      }
  return s.loss();
}

}  // namespace zt::model
