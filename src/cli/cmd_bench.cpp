// `zerotune bench`: training-step throughput on one GPU with random weights (no disk): a Llama-3-8B-shaped model
// (or --config), LoRA, optional activation checkpointing; prints one JSON line counted as the PyTorch peer counts.
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
#include "model/resident.hpp"
#include "ops/elementwise.hpp"
#include "ops/optim.hpp"
#ifdef ZT_HAVE_CUDA
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

#ifdef ZT_HAVE_CUDA
// cudaMalloc-backed allocator that keeps freed blocks for reuse by size (a training step allocates the same
// shapes every micro-step, so after the first step nothing reaches cudaMalloc/cudaFree), and counts the
// bytes handed out (peak = torch.cuda.max_memory_allocated's measure) and the bytes held from the driver.
class CachingAllocator {
 public:
  void* alloc(size_t bytes, int device) {
    const size_t n = (std::max<size_t>(bytes, 1) + 511) / 512 * 512;
    std::lock_guard<std::mutex> lock(mu_);
    void* p = nullptr;
    auto& free_list = free_[key(n, device)];
    if (!free_list.empty()) {
      p = free_list.back();
      free_list.pop_back();
    } else {
      cuda::DeviceGuard g(device);
      cudaError_t e = cudaMalloc(&p, n);
      if (e != cudaSuccess) {  // give cached blocks back and retry once
        cudaGetLastError();
        release_locked();
        e = cudaMalloc(&p, n);
      }
      ZT_CUDA(e);
      reserved_ += n;
      peak_reserved_ = std::max(peak_reserved_, reserved_);
    }
    live_[p] = {n, device};
    in_use_ += n;
    peak_in_use_ = std::max(peak_in_use_, in_use_);
    return p;
  }
  void free(void* p, int) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(p);
    if (it == live_.end()) return;
    in_use_ -= it->second.first;
    free_[key(it->second.first, it->second.second)].push_back(p);
    live_.erase(it);
  }
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mu_);
    peak_in_use_ = in_use_;
    peak_reserved_ = reserved_;
  }
  size_t peak_in_use() const { return peak_in_use_; }
  size_t peak_reserved() const { return peak_reserved_; }

 private:
  static uint64_t key(size_t n, int device) { return (uint64_t(n) << 4) | uint64_t(device & 15); }
  void release_locked() {
    for (auto& [k, list] : free_)
      for (void* p : list) {
        cuda::DeviceGuard g(int(k & 15));
        cudaDeviceSynchronize();
        cudaFree(p);
        reserved_ -= k >> 4;
      }
    free_.clear();
  }
  std::mutex mu_;
  std::unordered_map<uint64_t, std::vector<void*>> free_;
  std::unordered_map<void*, std::pair<size_t, int>> live_;
  size_t in_use_ = 0, peak_in_use_ = 0, reserved_ = 0, peak_reserved_ = 0;
};
#endif

// Random weights without drawing billions of numbers: each parameter is filled from a pool of normal (or LoRA
// uniform) draws laid out cyclically; norms are ones and zero-initialised tensors zeros, as transformers/peft.
[[maybe_unused]] void fill_random(model::ResidentModel& m, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int64_t pool_n = (1 << 20) + 7;  // odd length: rows do not repeat with the pool
  std::vector<float> normal(pool_n), uniform(pool_n);
  std::normal_distribution<float> nd(0.0f, float(m.config().initializer_range));
  const float bound = m.model().lora().enabled() ? 1.0f / std::sqrt(float(m.model().lora().dim)) : 0.0f;
  std::uniform_real_distribution<float> ud(-bound, bound);
  for (auto& x : normal) x = nd(rng);
  for (auto& x : uniform) x = ud(rng);
  int64_t largest = 0;
  for (auto& u : m.layout().units)
    for (auto& p : u.params) largest = std::max(largest, shape_numel(p.shape));
  Tensor host = Tensor::empty({largest}, DType::f32);
  for (auto& u : m.layout().units)
    for (auto& p : u.params) {
      Tensor dst = m.param(p.name);
      const int64_t n = dst.numel();
      float* h = host.data<float>();
      switch (p.init) {
        case model::Init::ones: std::fill_n(h, n, 1.0f); break;
        case model::Init::zeros: std::fill_n(h, n, 0.0f); break;
        case model::Init::lora_right:
          for (int64_t i = 0; i < n; ++i) h[i] = uniform[i % pool_n];
          break;
        default:
          for (int64_t i = 0; i < n; ++i) h[i] = normal[i % pool_n];
      }
      ops::copy(dst, host.narrow(0, n));
    }
}

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
          {"device", FlagKind::integer, "0", "GPU index"}});
  if (!a.parse(argv)) return 0;
#ifndef ZT_HAVE_CUDA
  fail("zerotune bench needs a GPU, and this build has no CUDA backend", "build with -DZT_CUDA=ON on a machine with nvcc");
