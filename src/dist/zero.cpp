// The ZeRO engine: shard layout per unit, stage-3 gathers with one-unit prefetch, stage-2/3 reduce-scatter of each
// unit's gradients as its backward ends, stage-0/1 all-reduce at the window end, masters and their publication.
#include "dist/zero.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.hpp"
#include "dist/scalar.hpp"
#include "ops/elementwise.hpp"

namespace zt::dist {

using model::UnitParams;

namespace {
int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }
Tensor narrow_or_none(const Tensor& t, int64_t start, int64_t n) { return t.defined() && n > 0 ? t.narrow(start, n) : Tensor(); }
std::string mib(int64_t b) {
  char s[32];
  if (b < (int64_t(1) << 20)) std::snprintf(s, sizeof s, "%.1f KiB", double(b) / 1024.0);
  else if (b < (int64_t(1) << 30)) std::snprintf(s, sizeof s, "%.1f MiB", double(b) / 1048576.0);
  else std::snprintf(s, sizeof s, "%.2f GiB", double(b) / 1073741824.0);
  return s;
}
}  // namespace

std::string ZeroMemory::str() const {
  return std::string(offloaded ? "[optimizer offloaded] " : "") + "parameters " + mib(frozen_param_bytes + trainable_param_bytes) + " (frozen " + mib(frozen_param_bytes) + ", trainable " +
         mib(trainable_param_bytes) + "), gradients " + mib(grad_bytes) + ", fp32 masters " + mib(master_bytes) +
         " (+ AdamW m, v " + mib(2 * master_bytes) + (offloaded ? ", all in pinned host memory" : "") + "), gather/reduce buffers " +
         mib(workspace_bytes);
}

Tensor ZeroEngine::alloc(int64_t n, DType dt) const {
  if (n <= 0) return Tensor();
  Tensor t = Tensor::empty({n}, dt, device());
  ops::zero(t);
  return t;
}

