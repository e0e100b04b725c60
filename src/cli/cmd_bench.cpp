// `zerotune bench`: training-step throughput with random weights (no disk) on one GPU, or on every rank of
// `zerotune launch` with a ZeRO stage: a Llama-3-8B-shaped model (or --config), LoRA, optional activation
// checkpointing, fixed-length or HH-distributed pad-free micro-batches; rank 0 prints one JSON line.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <random>
#include <unordered_map>
#include <vector>

#include "cli/args.hpp"
#include "core/json.hpp"
#include "data/lengths.hpp"
#include "model/batch.hpp"
#include "model/presets.hpp"
#include "dist/rendezvous.hpp"
#include "dist/zero.hpp"
#include "model/resident.hpp"
#include "train/optimizer.hpp"
#include "ops/elementwise.hpp"
#include "ops/optim.hpp"
#ifdef ZT_HAVE_CUDA
#include "ops/cuda/caching_allocator.hpp"
#include "ops/cuda/runtime.hpp"
#endif

namespace zt::cli {

int cmd_bench(const std::vector<std::string>& args);

namespace {

// Random weights without drawing billions of numbers: each parameter is filled from a pool of normal (or LoRA
// uniform) draws laid out cyclically; norms are ones and zero-initialised tensors zeros, as transformers/peft.
struct RandomFill {
  explicit RandomFill(const model::ModelConfig& cfg, const model::LoraSpec& lora, uint64_t seed) : normal(pool_n), uniform(pool_n) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> nd(0.0f, float(cfg.initializer_range));
    const float bound = lora.enabled() ? 1.0f / std::sqrt(float(lora.dim)) : 0.0f;
    std::uniform_real_distribution<float> ud(-bound, bound);
    for (auto& x : normal) x = nd(rng);
    for (auto& x : uniform) x = ud(rng);
  }
  void operator()(const model::UnitLayout& u, const model::UnitParams& p) const {
    for (auto& info : u.params) {
      Tensor dst = p.get(info.name);
      const int64_t n = dst.numel();
      Tensor host = Tensor::empty({n}, DType::f32);
      float* h = host.data<float>();
      switch (info.init) {
        case model::Init::ones: std::fill_n(h, n, 1.0f); break;
        case model::Init::zeros: std::fill_n(h, n, 0.0f); break;
        case model::Init::lora_right:
          for (int64_t i = 0; i < n; ++i) h[i] = uniform[size_t(i % pool_n)];
          break;
        default:
          for (int64_t i = 0; i < n; ++i) h[i] = normal[size_t(i % pool_n)];
      }
      ops::copy(dst, host.reshape(dst.shape()));
    }
  }
  static constexpr int64_t pool_n = (1 << 20) + 7;  // odd length: rows do not repeat with the pool
  std::vector<float> normal, uniform;
};

}  // namespace

