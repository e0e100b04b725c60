// Forward and backward of the Llama-family units over pad-free micro-batches.
#include "model/llama.hpp"

#include <cmath>

#include "core/error.hpp"
#include "ops/activation.hpp"
#include "ops/elementwise.hpp"
#include "ops/attention.hpp"
#include "ops/elementwise.hpp"
#include "ops/embedding.hpp"
#include "ops/linear.hpp"
#include "ops/loss.hpp"
#include "ops/rmsnorm.hpp"
#include "ops/rope.hpp"

namespace zt::model {

namespace {
// Distinct, reproducible dropout streams per (micro-step seed, layer, site).
uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t z = a ^ (b + 0x9E3779B97F4A7C15ull + (a << 6) + (a >> 2));
  z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdull;
  return z ^ (z >> 33);
}
}  // namespace

CausalLM::CausalLM(ModelConfig cfg, LoraSpec lora, DType dtype, Device dev)
    : cfg_(std::move(cfg)), lora_(std::move(lora)), dtype_(dtype), dev_(dev) {
  layout_ = make_layout(cfg_, lora_);
  inv_freq_ = to_device(ops::rope_inv_freq(cfg_.rope));
}

// A copy of `t` on the model's device (t itself when it is already there).
Tensor CausalLM::to_device(const Tensor& t) const {
  if (!t.defined() || t.device() == dev_) return t;
  Tensor d = Tensor::empty(t.shape(), t.dtype(), dev_);
  ops::copy(d, t);
  return d;
}

Tensor CausalLM::alloc(const Shape& shape) const { return Tensor::empty(shape, dtype_, dev_); }

void CausalLM::begin(MicroStep& s, PackedBatch batch, RunOptions opt) const {
  for (int b = 0; b < batch.seq.num_seqs(); ++b) {
    int64_t n = batch.seq.cu_host[b + 1] - batch.seq.cu_host[b];
    if (cfg_.sliding_window)
      check(n <= *cfg_.sliding_window,
            "sequence " + std::to_string(b) + " has " + std::to_string(n) + " tokens, more than this model's sliding_window (" +
                std::to_string(*cfg_.sliding_window) + ")",
            "zerotune does not implement sliding-window attention; use --max_seq_len <= sliding_window");
  }
  // Ids already on a GPU are validated by the embedding kernel's dispatcher.
  const int32_t* ids = batch.ids.device().is_cpu() ? batch.ids.data<int32_t>() : nullptr;
  for (int64_t t = 0; ids && t < batch.num_tokens(); ++t)
    check(ids[t] >= 0 && ids[t] < cfg_.vocab_size,
          "token id " + std::to_string(ids[t]) + " at position " + std::to_string(t) + " is outside the vocabulary (" +
              std::to_string(cfg_.vocab_size) + ")",
          "the tokenizer and the model's config.json disagree on the vocabulary");
  batch.ids = to_device(batch.ids);
  batch.targets = to_device(batch.targets);
  batch.seq.cu_seqlens = to_device(batch.seq.cu_seqlens);
  batch.seq.positions = to_device(batch.seq.positions);
  s.batch = std::move(batch);
  s.opt = opt;
  s.hidden.assign(layout_.units.size(), Tensor());
  s.acts.clear();
  s.acts.resize(cfg_.num_hidden_layers);
  s.loss_sum = 0.0;
  s.grad_scale = s.batch.num_targets ? 1.0f / float(s.batch.num_targets) : 0.0f;
  s.dhidden = Tensor();
}

ops::DropoutSpec CausalLM::lora_dropout(const MicroStep& s, int layer, int site) const {
  if (!s.opt.training || lora_.dropout <= 0) return {};
  return {float(lora_.dropout), mix(mix(s.opt.dropout_seed, 1000 + layer), site), 0};
}

// y = x W^T + b, plus LoRA when the module has it.
void CausalLM::linear_fwd(Tensor y, const Tensor& x, const std::string& mod, const UnitParams& p, BlockActivations& a,
                          const ops::DropoutSpec& d) const {
  ops::linear_forward(y, x, p.get(mod + ".weight"), p.opt(mod + ".bias"));
  Tensor right = p.opt(mod + ".lora_right_weight");
  if (!right.defined()) return;
  Tensor h = alloc({x.size(0), int64_t(lora_.dim)});
  ops::lora_forward(y, h, x, right, p.get(mod + ".lora_left_weight"), lora_.scaling(), d);
  a.lora_h[mod] = h;
}