ZeroEngine::ZeroEngine(model::ModelConfig cfg, model::LoraSpec lora, DType dtype, Device dev, Comm& comm, ZeroOptions opt)
    : model_(std::move(cfg), std::move(lora), dtype, dev), comm_(comm), opt_(opt), world_(comm.size()), rank_(comm.rank()) {
  check(opt_.stage >= 0 && opt_.stage <= 3, "ZeRO stage " + std::to_string(opt_.stage) + " does not exist",
        "use --zero_stage 0, 1, 2 or 3");
  check(dtype == DType::f32 || dtype == DType::bf16 || dtype == DType::f16,
        std::string("the ZeRO engine keeps parameters in fp32, bf16 or fp16, not ") + dtype_name(dtype));
  check(dev.is_cuda() || dtype == DType::f32, std::string("training on the CPU computes in fp32, not ") + dtype_name(dtype),
        "use fp32 on the CPU (bf16/fp16 need a GPU)");
  mixed_ = dtype != DType::f32;
  if (opt_.offload) check(dev.is_cuda(), "--offload moves the optimizer state from GPU memory to pinned host memory; this run is on the CPU",
                          "drop --offload (on the CPU the optimizer state is in host memory already)");
  const auto& L = layout();
  const int n = int(L.units.size());
  units_.resize(size_t(n));
  int64_t max_frozen = 0, max_trainable = 0, max_shard = 0;
  // Stage 3 on several ranks: the shards live in two buffers (frozen, trainable) the Comm may register for
  // copy-engine gathers (equal offsets on every rank; each unit's shard starts on a 4 KiB boundary).
  Tensor frozen_arena, trainable_arena;
  std::vector<int64_t> frozen_at(size_t(n), 0), trainable_at(size_t(n), 0);
  if (opt_.stage == 3 && world_ > 1 && comm_.copy_engine()) {
    const int64_t align = 4096 / int64_t(dtype_size(dtype));
    int64_t frozen_total = 0, trainable_total = 0;
    for (int u = 0; u < n; ++u) {
      frozen_at[size_t(u)] = frozen_total;
      trainable_at[size_t(u)] = trainable_total;
      frozen_total += round_up(round_up(L.units[size_t(u)].frozen_numel, world_) / world_, align);
      trainable_total += round_up(round_up(L.units[size_t(u)].trainable_numel, world_) / world_, align);
    }
    frozen_arena = comm_.collective_buffer(frozen_total, dtype);
    trainable_arena = comm_.collective_buffer(trainable_total, dtype);
  }
  // A stage-3 shard: its place in the registered buffer, else memory of its own.
  auto shard = [&](const Tensor& arena, int64_t at, int64_t numel) {
    return arena.defined() ? narrow_or_none(arena, at, numel) : alloc(numel, dtype);
  };
  for (int u = 0; u < n; ++u) {
    const auto& ul = L.units[size_t(u)];
    UnitState& s = units_[size_t(u)];
    s.frozen_n = ul.frozen_numel;
    s.trainable_n = ul.trainable_numel;
    s.frozen_shard = round_up(s.frozen_n, world_) / world_;
    s.trainable_shard = round_up(s.trainable_n, world_) / world_;
    max_frozen = std::max(max_frozen, s.frozen_shard * world_);
    max_trainable = std::max(max_trainable, s.trainable_shard * world_);
    max_shard = std::max(max_shard, s.trainable_shard);
    if (opt_.stage < 3) {
      s.frozen = alloc(s.frozen_shard * world_, dtype);
      s.trainable = alloc(s.trainable_shard * world_, dtype);
      s.params = model::bind_params(ul, narrow_or_none(s.frozen, 0, s.frozen_n), narrow_or_none(s.trainable, 0, s.trainable_n));
    } else {
      s.frozen = shard(frozen_arena, frozen_at[size_t(u)], s.frozen_shard);
      s.trainable = shard(trainable_arena, trainable_at[size_t(u)], s.trainable_shard);
    }
    s.grad = alloc(opt_.stage < 2 ? s.trainable_shard * world_ : s.trainable_shard, DType::f32);
    if (opt_.stage < 2 && s.trainable_n) s.grads = model::bind_grads(ul, s.grad.narrow(0, s.trainable_n));
    const int64_t ob = owned_begin(s), on = owned_numel(s);
    if (on) {
      if (opt_.offload) {
        s.master = ops::empty_pinned({on}, DType::f32);
        s.host_grad = ops::empty_pinned({on}, DType::f32);
        ops::zero(s.master);
        ops::zero(s.host_grad);
      } else if (mixed_) {
        s.master = alloc(on, DType::f32);
      } else {
        s.master = opt_.stage == 3 ? s.trainable : s.trainable.narrow(ob, on);
      }
    }
    // The optimizer's slices: each trainable parameter's overlap with this rank's owned range.
    for (const auto& p : ul.params) {
      if (!p.trainable || !on) continue;
      const int64_t lo = std::max(p.offset, ob), hi = std::min(p.offset + p.numel(), ob + on);
      if (lo >= hi) continue;
      const Tensor& g = opt_.offload ? s.host_grad : owned_grad(s);
      segments_.push_back({p.name, lo - p.offset, s.master.narrow(lo - ob, hi - lo), g.narrow(lo - ob, hi - lo)});
    }
  }
  const bool tied = config().tie_word_embeddings;
  if (opt_.stage == 3) {
    // Gather slots registered like the shards they gather (else ordinary memory).
    auto slot_buffer = [&](const Tensor& arena, int64_t numel) {
      Tensor t = arena.defined() ? comm_.collective_buffer(numel, dtype) : Tensor();
      return t.defined() ? t : alloc(numel, dtype);
    };
    for (int i = 0; i < 2; ++i)
      gather_slots_.push_back({slot_buffer(frozen_arena, max_frozen), slot_buffer(trainable_arena, max_trainable), Tensor(), -1});
    if (tied) tied_slot_ = {alloc(units_[0].frozen_shard * world_, dtype), alloc(units_[0].trainable_shard * world_, dtype), Tensor(), 0};
    slot_views_.resize(3);
    for (int sl = 0; sl < 3; ++sl) {
      const Slot& slot = sl < 2 ? gather_slots_[size_t(sl)] : tied_slot_;
      for (int u = 0; u < n; ++u) {
        const UnitState& s = units_[size_t(u)];
        if (sl == 2 && u != 0) {
          slot_views_[size_t(sl)].emplace_back();
          continue;
        }
        slot_views_[size_t(sl)].push_back(sl == 2 && !tied ? UnitParams{}
                                                           : model::bind_params(L.units[size_t(u)], narrow_or_none(slot.frozen, 0, s.frozen_n),
                                                                                narrow_or_none(slot.trainable, 0, s.trainable_n)));
      }
    }
  }
  if (opt_.stage >= 2) {
    for (int i = 0; i < 2; ++i) {
      grad_slots_.push_back({Tensor(), Tensor(), alloc(max_trainable, DType::f32), -1});
      rs_out_.push_back(alloc(max_shard, DType::f32));
    }
    if (tied && units_[0].trainable_n) tied_grad_slot_ = {Tensor(), Tensor(), alloc(units_[0].trainable_shard * world_, DType::f32), 0};
    grad_views_.resize(size_t(n) * 3);
    for (int sl = 0; sl < 3; ++sl)
      for (int u = 0; u < n; ++u) {
        const UnitState& s = units_[size_t(u)];
        const Tensor& g = sl < 2 ? grad_slots_[size_t(sl)].grad : tied_grad_slot_.grad;
        if (!s.trainable_n || (sl == 2 && (u != 0 || !g.defined()))) continue;
        grad_views_[size_t(sl) * size_t(n) + size_t(u)] = model::bind_grads(L.units[size_t(u)], g.narrow(0, s.trainable_n));
      }
  }
  gathered_in_.assign(size_t(n), -1);
}

