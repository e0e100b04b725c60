// `zerotune bench`: training-step throughput with random weights (no disk) on one GPU, or on every rank of
// `zerotune launch` with a ZeRO stage: a Llama-3-8B-shaped model (or --config), LoRA, optional activation
// checkpointing; rank 0 prints one JSON line counted as the PyTorch peers count.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <random>
#include <unordered_map>
#include <vector>

#include "cli/args.hpp"
#include "core/json.hpp"
#include "model/batch.hpp"
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

// meta-llama/Meta-Llama-3-8B's shape, as ../shared/peers/peer_torch.py builds it (default rope, untied head).
[[maybe_unused]] Json llama3_8b_config(int layers) {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"vocab_size", 128256},
          {"hidden_size", 4096},
          {"intermediate_size", 14336},
          {"num_hidden_layers", layers},
          {"num_attention_heads", 32},
          {"num_key_value_heads", 8},
          {"max_position_embeddings", 8192},
          {"rope_theta", 500000.0},
          {"rms_norm_eps", 1e-5},
          {"initializer_range", 0.02},
          {"tie_word_embeddings", false}};
}

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
         "FLOPs per token for LoRA, 6N for full fine-tuning, as ../shared/peers/peer_torch.py counts), peak_gib.",
         {{"config", FlagKind::string, "", "a config.json to use instead of the built-in Llama-3-8B shape"},
          {"layers", FlagKind::integer, "32", "number of decoder layers (overrides the config's num_hidden_layers)"},
          {"mbs", FlagKind::integer, "4", "sequences per micro-batch"},
          {"seq", FlagKind::integer, "512", "tokens per sequence"},
          {"lora", FlagKind::integer, "128", "LoRA rank on all seven linears of every layer (0 = full fine-tuning)"},
          {"ckpt", FlagKind::integer, "1", "activation checkpointing (1) or stored activations (0)", false, {"0", "1"}},
          {"steps", FlagKind::integer, "10", "timed steps"},
          {"warmup", FlagKind::integer, "3", "untimed steps before timing"},
          {"dtype", FlagKind::string, "bf16", "compute dtype", false, {"bf16", "fp16", "fp32"}},
          {"zero_stage", FlagKind::integer, "0", "ZeRO stage across the ranks of `zerotune launch` (one rank: any stage runs alone)",
           false, {"0", "1", "2", "3"}},
          {"offload", FlagKind::boolean, "", "fp32 masters and AdamW state in pinned host memory, AdamW on the CPU"},
          {"device", FlagKind::integer, "-1", "GPU index (default: LOCAL_RANK, else 0)"}});
  if (!a.parse(argv)) return 0;
#ifndef ZT_HAVE_CUDA
  fail("zerotune bench needs a GPU, and this build has no CUDA backend", "build with -DZT_CUDA=ON on a machine with nvcc");
#else
  const int64_t mbs = a.integer("mbs"), seq = a.integer("seq"), steps = a.integer("steps"), warmup = a.integer("warmup");
  check(mbs > 0 && seq > 1, "--mbs must be >= 1 and --seq >= 2");
  check(steps > 0 && warmup >= 0, "--steps must be >= 1 and --warmup >= 0");
  const dist::RankInfo ri = dist::rank_info_from_env();
  const int dev_index = a.integer("device") >= 0 ? int(a.integer("device")) : ri.local_rank;
  cuda::initialize();
  cuda::install_caching_allocator();
  const Device dev = Device::CUDA(dev_index);
  std::unique_ptr<dist::Comm> comm = dist::init_comm(ri, dev);

  Json cj = a.given("config") ? load_json_file(a.str("config")) : llama3_8b_config(int(a.integer("layers")));
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

  // Each rank draws its own micro-batch (a data-parallel step over world x mbs sequences).
  std::mt19937 rng(1 + uint32_t(ri.rank));
  std::uniform_int_distribution<int32_t> tok(0, int32_t(cfg.vocab_size) - 1);
  std::vector<std::vector<int32_t>> seqs(mbs, std::vector<int32_t>(seq));
  for (auto& sq : seqs)
    for (auto& t : sq) t = tok(rng);
  model::PackedBatch batch = model::pack_sequences(seqs, {});
  for (Tensor* t : {&batch.ids, &batch.targets, &batch.seq.cu_seqlens, &batch.seq.positions}) {  // once, not per step
    Tensor d = Tensor::empty(t->shape(), t->dtype(), dev);
    ops::copy(d, *t);
    *t = d;
  }
  model::RunOptions opt;
  opt.gradient_checkpointing = a.integer("ckpt") != 0;

  double loss = 0, loss_first = 0;
  auto step = [&](int64_t k) {
    engine.zero_grad();
    loss = engine.run(batch, opt, true);
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
  const size_t allocs_before = cuda::allocator_stats().device_allocs;
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t k = warmup; k < warmup + steps; ++k) step(k);
  cuda::current(dev).synchronize();
  const double dt_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(steps);
  const cuda::AllocatorStats st = cuda::allocator_stats();
  // The slowest rank's step time and the largest peak (what a user sizes for).
  Tensor agg = Tensor::empty({2}, DType::f32);
  agg.data<float>()[0] = float(dt_s);
  agg.data<float>()[1] = float(double(st.peak_in_use) / double(1 << 30));
  Tensor agg_d = Tensor::empty({2}, DType::f32, dev);
  ops::copy(agg_d, agg);
  comm->wait_for_compute();
  comm->all_reduce(agg_d, dist::ReduceOp::max);
  comm->compute_waits();
  ops::copy(agg, agg_d);
  const double step_s = double(agg.data<float>()[0]), peak_gib = double(agg.data<float>()[1]);
  if (ri.rank != 0) return 0;
  const double world = double(ri.world_size);
  const dist::ZeroMemory zm = engine.memory();

  const double tokens = double(mbs * seq);
  const double n_lin = double(n_base - cfg.vocab_size * cfg.hidden_size);  // the embedding lookup is no matmul
  const double attn = 12.0 * double(cfg.num_hidden_layers) * double(cfg.hidden_size) * double(seq);
  const double flops_tok = (lora.dim > 0 ? 4.0 : 6.0) * n_lin + attn;
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
              {"step_s", std::round(step_s * 1e4) / 1e4},
              {"tokens_per_s", std::round(tokens * world / step_s * 10) / 10},
              {"tokens_per_s_per_gpu", std::round(tokens / step_s * 10) / 10},
              {"model_tflops", std::round(flops_tok * tokens / step_s / 1e11) / 10},
              {"peak_gib", std::round(peak_gib * 100) / 100},
              {"peak_reserved_gib", std::round(double(st.peak_reserved) / double(1 << 30) * 100) / 100},
              {"cuda_mallocs_in_timed_steps", st.device_allocs - allocs_before},
              {"rank0_state", zm.str()},
              {"loss_first_step", loss_first},
              {"loss", loss}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
#endif
}

}  // namespace zt::cli