// dx (= or +=) and the parameter gradients of a (LoRA) linear. Frozen weights get no gradient.
void CausalLM::linear_bwd(Tensor dx, bool acc_dx, const Tensor& dy, const Tensor& x, const std::string& mod,
                          const UnitParams& p, const UnitParams& g, BlockActivations& a, const ops::DropoutSpec& d) const {
  ops::linear_backward(dx, g.opt(mod + ".weight"), g.opt(mod + ".bias"), dy, x, p.get(mod + ".weight"), acc_dx);
  Tensor right = p.opt(mod + ".lora_right_weight");
  if (!right.defined()) return;
  Tensor dh = alloc({x.size(0), int64_t(lora_.dim)});
  ops::lora_backward(dx, g.opt(mod + ".lora_right_weight"), g.opt(mod + ".lora_left_weight"), dh, dy, x, a.lora_h.at(mod),
                     right, p.get(mod + ".lora_left_weight"), lora_.scaling(), d);
}

void CausalLM::block_forward(MicroStep& s, int layer, const UnitParams& p, BlockActivations& a) const {
  const std::string pre = "model.layers." + std::to_string(layer) + ".";
  const int64_t T = s.batch.num_tokens(), C = cfg_.hidden_size, F = cfg_.intermediate_size;
  const int64_t Hq = cfg_.num_attention_heads, Hkv = cfg_.num_key_value_heads, D = cfg_.head_dim;
  a.lora_h.clear();
  a.h1 = alloc({T, C});
  a.rstd1 = Tensor::empty({T}, stat_dtype(), dev_);
  ops::rmsnorm_forward(a.h1, a.rstd1, a.x, p.get(pre + "input_layernorm.weight"), float(cfg_.rms_norm_eps));
  a.q = alloc({T, Hq * D});
  a.k = alloc({T, Hkv * D});
  a.v = alloc({T, Hkv * D});
  linear_fwd(a.q, a.h1, pre + "self_attn.q_proj", p, a, lora_dropout(s, layer, 0));
  linear_fwd(a.k, a.h1, pre + "self_attn.k_proj", p, a, lora_dropout(s, layer, 1));
  linear_fwd(a.v, a.h1, pre + "self_attn.v_proj", p, a, lora_dropout(s, layer, 2));
  Tensor q3 = a.q.reshape({T, Hq, D}), k3 = a.k.reshape({T, Hkv, D}), v3 = a.v.reshape({T, Hkv, D});
  ops::rope_forward(q3, s.batch.seq.positions, inv_freq_);
  ops::rope_forward(k3, s.batch.seq.positions, inv_freq_);
  a.att = alloc({T, Hq * D});
  a.lse = Tensor::empty({Hq, T}, stat_dtype(), dev_);
  ops::DropoutSpec attn_drop;
  if (s.opt.training && cfg_.attention_dropout > 0) attn_drop = {float(cfg_.attention_dropout), mix(s.opt.dropout_seed, layer), 0};
  ops::attention_forward(a.att.reshape({T, Hq, D}), a.lse, q3, k3, v3, s.batch.seq, 1.0f / std::sqrt(float(D)), attn_drop);
  a.x2 = alloc({T, C});
  linear_fwd(a.x2, a.att, pre + "self_attn.o_proj", p, a, lora_dropout(s, layer, 3));
  ops::add(a.x2, a.x2, a.x);  // residual
  a.h2 = alloc({T, C});
  a.rstd2 = Tensor::empty({T}, stat_dtype(), dev_);
  ops::rmsnorm_forward(a.h2, a.rstd2, a.x2, p.get(pre + "post_attention_layernorm.weight"), float(cfg_.rms_norm_eps));
  a.gate = alloc({T, F});
  a.up = alloc({T, F});
  linear_fwd(a.gate, a.h2, pre + "mlp.gate_proj", p, a, lora_dropout(s, layer, 4));
  linear_fwd(a.up, a.h2, pre + "mlp.up_proj", p, a, lora_dropout(s, layer, 5));
  a.act = alloc({T, F});
  ops::swiglu_forward(a.act, a.gate, a.up);
  a.out = alloc({T, C});
  linear_fwd(a.out, a.act, pre + "mlp.down_proj", p, a, lora_dropout(s, layer, 6));
  ops::add(a.out, a.out, a.x2);  // residual
}