int64_t ZeroEngine::owned_begin(const UnitState& s) const { return opt_.stage == 0 ? 0 : int64_t(rank_) * s.trainable_shard; }
int64_t ZeroEngine::owned_numel(const UnitState& s) const { return opt_.stage == 0 ? s.trainable_shard * world_ : s.trainable_shard; }
Tensor ZeroEngine::owned_grad(const UnitState& s) const {
  if (!s.grad.defined()) return Tensor();
  return opt_.stage < 2 ? s.grad.narrow(owned_begin(s), owned_numel(s)) : s.grad;
}

ZeroMemory ZeroEngine::memory() const {
  ZeroMemory m;
  auto bytes = [](const Tensor& t) { return t.defined() ? int64_t(t.nbytes()) : 0; };
  for (const UnitState& s : units_) {
    m.frozen_param_bytes += bytes(s.frozen);
    m.trainable_param_bytes += bytes(s.trainable);
    m.grad_bytes += bytes(s.grad);
    m.master_bytes += owned_numel(s) * 4;
  }
  m.offloaded = opt_.offload;
  for (const Slot& s : gather_slots_) m.workspace_bytes += bytes(s.frozen) + bytes(s.trainable);
  m.workspace_bytes += bytes(tied_slot_.frozen) + bytes(tied_slot_.trainable);
  for (const Slot& s : grad_slots_) m.workspace_bytes += bytes(s.grad);
  m.workspace_bytes += bytes(tied_grad_slot_.grad);
  for (const Tensor& t : rs_out_) m.workspace_bytes += bytes(t);
  return m;
}

// ---- parameters in and out ----

