// The ZeRO engine: where each unit's parameters, gradients and fp32 master weights live across the ranks of a
// Comm (stages 0-3), and the forward/backward of one micro-batch with the gathers and reductions each stage needs.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dist/comm.hpp"
#include "model/llama.hpp"

namespace zt::dist {

struct ZeroOptions {
  int stage = 0;             // 0: all-reduce gradients; 1: + optimizer state partitioned; 2: + gradients; 3: + parameters
  bool overlap_comm = true;  // CUDA: prefetch the next unit's gather and reduce on the Comm's stream
  bool offload = false;      // GPU: fp32 masters (and the optimizer's m, v) in pinned host memory, AdamW on the CPU
};

// Per-rank bytes of each state class (what ZeRO partitions), for the start-up report and the tests.
struct ZeroMemory {
  int64_t frozen_param_bytes = 0;     // compute dtype, kept permanently (a shard at stage 3)
  int64_t trainable_param_bytes = 0;  // compute dtype, kept permanently (a shard at stage 3)
  int64_t grad_bytes = 0;             // fp32 gradients kept between micro-steps (a shard at stages 2-3)
  int64_t master_bytes = 0;           // fp32 master weights (a shard at stages 1-3); AdamW's m and v are 2x this
  int64_t workspace_bytes = 0;        // gather and reduce buffers (stage 3 gathers, stage 2-3 reduce scratch)
  bool offloaded = false;             // masters, m, v (and a gradient copy) live in pinned host memory
  std::string str() const;
};

class ZeroEngine {
 public:
  // One optimizer-owned slice of a trainable parameter on this rank: fp32 master values and fp32 gradients (views).
  struct Segment {
    std::string name;  // HF parameter name
    int64_t offset = 0;  // first element of the parameter this segment covers
    Tensor master, grad;
  };

  ZeroEngine(model::ModelConfig cfg, model::LoraSpec lora, DType dtype, Device dev, Comm& comm, ZeroOptions opt);
  ZeroEngine(const ZeroEngine&) = delete;
  ZeroEngine& operator=(const ZeroEngine&) = delete;

  const model::CausalLM& model() const { return model_; }
  const model::ModelLayout& layout() const { return model_.layout(); }
  const model::ModelConfig& config() const { return model_.config(); }
  DType dtype() const { return model_.dtype(); }
  Device device() const { return model_.device(); }
  Comm& comm() const { return comm_; }
  int stage() const { return opt_.stage; }
  ZeroMemory memory() const;

  // Sets every parameter. For each unit in order, `fill(u, views)` writes the whole unit into zeroed views on the
  // engine's device in the compute dtype (every rank must write the same values), complete or ordered before later
  // work of this thread on the device when it returns (ops::copy, CheckpointLoader::load_unit); the engine keeps what
  // this rank stores and sets the fp32 masters from it on the device. No host copy of the model is made.
  void load(const std::function<void(int, const model::UnitParams&)>& fill);
  // Collective: for each unit in order, `sink(u, views)` receives the whole unit (CPU, compute dtype) on every rank.
  void gather(const std::function<void(int, const model::UnitParams&)>& sink);

  // Forward (and backward) of one micro-batch on this rank; gradients accumulate (times grad_scale; 0 = 1/targets),
  // averaged over ranks (stage 2-3: reduce-scattered into this rank's shard as each unit's backward ends). Returns the
  // micro-batch's mean loss on this rank.
  double run(const model::PackedBatch& batch, const model::RunOptions& opt, bool backward, float grad_scale = 0.0f);

  // At the end of a gradient-accumulation window, in this order:
  void reduce_gradients();              // stages 0-1: all-reduce (average) the replicated gradients
  bool overflow();                      // any inf/NaN in any rank's gradients (max-reduced)
  double grad_norm();                   // global L2 norm of the averaged gradients over all ranks
  void scale_gradients(double s);       // this rank's gradients *= s
  std::vector<Tensor> owned_grads() const;  // this rank's fp32 gradients the optimizer reads (one per unit)
  const std::vector<Segment>& segments() const { return segments_; }  // what this rank's optimizer updates
  void stage_gradients();               // --offload: copy the (clipped) gradients to the host segments' buffers
  void publish();                       // masters -> compute-dtype parameters (gathered where replicated)
  void zero_grad();

 private:
  struct UnitState {
    int64_t frozen_n = 0, trainable_n = 0;     // layout numels
    int64_t frozen_shard = 0, trainable_shard = 0;  // per-rank shard sizes (padded numel / world)
    Tensor frozen, trainable;  // compute dtype: full padded (stages 0-2) or this rank's shard (stage 3)
    Tensor grad;               // fp32: full padded (stages 0-1) or this rank's shard (stages 2-3)
    Tensor master;             // fp32 owned range (aliases `trainable` for fp32 models; pinned host memory with offload)
    Tensor host_grad;          // offload: pinned host copy of the owned gradients the CPU optimizer reads
    model::UnitParams params, grads;  // resident views (stages 0-2 params; stages 0-1 grads)
  };
  struct Slot {  // a stage-3 gather buffer (full unit) or a stage-2/3 gradient scratch
    Tensor frozen, trainable, grad;
    int unit = -1;
    uint64_t version = 0;  // gather slots: params_version_ when the unit's trainable part was gathered
  };

  int64_t owned_begin(const UnitState& s) const;  // first element (in the padded unit) of this rank's owned range
  int64_t owned_numel(const UnitState& s) const;
  Tensor owned_grad(const UnitState& s) const;
  Tensor alloc(int64_t n, DType dt) const;
  const model::UnitParams& params_for(int u);     // stage 3: gathered views (waits for the gather)
  void gather_unit(int u, Slot& slot, bool frozen = true);  // stage 3: all_gather unit u's shards into slot
  void prefetch(int u);
  void forget_gathers();  // the slots' contents are no longer the parameters (load, gather for export)

  model::CausalLM model_;
  Comm& comm_;
  ZeroOptions opt_;
  int world_ = 1, rank_ = 0;
  bool mixed_ = false;
  std::vector<UnitState> units_;
  std::vector<Segment> segments_;
  // stage 3 gather slots (ping-pong; the tied head keeps the embedding in its own slot) and their bound views
  std::vector<Slot> gather_slots_;
  Slot tied_slot_;
  std::vector<std::vector<model::UnitParams>> slot_views_;  // [slot][unit]
  int next_gather_slot_ = 0;
  uint64_t gather_ticket_[2] = {0, 0};  // compute must wait for it before using the slot (0: it already did)
  uint64_t params_version_ = 1;  // bumped when trainable shards change (publish, load); frozen ones change only in load
  std::vector<int> gathered_in_;  // unit -> slot index holding it (-1: none, -2: tied slot)
  // stage 2-3 gradient scratch (ping-pong; unit 0 of a tied model has its own) and reduce-scatter outputs
  std::vector<Slot> grad_slots_;
  Slot tied_grad_slot_;
  std::vector<Tensor> rs_out_;
  int next_grad_slot_ = 0, next_rs_ = 0;
  std::vector<model::UnitParams> grad_views_;  // stage 2-3: [slot * units + unit] views over the scratch (slot 2: tied)
};

}  // namespace zt::dist