void CausalLM::forward(MicroStep& s, int u, const UnitParams& p, const UnitParams* tied) const {
  const UnitLayout& unit = layout_.units.at(u);
  const int64_t T = s.batch.num_tokens(), C = cfg_.hidden_size;
  switch (unit.kind) {
    case UnitKind::embedding: {
      s.hidden[1] = alloc({T, C});
      ops::embedding_forward(s.hidden[1], p.get("model.embed_tokens.weight"), s.batch.ids);
      return;
    }
    case UnitKind::block: {
      auto a = std::make_unique<BlockActivations>();
      a->x = s.hidden[u];
      block_forward(s, unit.layer, p, *a);
      s.hidden[u + 1] = a->out;
      a->out = Tensor();
      if (!s.opt.gradient_checkpointing) s.acts[unit.layer] = std::move(a);
      return;
    }
    case UnitKind::head: {
      const Tensor& w = cfg_.tie_word_embeddings
                            ? (check(tied != nullptr, "tied lm_head needs the embedding unit's parameters"),
                               tied->get("model.embed_tokens.weight"))
                            : p.get("lm_head.weight");
      s.head_hn = alloc({T, C});
      s.head_rstd = Tensor::empty({T}, stat_dtype(), dev_);
      ops::rmsnorm_forward(s.head_hn, s.head_rstd, s.hidden[u], p.get("model.norm.weight"), float(cfg_.rms_norm_eps));
      s.logits = alloc({T, cfg_.vocab_size});
      ops::linear_forward(s.logits, s.head_hn, w, Tensor());
      s.token_loss = Tensor::empty({T}, stat_dtype(), dev_);
      s.lse = Tensor::empty({T}, s.token_loss.dtype(), dev_);
      ops::cross_entropy_forward(s.token_loss, s.lse, s.logits, s.batch.targets);
      s.loss_sum = 0;
      Tensor losses = s.token_loss;
      if (!losses.device().is_cpu()) {  // one read-back of the per-token losses (T floats)
        losses = Tensor::empty(s.token_loss.shape(), s.token_loss.dtype());
        ops::copy(losses, s.token_loss);
      }
      if (losses.dtype() == DType::f64) {
        for (int64_t t = 0; t < T; ++t) s.loss_sum += losses.data<double>()[t];
      } else {
        for (int64_t t = 0; t < T; ++t) s.loss_sum += losses.data<float>()[t];
      }
      return;
    }
  }
}