void ZeroEngine::load(const std::function<void(int, const UnitParams&)>& fill) {
  for (size_t u = 0; u < units_.size(); ++u) {
    UnitState& s = units_[u];
    // The whole unit lands on the device: in the resident buffers (stages 0-2) or in a gather slot from which
    // this rank keeps its shard (stage 3). Zeroed first: what `fill` leaves alone is zero.
    const UnitParams* views = &s.params;
    Slot* slot = nullptr;
    if (opt_.stage < 3) {
      if (s.frozen.defined()) ops::zero(s.frozen);
      if (s.trainable.defined()) ops::zero(s.trainable);
    } else {
      slot = &gather_slots_[0];
      if (s.frozen_n) ops::zero(slot->frozen.narrow(0, s.frozen_n));
      if (s.trainable_n) ops::zero(slot->trainable.narrow(0, s.trainable_n));
      slot->unit = -1;
      views = &slot_views_[0][u];
    }
    fill(int(u), *views);
    if (slot) {
      auto keep = [&](const Tensor& shard, const Tensor& full, int64_t n, int64_t per_rank) {
        const int64_t lo = std::min(int64_t(rank_) * per_rank, n), hi = std::min(lo + per_rank, n);
        if (hi > lo) ops::copy(shard.narrow(0, hi - lo), full.narrow(lo, hi - lo));
      };
      if (s.frozen_n) keep(s.frozen, slot->frozen, s.frozen_n, s.frozen_shard);
      if (s.trainable_n) keep(s.trainable, slot->trainable, s.trainable_n, s.trainable_shard);
    }
    if ((mixed_ || opt_.offload) && s.master.defined()) {
      // fp32 masters of the owned range from the compute-dtype parameters just written (converted on the device).
      const int64_t ob = owned_begin(s);
      const int64_t hi = std::min(ob + owned_numel(s), s.trainable_n);
      ops::zero(s.master);
      if (hi > ob) ops::copy(s.master.narrow(0, hi - ob), s.trainable.narrow(opt_.stage < 3 ? ob : 0, hi - ob));
    }
  }
  ++params_version_;
  forget_gathers();
}

void ZeroEngine::forget_gathers() {
  std::fill(gathered_in_.begin(), gathered_in_.end(), -1);
  for (Slot& sl : gather_slots_) sl.unit = -1;
}

void ZeroEngine::gather(const std::function<void(int, const UnitParams&)>& sink) {
  const auto& L = layout();
  for (size_t u = 0; u < units_.size(); ++u) {
    const UnitState& s = units_[u];
    Tensor fh = s.frozen_n ? Tensor::empty({s.frozen_n}, dtype()) : Tensor();
    Tensor th = s.trainable_n ? Tensor::empty({s.trainable_n}, dtype()) : Tensor();
    if (opt_.stage < 3) {
      if (fh.defined()) ops::copy(fh, s.frozen.narrow(0, s.frozen_n));
      if (th.defined()) ops::copy(th, s.trainable.narrow(0, s.trainable_n));
    } else {
      Slot& slot = gather_slots_[0];
      gather_unit(int(u), slot);
      comm_.compute_waits();
      if (fh.defined()) ops::copy(fh, slot.frozen.narrow(0, s.frozen_n));
      if (th.defined()) ops::copy(th, slot.trainable.narrow(0, s.trainable_n));
      slot.unit = -1;
    }
    sink(int(u), model::bind_params(L.units[u], fh, th));
  }
  forget_gathers();
}

// ---- stage 3 gathers ----

void ZeroEngine::gather_unit(int u, Slot& slot, bool frozen) {
  const UnitState& s = units_[size_t(u)];
  comm_.wait_for_compute();  // the slot's previous unit is done with it (and the publish that wrote the shards)
  if (frozen && s.frozen_n) comm_.all_gather(slot.frozen.narrow(0, s.frozen_shard * world_), s.frozen);
  if (s.trainable_n) comm_.all_gather(slot.trainable.narrow(0, s.trainable_shard * world_), s.trainable);
}