int cmd_bench(const std::vector<std::string>& argv) {
  Args a("bench",
         "Times training steps (forward + backward + grad-norm clip + AdamW on the trainable parameters) on one GPU with\n"
         "random weights and random token ids, and prints one JSON line: tokens_per_s, step_s, model_tflops (4N + attention\n"
         "FLOPs per token for LoRA, 6N for full fine-tuning, as ../shared/peers/peer_torch.py counts), peak_gib.\n"
         "--lengths hh draws each sequence's length from HH-RLHF-family data under the Llama 3 tokenizer (Dahoas/rm-static:\n"
         "median 120, mean 151, p90 312, p99 599), truncated at --seq (max_seq_len), packs every micro-batch pad-free and\n"
         "estimates the time of one epoch of --epoch_samples samples (epoch_s) from the timed steps.",
         {{"config", FlagKind::string, "", "a config.json to use instead of the built-in Llama-3-8B shape"},
          {"layers", FlagKind::integer, "32", "number of decoder layers (overrides the config's num_hidden_layers)"},
          {"mbs", FlagKind::integer, "4", "sequences per micro-batch"},
          {"seq", FlagKind::integer, "512", "tokens per sequence (--lengths hh: max_seq_len, the truncation of drawn lengths)"},
          {"lengths", FlagKind::string, "fixed",
           "sequence lengths: fixed = --seq tokens each; hh = drawn from the HH-RLHF/Llama 3 distribution, a new draw every step",
           false, {"fixed", "hh"}},
          {"epoch_samples", FlagKind::integer, "15252",
           "--lengths hh: samples of the epoch whose time is estimated (15252 = rm-static's phase-1 share at --data_split 2,4,4)"},
          {"seed", FlagKind::integer, "1", "seed of the random token ids and drawn lengths (rank r uses seed + r)"},
          {"lora", FlagKind::integer, "128", "LoRA rank on all seven linears of every layer (0 = full fine-tuning)"},
          {"ckpt", FlagKind::integer, "1", "activation checkpointing (1) or stored activations (0)", false, {"0", "1"}},
          {"steps", FlagKind::integer, "", "timed steps (default 10; 40 with --lengths hh, each a different micro-batch)"},
          {"warmup", FlagKind::integer, "3", "untimed steps before timing"},
          {"dtype", FlagKind::string, "bf16", "compute dtype", false, {"bf16", "fp16", "fp32"}},
          {"zero_stage", FlagKind::integer, "0", "ZeRO stage across the ranks of `zerotune launch` (one rank: any stage runs alone)",
           false, {"0", "1", "2", "3"}},
          {"offload", FlagKind::boolean, "", "fp32 masters and AdamW state in pinned host memory, AdamW on the CPU"},
          {"device", FlagKind::integer, "-1", "GPU index (default: LOCAL_RANK, else 0)"}});
  if (!a.parse(argv)) return 0;
  // Flags are checked before the GPU is touched, so a CPU build reports a bad combination too.
  const bool hh = a.str("lengths") == "hh";
  const int64_t mbs = a.integer("mbs"), seq = a.integer("seq"), warmup = a.integer("warmup");
  const int64_t steps = a.given("steps") ? a.integer("steps") : hh ? 40 : 10;
  const int64_t epoch_samples = a.integer("epoch_samples");
  check(mbs > 0 && seq > 1, "--mbs must be >= 1 and --seq >= 2");
  check(steps > 0 && warmup >= 0, "--steps must be >= 1 and --warmup >= 0");
  check(hh || !a.given("epoch_samples"), "--epoch_samples estimates an epoch of drawn lengths",
        "add --lengths hh (a fixed-length epoch is epoch_samples / mbs x step_s)");
  check(epoch_samples > 0, "--epoch_samples must be >= 1");
  if (hh && seq != 512)
    std::fprintf(stderr,
                 "zerotune bench: --lengths hh with --seq %lld: drawn lengths are truncated at %lld tokens (max_seq_len) "
                 "instead of the step-1 recipe's 512, and padded_tokens_per_epoch pads to %lld\n",
                 (long long)seq, (long long)seq, (long long)seq);
#ifndef ZT_HAVE_CUDA
  fail("zerotune bench needs a GPU, and this build has no CUDA backend", "build with -DZT_CUDA=ON on a machine with nvcc");
#else
  const dist::RankInfo ri = dist::rank_info_from_env();
  const int dev_index = a.integer("device") >= 0 ? int(a.integer("device")) : ri.local_rank;
  cuda::initialize();
  cuda::install_caching_allocator();
  const Device dev = Device::CUDA(dev_index);
  std::unique_ptr<dist::Comm> comm = dist::init_comm(ri, dev);
  if (comm->reserved_sms() > 0) cuda::current(dev).set_gemm_sm_margin(comm->reserved_sms());  // ZEROTUNE_COMM_SMS

  Json cj = a.given("config") ? load_json_file(a.str("config")) : model::llama3_8b_config(int(a.integer("layers")));
  if (a.given("layers")) cj["num_hidden_layers"] = a.integer("layers");
  model::ModelConfig cfg = model::parse_model_config(cj, a.given("config") ? a.str("config") : "the built-in Llama-3-8B shape");
  model::LoraSpec lora;
  lora.dim = int(a.integer("lora"));
  lora.module_name = "model.layers.";
  lora.only_optimize_lora = lora.dim > 0;  // peft: only the LoRA matrices train
  const std::string dts = a.str("dtype");
  const DType dt = dts == "bf16" ? DType::bf16 : dts == "fp16" ? DType::f16 : DType::f32;
  dist::ZeroOptions zo;
  zo.stage = int(a.integer("zero_stage"));
  zo.offload = a.flag("offload");
  dist::ZeroEngine engine(cfg, lora, dt, dev, *comm, zo);
  const RandomFill fill(cfg, lora, 0);
  engine.load([&](int u, const model::UnitParams& p) { fill(engine.layout().units[size_t(u)], p); });
  int64_t n_base = 0, n_train = 0;
  for (auto& u : engine.layout().units)
    for (auto& p : u.params) {
      const bool is_lora = p.name.ends_with("lora_right_weight") || p.name.ends_with("lora_left_weight");
      (is_lora ? n_train : n_base) += shape_numel(p.shape);
      if (!is_lora && p.trainable) n_train += shape_numel(p.shape);
    }
  // AdamW on this rank's fp32 master slices (torch.optim.AdamW's defaults beside lr 1e-4, weight decay 0.1, as the peers).
  train::Optimizer optimizer({0.1}, train::AdamConfig{0.9, 0.999, 1e-8});
  for (auto& sg : engine.segments()) optimizer.add_param(0, sg.master, sg.grad, sg.name);

  // Each rank draws its own micro-batches (a data-parallel step over world x mbs sequences). Fixed lengths reuse one
  // batch; hh draws a new one for every step, warm-up included. All are packed and uploaded before timing.
  const uint64_t seed = uint64_t(a.integer("seed")) + uint64_t(ri.rank);
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::mt19937_64 len_rng(seed);
  const data::LengthDistribution dist = data::LengthDistribution::hh_rlhf_llama3(seq);
  std::uniform_int_distribution<int32_t> tok(0, int32_t(cfg.vocab_size) - 1);
  std::vector<model::PackedBatch> pool;
  std::vector<std::vector<int32_t>> pool_lengths;
  for (int64_t k = 0; k < (hh ? warmup + steps : 1); ++k) {
    std::vector<std::vector<int32_t>> seqs(static_cast<size_t>(mbs));
    for (auto& sq : seqs) {
      sq.resize(size_t(hh ? dist.draw(len_rng) : seq));
      for (auto& t : sq) t = tok(rng);
    }
    model::PackedBatch batch = model::pack_sequences(seqs, {});
    for (Tensor* t : {&batch.ids, &batch.targets, &batch.seq.cu_seqlens, &batch.seq.positions}) {
      Tensor d = Tensor::empty(t->shape(), t->dtype(), dev);
      ops::copy(d, *t);
      *t = d;
    }
    pool_lengths.emplace_back();
    for (auto& sq : seqs) pool_lengths.back().push_back(int32_t(sq.size()));
    pool.push_back(std::move(batch));
  }
  auto batch_of = [&](int64_t k) -> const model::PackedBatch& { return pool[size_t(hh ? k : 0)]; };
  model::RunOptions opt;
  opt.gradient_checkpointing = a.integer("ckpt") != 0;

  double loss = 0, loss_first = 0;
  auto step = [&](int64_t k) {
    engine.zero_grad();
    loss = engine.run(batch_of(k), opt, true);
    if (k == 0) loss_first = loss;
    engine.reduce_gradients();
    const double norm = engine.grad_norm(), clip = 1.0 / (norm + 1e-6);  // clip_grad_norm_(1.0)
    if (clip < 1.0) engine.scale_gradients(clip);
    engine.stage_gradients();
    optimizer.step({1e-4});
    engine.publish();
  };
  for (int64_t k = 0; k < warmup; ++k) step(k);
  cuda::current(dev).synchronize();
  comm->barrier();
  cuda::reset_allocator_peak();
  comm->restart_trace();
  const size_t allocs_before = cuda::allocator_stats().device_allocs;
  // hh: each step is timed on its own (the epoch estimate needs their spread); the step already waits for the
  // GPU twice (the loss read-back and the gradient norm), so the extra synchronisation costs next to nothing.
  std::vector<double> step_times;
  std::vector<int64_t> step_tokens;
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t k = warmup; k < warmup + steps; ++k) {
    const auto ts = std::chrono::steady_clock::now();
    step(k);
    step_tokens.push_back(batch_of(k).num_tokens());
    if (hh) {
      cuda::current(dev).synchronize();
      step_times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count());
    }
  }
  cuda::current(dev).synchronize();
  const double dt_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(steps);
  const cuda::AllocatorStats st = cuda::allocator_stats();
  // The slowest rank's step time and the largest peak (what a user sizes for); real tokens summed over ranks.
  int64_t rank_tokens = 0;
  for (int64_t t : step_tokens) rank_tokens += t;
  Tensor agg = Tensor::empty({3}, DType::f32);
  agg.data<float>()[0] = float(dt_s);
  agg.data<float>()[1] = float(double(st.peak_in_use) / double(1 << 30));
  agg.data<float>()[2] = float(rank_tokens);
  Tensor agg_d = Tensor::empty({3}, DType::f32, dev);
  ops::copy(agg_d, agg);
  comm->wait_for_compute();
  comm->all_reduce(agg_d.narrow(0, 2), dist::ReduceOp::max);
  comm->all_reduce(agg_d.narrow(2, 1), dist::ReduceOp::sum);
  comm->compute_waits();
  ops::copy(agg, agg_d);
  const double step_s = double(agg.data<float>()[0]), peak_gib = double(agg.data<float>()[1]);
  const double all_tokens = double(agg.data<float>()[2]);
  if (ri.rank != 0) return 0;
  const double world = double(ri.world_size);
  const dist::ZeroMemory zm = engine.memory();

  // Model FLOPs as the peers count them, per sequence: linears on every token, attention 12 L d len per token.
  const double n_lin = double(n_base - cfg.vocab_size * cfg.hidden_size);  // the embedding lookup is no matmul
  const double lin_tok = (lora.dim > 0 ? 4.0 : 6.0) * n_lin;
  const double attn_tok_per_len = 12.0 * double(cfg.num_hidden_layers) * double(cfg.hidden_size);
  double flops = 0;  // this rank's timed steps
  std::vector<int32_t> drawn;
  for (int64_t k = warmup; k < warmup + steps; ++k)
    for (int32_t len : pool_lengths[size_t(hh ? k : 0)]) {
      flops += double(len) * (lin_tok + attn_tok_per_len * double(len));
      drawn.push_back(len);
    }
  const double tokens = double(rank_tokens) / double(steps);  // real tokens per step on this rank
  Json out = {{"engine", "zerotune"},
              {"device", std::string(cuda::current(dev).props().name)},
              {"layers", cfg.num_hidden_layers},
              {"ckpt", opt.gradient_checkpointing ? 1 : 0},
              {"lora", lora.dim},
              {"mbs", mbs},
              {"seq", seq},
              {"dtype", dts},
              {"params", n_base},
              {"trainable", n_train},
              {"world_size", ri.world_size},
              {"zero_stage", zo.stage},
              {"offload", zo.offload},
              {"comm_sms", comm->reserved_sms()},
              {"comm_ce", comm->copy_engine()},
              {"lengths", hh ? "hh" : "fixed"},
              {"steps", steps},
              {"warmup", warmup},
              {"step_s", std::round(step_s * 1e4) / 1e4},
              {"tokens_per_s", std::round(all_tokens / double(steps) / step_s * 10) / 10},
              {"tokens_per_s_per_gpu", std::round(tokens / step_s * 10) / 10},
              {"model_tflops", std::round(flops / double(steps) / step_s / 1e11) / 10},
              {"peak_gib", std::round(peak_gib * 100) / 100},
              {"peak_reserved_gib", std::round(double(st.peak_reserved) / double(1 << 30) * 100) / 100},
              {"cuda_mallocs_in_timed_steps", st.device_allocs - allocs_before},
              {"rank0_state", zm.str()},
              {"loss_first_step", loss_first},
              {"loss", loss}};
  if (hh) {
    // One epoch = ceil(epoch_samples / (world x mbs)) micro-batch steps; DeepSpeed-Chat pads each sample to --seq.
    const int64_t epoch_steps = (epoch_samples + int64_t(world) * mbs - 1) / (int64_t(world) * mbs);
    const double mean_len = dist.mean_length();
    const data::EpochEstimate e = data::estimate_epoch(step_times, step_tokens, epoch_steps, double(mbs) * mean_len);
    std::sort(drawn.begin(), drawn.end());
    double drawn_sum = 0;
    for (int32_t len : drawn) drawn_sum += len;
    const double drawn_median = drawn.size() % 2 ? drawn[drawn.size() / 2]
                                                 : 0.5 * (drawn[drawn.size() / 2 - 1] + drawn[drawn.size() / 2]);
    auto r3 = [](double x) { return std::round(x * 1e3) / 1e3; };
    out["max_seq_len"] = seq;
    out["drawn_len_mean"] = r3(drawn_sum / double(drawn.size()));
    out["drawn_len_median"] = drawn_median;
    out["dist_len_mean"] = r3(mean_len);
    out["tokens_per_step_mean"] = r3(tokens);
    out["step_s_sd"] = std::round(e.step_s_sd * 1e5) / 1e5;
    out["epoch_samples"] = epoch_samples;
    out["epoch_steps"] = epoch_steps;
    out["epoch_s"] = std::round(e.epoch_s * 10) / 10;
    out["epoch_s_lo"] = std::round(e.epoch_s_lo * 10) / 10;
    out["epoch_s_hi"] = std::round(e.epoch_s_hi * 10) / 10;
    out["epoch_s_fit"] = std::round(e.epoch_s_fit * 10) / 10;
    out["epoch_estimate"] = "epoch_steps x mean of " + std::to_string(steps) +
                            " timed steps over drawn micro-batches (rank 0's steps); lo/hi = +-2 standard errors; fit = "
                            "epoch_steps x (least-squares step time at the distribution's mean tokens per step)";
    out["real_tokens_per_epoch"] = std::llround(double(epoch_samples) * mean_len);
    out["padded_tokens_per_epoch"] = epoch_steps * int64_t(world) * mbs * seq;
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
#endif
}

}  // namespace zt::cli