void CausalLM::block_backward(MicroStep& s, int layer, const UnitParams& p, const UnitParams& g, BlockActivations& a) const {
  const std::string pre = "model.layers." + std::to_string(layer) + ".";
  const int64_t T = s.batch.num_tokens(), C = cfg_.hidden_size, F = cfg_.intermediate_size;
  const int64_t Hq = cfg_.num_attention_heads, Hkv = cfg_.num_key_value_heads, D = cfg_.head_dim;
  const Tensor& dout = s.dhidden;  // (T, C): gradient of the block output; also flows to x2 through the residual
  // MLP
  Tensor dact = alloc({T, F});
  linear_bwd(dact, false, dout, a.act, pre + "mlp.down_proj", p, g, a, lora_dropout(s, layer, 6));
  Tensor dgate = alloc({T, F}), dup = alloc({T, F});
  ops::swiglu_backward(dgate, dup, dact, a.gate, a.up);
  Tensor dh2 = alloc({T, C});
  linear_bwd(dh2, false, dgate, a.h2, pre + "mlp.gate_proj", p, g, a, lora_dropout(s, layer, 4));
  linear_bwd(dh2, true, dup, a.h2, pre + "mlp.up_proj", p, g, a, lora_dropout(s, layer, 5));
  Tensor dx2 = alloc({T, C});
  ops::rmsnorm_backward(dx2, g.opt(pre + "post_attention_layernorm.weight"), dh2, a.x2,
                        p.get(pre + "post_attention_layernorm.weight"), a.rstd2);
  ops::add(dx2, dx2, dout);  // residual
  // attention
  Tensor datt = alloc({T, Hq * D});
  linear_bwd(datt, false, dx2, a.att, pre + "self_attn.o_proj", p, g, a, lora_dropout(s, layer, 3));
  Tensor dq = alloc({T, Hq * D}), dk = alloc({T, Hkv * D}), dv = alloc({T, Hkv * D});
  ops::DropoutSpec attn_drop;
  if (s.opt.training && cfg_.attention_dropout > 0) attn_drop = {float(cfg_.attention_dropout), mix(s.opt.dropout_seed, layer), 0};
  ops::attention_backward(dq.reshape({T, Hq, D}), dk.reshape({T, Hkv, D}), dv.reshape({T, Hkv, D}), datt.reshape({T, Hq, D}),
                          a.q.reshape({T, Hq, D}), a.k.reshape({T, Hkv, D}), a.v.reshape({T, Hkv, D}),
                          a.att.reshape({T, Hq, D}), a.lse, s.batch.seq, 1.0f / std::sqrt(float(D)), attn_drop);
  ops::rope_backward(dq.reshape({T, Hq, D}), s.batch.seq.positions, inv_freq_);
  ops::rope_backward(dk.reshape({T, Hkv, D}), s.batch.seq.positions, inv_freq_);
  Tensor dh1 = alloc({T, C});
  linear_bwd(dh1, false, dq, a.h1, pre + "self_attn.q_proj", p, g, a, lora_dropout(s, layer, 0));
  linear_bwd(dh1, true, dk, a.h1, pre + "self_attn.k_proj", p, g, a, lora_dropout(s, layer, 1));
  linear_bwd(dh1, true, dv, a.h1, pre + "self_attn.v_proj", p, g, a, lora_dropout(s, layer, 2));
  Tensor dx = alloc({T, C});
  ops::rmsnorm_backward(dx, g.opt(pre + "input_layernorm.weight"), dh1, a.x, p.get(pre + "input_layernorm.weight"), a.rstd1);
  ops::add(dx, dx, dx2);  // residual
  s.dhidden = dx;
}

void CausalLM::backward(MicroStep& s, int u, const UnitParams& p, const UnitParams& g, const UnitParams* tied,
                        const UnitParams* tied_g) const {
  const UnitLayout& unit = layout_.units.at(u);
  const int64_t T = s.batch.num_tokens(), C = cfg_.hidden_size;
  switch (unit.kind) {
    case UnitKind::head: {
      check(s.logits.defined(), "backward of the head before its forward");
      const bool tiedw = cfg_.tie_word_embeddings;
      check(!tiedw || (tied && tied_g), "tied lm_head needs the embedding unit's parameters and gradients");
      const Tensor& w = tiedw ? tied->get("model.embed_tokens.weight") : p.get("lm_head.weight");
      Tensor dw = tiedw ? tied_g->opt("model.embed_tokens.weight") : g.opt("lm_head.weight");
      Tensor dlogits = s.logits;  // in place: logits are not needed after this
      ops::cross_entropy_backward(dlogits, s.logits, s.lse, s.batch.targets, s.grad_scale);
      Tensor dhn = alloc({T, C});
      ops::linear_backward(dhn, dw, Tensor(), dlogits, s.head_hn, w);
      Tensor dx = alloc({T, C});
      ops::rmsnorm_backward(dx, g.opt("model.norm.weight"), dhn, s.hidden[u], p.get("model.norm.weight"), s.head_rstd);
      s.dhidden = dx;
      s.logits = Tensor();
      s.head_hn = Tensor();
      return;
    }
    case UnitKind::block: {
      std::unique_ptr<BlockActivations>& a = s.acts[unit.layer];
      if (!a) {  // checkpointed: recompute this block's activations from its saved input
        a = std::make_unique<BlockActivations>();
        a->x = s.hidden[u];
        block_forward(s, unit.layer, p, *a);
      }
      block_backward(s, unit.layer, p, g, *a);
      a.reset();
      return;
    }
    case UnitKind::embedding: {
      Tensor dtable = g.opt("model.embed_tokens.weight");
      if (dtable.defined()) ops::embedding_backward(dtable, s.dhidden, s.batch.ids);
      s.dhidden = Tensor();
      return;
    }
  }
}

}  // namespace zt::model