// A unit still in a slot from the previous micro-step (the first two units of a forward after a backward) keeps its
// frozen part, which only load() changes; its trainable part is gathered again if an optimizer step published new
// values since. So a training step starts computing at once instead of waiting for the embedding's gather.
void ZeroEngine::prefetch(int u) {
  if (const int held = gathered_in_[size_t(u)]; held >= 0) {
    Slot& slot = gather_slots_[size_t(held)];
    if (slot.version == params_version_ || !units_[size_t(u)].trainable_n) return;
    gather_unit(u, slot, /*frozen=*/false);
    slot.version = params_version_;
    gather_ticket_[size_t(held)] = comm_.ticket();
    return;
  }
  // The slot not holding the unit being computed now (its occupant is finished).
  const int sl = next_gather_slot_;
  Slot& slot = gather_slots_[size_t(sl)];
  if (slot.unit >= 0) gathered_in_[size_t(slot.unit)] = -1;
  gather_unit(u, slot);
  slot.unit = u;
  slot.version = params_version_;
  gathered_in_[size_t(u)] = sl;
  gather_ticket_[size_t(sl)] = comm_.ticket();
  next_gather_slot_ = 1 - sl;
}

const UnitParams& ZeroEngine::params_for(int u) {
  if (opt_.stage < 3) return units_[size_t(u)].params;
  prefetch(u);  // no-op when already gathered and current
  const int sl = gathered_in_[size_t(u)];
  if (gather_ticket_[size_t(sl)]) comm_.compute_waits_for(gather_ticket_[size_t(sl)]);
  gather_ticket_[size_t(sl)] = 0;  // compute is ordered after that gather from now on
  next_gather_slot_ = 1 - sl;  // the next gather goes to the other slot
  return slot_views_[size_t(sl)][size_t(u)];
}

// ---- forward / backward ----

double ZeroEngine::run(const model::PackedBatch& batch, const model::RunOptions& ro, bool backward, float grad_scale) {
  model::MicroStep s;
  model_.begin(s, batch, ro);
  if (grad_scale != 0.0f) s.grad_scale = grad_scale;
  const int n = model_.num_units();
  const bool tied = config().tie_word_embeddings;
  const bool prefetching = opt_.overlap_comm || !device().is_cuda();
  // The tied head also reads (and writes the gradient of) the embedding unit.
  const UnitParams* tied_params = nullptr;
  auto tied_views = [&]() -> const UnitParams* {
    if (opt_.stage < 3) return &units_[0].params;
    if (!tied_params) {
      gather_unit(0, tied_slot_);
      comm_.compute_waits();
      tied_params = &slot_views_[2][0];
    }
    return tied_params;
  };
  for (int u = 0; u < n; ++u) {
    const UnitParams& p = params_for(u);
    if (opt_.stage == 3 && prefetching && u + 1 < n) prefetch(u + 1);
    model_.forward(s, u, p, tied && u == n - 1 ? tied_views() : nullptr);
  }
  if (!backward) return s.loss();

  const int nunits = int(units_.size());
  std::vector<uint64_t> rs_ticket(size_t(n), 0);
  std::vector<int> rs_index(size_t(n), 0);  // which reduce-scatter output each unit used
  std::vector<int> reduced;                 // units whose reduce-scatter is in flight, in issue order
  // shard(v) += its reduce-scatter output, once that collective has finished (the add runs on the compute stream).
  auto settle = [&](int v) {
    comm_.compute_waits_for(rs_ticket[size_t(v)]);
    const UnitState& sv = units_[size_t(v)];
    ops::add_(sv.grad, rs_out_[size_t(rs_index[size_t(v)])].narrow(0, sv.trainable_shard));
  };
  static const UnitParams no_grads;
  const bool tied_grad = opt_.stage >= 2 && tied && tied_grad_slot_.grad.defined();
  for (int u = n - 1; u >= 0; --u) {
    const UnitParams& p = params_for(u);
    if (opt_.stage == 3 && prefetching && u - 1 >= 0) prefetch(u - 1);
    const UnitState& su = units_[size_t(u)];
    const UnitParams* g = &su.grads;
    const UnitParams* tg = tied && u == n - 1 ? &units_[0].grads : nullptr;
    Tensor scratch;  // stage 2-3: the full gradient of this unit for this micro-step
    if (opt_.stage >= 2) {
      // Ping-pong scratch and outputs: settle the reduction issued two units ago before reusing its buffers.
      if (reduced.size() >= 2) {
        settle(reduced.front());
        reduced.erase(reduced.begin());
      }
      g = &no_grads;
      if (su.trainable_n && u == 0 && tied_grad) {  // the head already accumulated lm_head's gradient here
        scratch = tied_grad_slot_.grad;
        g = &grad_views_[2 * size_t(nunits)];
      } else if (su.trainable_n) {
        const int sl = next_grad_slot_;
        next_grad_slot_ = 1 - sl;
        scratch = grad_slots_[size_t(sl)].grad.narrow(0, su.trainable_shard * world_);
        ops::zero(scratch);
        g = &grad_views_[size_t(sl) * size_t(nunits) + size_t(u)];
      }
      if (tied && u == n - 1) {
        tg = nullptr;
        if (tied_grad) {
          ops::zero(tied_grad_slot_.grad);
          tg = &grad_views_[2 * size_t(nunits)];
        }
      }
    }
    model_.backward(s, u, p, *g, tied && u == n - 1 ? tied_views() : nullptr, tg);
    if (scratch.defined()) {
      const int ri = next_rs_;
      next_rs_ = 1 - ri;
      rs_index[size_t(u)] = ri;
      comm_.wait_for_compute();
      comm_.reduce_scatter(rs_out_[size_t(ri)].narrow(0, su.trainable_shard), scratch.narrow(0, su.trainable_shard * world_),
                           ReduceOp::avg);
      rs_ticket[size_t(u)] = comm_.ticket();
      reduced.push_back(u);
    }
  }
  for (int v : reduced) settle(v);
  return s.loss();
}

