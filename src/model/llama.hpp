// The Llama-family decoder (Llama 2/3/3.x, Mistral, Qwen2) as explicit forward and backward passes over
// units: the embedding, each decoder block, and the head (final norm + lm_head + cross-entropy).
// The model knows nothing about where its parameters live or how they are sharded: each call receives the
// unit's materialised parameter views (and gradient views to accumulate into).
#pragma once
#include <memory>
#include <unordered_map>
#include <vector>

#include "model/batch.hpp"
#include "model/config.hpp"
#include "model/layout.hpp"
#include "model/params.hpp"

namespace zt::model {

struct RunOptions {
  bool training = true;                 // enables dropout
  bool gradient_checkpointing = false;  // keep only each block's input; recompute inside backward
  uint64_t dropout_seed = 0;            // per micro-step seed for counter-based dropout masks
};

// Activations of one decoder block (everything its backward needs).
struct BlockActivations {
  Tensor x, h1, rstd1, q, k, v, att, lse, x2, h2, rstd2, gate, up, act, out;
  std::unordered_map<std::string, Tensor> lora_h;  // module name -> (T, r)
};

// One micro-batch in flight: its inputs, the hidden states between units, saved activations, the loss.
struct MicroStep {
  PackedBatch batch;
  RunOptions opt;
  std::vector<Tensor> hidden;                 // hidden[i]: input of unit i (i >= 1), (T, C)
  std::vector<std::unique_ptr<BlockActivations>> acts;  // per block, null when checkpointed
  Tensor head_hn, head_rstd, logits, token_loss, lse;  // head activations
  double loss_sum = 0.0;                      // sum of per-token losses (host, after the head's forward)
  float grad_scale = 0.0f;                    // d(objective)/d(per-token loss); default 1 / num_targets
  Tensor dhidden;                             // gradient w.r.t. the current unit's output during backward
  double loss() const { return batch.num_targets ? loss_sum / double(batch.num_targets) : 0.0; }
};

class CausalLM {
 public:
  CausalLM(ModelConfig cfg, LoraSpec lora, DType dtype, Device dev);
  const ModelConfig& config() const { return cfg_; }
  const ModelLayout& layout() const { return layout_; }
  const LoraSpec& lora() const { return lora_; }
  DType dtype() const { return dtype_; }
  Device device() const { return dev_; }
  int num_units() const { return int(layout_.units.size()); }

  // Starts a micro-step (moves the batch's ids, targets, cu_seqlens and positions to the model's device, checks
  // sequence limits and, for host ids, the vocabulary range).
  void begin(MicroStep& s, PackedBatch batch, RunOptions opt) const;
  // Forward of unit u. The head of a tied model also reads the embedding unit's params (`tied`).
  void forward(MicroStep& s, int u, const UnitParams& p, const UnitParams* tied = nullptr) const;
  // Backward of unit u: accumulates into `g` (trainable params' gradients; may be empty when frozen) and
  // moves s.dhidden to the unit's input. The head of a tied model writes lm_head's gradient into `tied_g`.
  void backward(MicroStep& s, int u, const UnitParams& p, const UnitParams& g, const UnitParams* tied = nullptr,
                const UnitParams* tied_g = nullptr) const;

 private:
  Tensor alloc(const Shape& shape) const;
  Tensor to_device(const Tensor& t) const;
  // Statistics (rstd, lse, per-token loss) are fp32, or f64 for the double-precision reference.
  DType stat_dtype() const { return dtype_ == DType::f64 ? DType::f64 : DType::f32; }
  void block_forward(MicroStep& s, int layer, const UnitParams& p, BlockActivations& a) const;
  void block_backward(MicroStep& s, int layer, const UnitParams& p, const UnitParams& g, BlockActivations& a) const;
  ops::DropoutSpec lora_dropout(const MicroStep& s, int layer, int site) const;
  void linear_fwd(Tensor y, const Tensor& x, const std::string& mod, const UnitParams& p, BlockActivations& a,
                  const ops::DropoutSpec& d) const;
  void linear_bwd(Tensor dx, bool acc_dx, const Tensor& dy, const Tensor& x, const std::string& mod, const UnitParams& p,
                  const UnitParams& g, BlockActivations& a, const ops::DropoutSpec& d) const;

  ModelConfig cfg_;
  LoraSpec lora_;
  ModelLayout layout_;
  DType dtype_;
  Device dev_;
  Tensor inv_freq_;  // rope frequencies, f32 (D/2), on the model's device
};

}  // namespace zt::model