#else
  const int64_t mbs = a.integer("mbs"), seq = a.integer("seq"), steps = a.integer("steps"), warmup = a.integer("warmup");
  check(mbs > 0 && seq > 1, "--mbs must be >= 1 and --seq >= 2");
  check(steps > 0 && warmup >= 0, "--steps must be >= 1 and --warmup >= 0");
  const int dev_index = int(a.integer("device"));
  cuda::initialize();
  auto cache = std::make_shared<CachingAllocator>();
  Buffer::set_cuda_allocator([cache](size_t n, int d) { return cache->alloc(n, d); },
                             [cache](void* p, int d) { cache->free(p, d); });
  const Device dev = Device::CUDA(dev_index);

  Json cj = a.given("config") ? load_json_file(a.str("config")) : llama3_8b_config(int(a.integer("layers")));
  if (a.given("layers")) cj["num_hidden_layers"] = a.integer("layers");
  model::ModelConfig cfg = model::parse_model_config(cj, a.given("config") ? a.str("config") : "the built-in Llama-3-8B shape");
  model::LoraSpec lora;
  lora.dim = int(a.integer("lora"));
  lora.module_name = "model.layers.";
  lora.only_optimize_lora = lora.dim > 0;  // peft: only the LoRA matrices train
  const std::string dts = a.str("dtype");
  const DType dt = dts == "bf16" ? DType::bf16 : dts == "fp16" ? DType::f16 : DType::f32;
  model::ResidentModel m(cfg, lora, dt, dev);
  fill_random(m, 0);

  // fp32 master weights and AdamW moments for every unit's trainable flat buffer (torch.optim.AdamW defaults,
  // lr 1e-4, weight decay 0.1, as the peer).
  struct Slot {
    Tensor param, master, m, v, grad;
  };
  std::vector<Slot> slots;
  int64_t n_base = 0, n_train = 0;
  for (int u = 0; u < int(m.layout().units.size()); ++u) {
    for (auto& p : m.layout().units[u].params) {
      const bool is_lora = p.name.ends_with("lora_right_weight") || p.name.ends_with("lora_left_weight");
      (is_lora ? n_train : n_base) += shape_numel(p.shape);
      if (!is_lora && p.trainable) n_train += shape_numel(p.shape);
    }
    const Tensor& tr = m.unit_params(u).trainable;
    if (!tr.defined()) continue;
    Slot s{tr, Tensor::empty(tr.shape(), DType::f32, dev), Tensor::empty(tr.shape(), DType::f32, dev),
           Tensor::empty(tr.shape(), DType::f32, dev), m.unit_grads(u).trainable};
    ops::copy(s.master, s.param);
    ops::zero(s.m);
    ops::zero(s.v);
    slots.push_back(s);
  }
  ops::AdamWParams hp;
  hp.lr = 1e-4f;
  hp.beta1 = 0.9f;
  hp.beta2 = 0.999f;
  hp.weight_decay = 0.1f;

  std::mt19937 rng(1);
  std::uniform_int_distribution<int32_t> tok(0, int32_t(cfg.vocab_size) - 1);
  std::vector<std::vector<int32_t>> seqs(mbs, std::vector<int32_t>(seq));
  for (auto& s : seqs)
    for (auto& t : s) t = tok(rng);
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
    m.zero_grad();
    loss = m.run(batch, opt, true);
    if (k == 0) loss_first = loss;
    double sq = 0;  // clip_grad_norm_(1.0)
    for (auto& s : slots) sq += ops::sum_squares(s.grad);
    const double norm = std::sqrt(sq), clip = 1.0 / (norm + 1e-6);
    hp.step = k + 1;
    for (auto& s : slots) {
      if (clip < 1.0) ops::scale_(s.grad, float(clip));
      ops::adamw_step(s.master, s.m, s.v, s.grad, hp);
      ops::copy(s.param, s.master);
    }
  };
  for (int64_t k = 0; k < warmup; ++k) step(k);
  cuda::current(dev).synchronize();
  cache->reset_peak();
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t k = warmup; k < warmup + steps; ++k) step(k);
  cuda::current(dev).synchronize();
  const double dt_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(steps);

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
              {"step_s", std::round(dt_s * 1e4) / 1e4},
              {"tokens_per_s", std::round(tokens / dt_s * 10) / 10},
              {"model_tflops", std::round(flops_tok * tokens / dt_s / 1e11) / 10},
              {"peak_gib", std::round(double(cache->peak_in_use()) / double(1 << 30) * 100) / 100},
              {"peak_reserved_gib", std::round(double(cache->peak_reserved()) / double(1 << 30) * 100) / 100},
              {"loss_first_step", loss_first},
              {"loss", loss}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
#endif
}

}  // namespace zt::cli