// ---- the optimizer step ----

void ZeroEngine::reduce_gradients() {
  if (opt_.stage >= 2 || world_ == 1) return;
  comm_.wait_for_compute();
  for (UnitState& s : units_)
    if (s.grad.defined()) comm_.all_reduce(s.grad, ReduceOp::avg);
  comm_.compute_waits();
}

bool ZeroEngine::overflow() {
  bool local = false;
  for (const UnitState& s : units_)
    if (s.grad.defined() && !local) local = ops::has_inf_or_nan(owned_grad(s));
  return all_reduce_scalar(comm_, device(), local ? 1.0 : 0.0, ReduceOp::max) > 0.0;
}

double ZeroEngine::grad_norm() {
  double sq = 0;
  for (const UnitState& s : units_)
    if (s.grad.defined()) sq += ops::sum_squares(owned_grad(s));
  if (opt_.stage >= 1) sq = all_reduce_scalar(comm_, device(), sq, ReduceOp::sum);
  return std::sqrt(sq);
}

void ZeroEngine::scale_gradients(double s) {
  for (const UnitState& u : units_)
    if (u.grad.defined()) ops::scale_(owned_grad(u), float(s));
}

void ZeroEngine::stage_gradients() {
  if (!opt_.offload) return;
  for (UnitState& s : units_)
    if (s.host_grad.defined()) ops::copy(s.host_grad, owned_grad(s));
}

std::vector<Tensor> ZeroEngine::owned_grads() const {
  std::vector<Tensor> r;
  for (const UnitState& s : units_)
    if (s.grad.defined()) r.push_back(owned_grad(s));
  return r;
}

void ZeroEngine::publish() {
  ++params_version_;  // stage 3: gathered trainable parts are stale
  bool gathered = false;
  for (UnitState& s : units_) {
    if (!s.trainable_n) continue;
    const int64_t ob = owned_begin(s), on = owned_numel(s);
    if (mixed_ || opt_.offload) ops::copy(opt_.stage == 3 ? s.trainable : s.trainable.narrow(ob, on), s.master);
    if (opt_.stage == 1 || opt_.stage == 2) {
      if (world_ == 1) continue;
      if (!gathered) comm_.wait_for_compute();
      gathered = true;
      comm_.all_gather(s.trainable, s.trainable.narrow(ob, on));
    }
  }
  if (gathered) comm_.compute_waits();
}

void ZeroEngine::zero_grad() {
  for (UnitState& s : units_)
    if (s.grad.defined()) ops::zero(s.grad);
}

}  // namespace zt::dist
