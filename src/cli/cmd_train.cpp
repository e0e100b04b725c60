// `zerotune train`: DeepSpeed-Chat step 1 (supervised fine-tuning) with the same flags and ds_config.json.
// Every rank runs this (one GPU each, compute dtype from --dtype/ds_config with fp32 masters; or the CPU in fp32)
// over the ZeRO engine; rank identity and the rendezvous come from the launcher's environment.
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <unordered_map>

#include "cli/args.hpp"
#include "cli/rank_device.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "data/sampler.hpp"
#include "data/samples.hpp"
#include "dist/rendezvous.hpp"
#include "dist/zero.hpp"
#include "io/model_io.hpp"
#include "io/peft_adapter.hpp"
#include "tokenizer/tokenizer.hpp"
#include "train/base_model.hpp"
#include "train/checkpoint.hpp"
#include "train/train_config.hpp"
#include "train/train_settings.hpp"
#include "train/trainer.hpp"
#ifdef ZT_HAVE_CUDA
#include "ops/cuda/runtime.hpp"
#endif

namespace zt::cli {

namespace fs = std::filesystem;

namespace {

// The data layer's mmap cache as the trainer's SampleSet: labels are the tokens (every real token trained,
// DeepSpeed-Chat's labels), or -100 over the prompt with --assistant_only_loss.
class StoreSamples : public train::SampleSet {
 public:
  StoreSamples(const data::SampleStore& s, bool mask_prompt) : s_(s), mask_prompt_(mask_prompt) {}
  int64_t size() const override { return int64_t(s_.size()); }
  void get(int64_t i, std::vector<int32_t>& ids, std::vector<int32_t>& labels) const override {
    auto t = s_.tokens(size_t(i));
    ids.assign(t.begin(), t.end());
    labels = ids;
    if (mask_prompt_)
      for (int32_t j = 0; j < s_.prompt_tokens(size_t(i)) && j < int32_t(labels.size()); ++j) labels[j] = -100;
  }

 private:
  const data::SampleStore& s_;
  bool mask_prompt_;
};

int64_t env_int(const char* name, int64_t dflt) {
  const char* v = std::getenv(name);
  if (!v || !*v) return dflt;
  try {
    return std::stoll(v);
  } catch (...) {
    fail(std::string("environment variable ") + name + "='" + v + "' is not an integer");
  }
}

}  // namespace

int cmd_train(const std::vector<std::string>& argv) {
  Args a("train",
         "DeepSpeed-Chat step 1 (supervised fine-tuning): the same flags as training/step1_supervised_finetuning/main.py\n"
         "and the same ds_config.json keys. On GPU LOCAL_RANK (default 0) it computes in the --dtype/ds_config dtype with\n"
         "fp32 master weights; without a GPU (or with CUDA_VISIBLE_DEVICES=\"\") in fp32 on the CPU.",
         train::train_flags());
  if (!a.parse(argv)) return 0;
  train::TrainConfig cfg = train::train_config_from_args(a);
  const dist::RankInfo ri = dist::rank_info_from_env();
  const int64_t world = ri.world_size;
  const int rank = ri.rank;

  // model config and effective settings
  const std::string model_dir = cfg.model_name_or_path;
  check(fs::is_directory(model_dir), "--model_name_or_path " + model_dir + " is not a directory",
        "pass a local Hugging Face model directory (config.json, *.safetensors, tokenizer.json); zerotune never downloads");
  model::ModelConfig mcfg = model::load_model_config(model_dir);
  train::TrainSettings s = train::resolve_train_settings(cfg, world, mcfg.hidden_size);
  for (auto& w : s.warnings) log::warn(w);
  check(s.zero.offload_optimizer_device != "nvme" && s.zero.offload_param_device != "nvme",
        "zero_optimization offloads to nvme, which zerotune does not do", "use device \"cpu\" (pinned host memory) or \"none\"");
  const bool offload = s.zero.offload_optimizer_device == "cpu";
  if (rank == 0 && s.zero.offload_param_device == "cpu")
    log::warn("offload_param device \"cpu\" (what --offload asks for at stage 3): parameter offload is not built; the " +
              std::string(s.zero.stage == 3 ? "parameters stay sharded on the GPUs" : "parameters stay on the GPU") +
              (offload ? " and only the optimizer state (fp32 masters, AdamW m and v) moves to pinned host memory" : ""));
  check(!s.schedule.ds_scheduler, "a DeepSpeed \"scheduler\" section in the ds_config is not supported yet",
        "remove it and use --lr_scheduler_type/--num_warmup_steps (what DeepSpeed-Chat uses)");
  check(s.optimizer.decoupled_weight_decay, "ds_config optimizer Adam with adam_w_mode false (L2 weight decay) is not supported",
        "use AdamW (DeepSpeed-Chat's optimizer)");
  if (rank == 0) log::info("effective config: " + train::train_settings_json(s).dump());
  if (rank == 0 && s.zero.stage > 0)
    log::info("zero_optimization: allgather/reduce bucket sizes, stage3_prefetch_bucket_size, stage3_max_live_parameters, "
              "stage3_max_reuse_distance and stage3_param_persistence_threshold have no effect here: zerotune gathers and "
              "reduces one transformer block at a time and prefetches the next (docs/zero.md)");
  const Device dev = rank_device(ri.local_rank);
  // GPU: parameters (and the saved weights) in the compute dtype, fp32 masters and AdamW state beside them.
  const DType compute = dev.is_cuda() ? s.dtype : DType::f32;
  std::unique_ptr<dist::Comm> comm = dist::init_comm(ri, dev);
#ifdef ZT_HAVE_CUDA
  // ZEROTUNE_COMM_SMS: collectives overlapping compute keep to that many SMs, and GEMMs leave them free.
  if (dev.is_cuda() && comm->reserved_sms() > 0) cuda::current(dev).set_gemm_sm_margin(comm->reserved_sms());
#endif
  if (dev.is_cuda())
    log::info("rank " + std::to_string(rank) + "/" + std::to_string(world) + " training on " + dev.str() + " in " + dtype_name(compute) +
              " (fp32 master weights and AdamW state), ZeRO stage " + std::to_string(s.zero.stage) + ", " + comm->backend());
  else
    log::warn_once("cpu-fp32", std::string("no GPU: computing in fp32 on the CPU (--dtype ") + dtype_name(s.dtype) +
                                   " applies on GPUs); the saved weights are fp32");
  if (cfg.dropout) model::override_dropout(mcfg, *cfg.dropout);

  // tokenizer and data
  Tokenizer tok = Tokenizer::load(model_dir);
  if (cfg.add_eot_token) {
    check(tok.token_to_id(cfg.eot_token).has_value(),
          "--add_eot_token: '" + cfg.eot_token + "' is not in this tokenizer's vocabulary and adding tokens (resizing the "
          "embeddings) is not supported yet",
          "pick an --eot_token the tokenizer already has, or drop --add_eot_token (step 1 ends samples with the EOS token)");
    log::info("--add_eot_token: '" + cfg.eot_token + "' is already in the vocabulary; nothing to add");
  }
  data::BlendOptions blend;
  blend.data_path = cfg.data_path;
  blend.sft_only_data_path = cfg.sft_only_data_path;
  blend.data_split = cfg.data_split;
  blend.seed = cfg.seed;
  blend.phase = 1;
  data::SampleOptions so;
  so.max_seq_len = cfg.max_seq_len;
  so.record_prompt_tokens = cfg.assistant_only_loss;
  // The first rank of each node builds the node-local cache; the others read it once it is complete.
  auto prepare = [&] { return data::prepare_step1_data(blend, tok, model_dir, so, cfg.data_output_path); };
  std::optional<data::PreparedData> first;
  if (ri.local_rank == 0) first.emplace(prepare());
  comm->barrier();
  data::PreparedData pd = first ? std::move(*first) : prepare();
  log::info("data: " + std::to_string(pd.train.size()) + " train / " + std::to_string(pd.eval.size()) + " eval samples (" +
            (pd.from_cache ? "cached " : "built ") + pd.train_path + ")");
  check(pd.train.size() > 0, "phase 1 of --data_split " + cfg.data_split + " selects no training samples");
  StoreSamples train_set(pd.train, cfg.assistant_only_loss), eval_set(pd.eval, cfg.assistant_only_loss);
  data::SamplerOptions smp;
  smp.world_size = int(world);
  smp.rank = rank;
  train::EpochPlan plan;
  plan.train_batches = data::micro_batches(data::distributed_sampler_indices(train_set.size(), smp), s.micro_batch_size);
  if (eval_set.size() > 0)
    plan.eval_batches = data::micro_batches(data::distributed_sampler_indices(eval_set.size(), smp), cfg.per_device_eval_batch_size);

  // model: every rank reads the checkpoint unit by unit and keeps what its ZeRO stage assigns it
  model::LoraSpec lora{int(cfg.lora_dim), cfg.lora_module_name, cfg.only_optimize_lora, 0.0};
  dist::ZeroOptions zo;
  zo.stage = int(s.zero.stage);
  zo.overlap_comm = s.zero.overlap_comm || s.zero.stage == 3;
  zo.offload = offload && dev.is_cuda();
  if (offload && !dev.is_cuda() && rank == 0)
    log::info("--offload: computing on the CPU, where the optimizer state is in host memory already");
  dist::ZeroEngine engine(mcfg, lora, compute, dev, *comm, zo);
  {
    LoadOptions lopt;
    lopt.progress = rank == 0;
    // streamed onto the device, LoRA initialised from --seed (the same on every rank)
    const LoadStats ls = train::load_base_model(engine, model_dir, uint64_t(cfg.seed), lopt);
    if (rank == 0) log::info(ls.str() + " onto " + dev.str());
  }
  if (rank == 0)
    log::info(std::string(model::arch_name(mcfg.arch)) + ": " + std::to_string(engine.layout().total_numel()) + " parameters, " +
              std::to_string(engine.layout().trainable_numel()) + " trainable" +
              (lora.enabled() ? ", LoRA r=" + std::to_string(lora.dim) + " on " + std::to_string(engine.layout().lora_modules.size()) + " linears"
                              : ""));
  log::info("rank " + std::to_string(rank) + " ZeRO-" + std::to_string(zo.stage) + " state: " + engine.memory().str());

  train::MetricsLogger metrics;
  if (rank == 0 && s.tensorboard_enabled) metrics.add(std::make_unique<train::TensorBoardSink>(s.tensorboard_dir));
  if (rank == 0 && cfg.metrics_file) metrics.add(std::make_unique<train::JsonlSink>(*cfg.metrics_file));

  train::LoopOptions lo;
  lo.epochs = cfg.num_train_epochs;
  lo.gradient_accumulation_steps = s.gradient_accumulation_steps;
  lo.gradient_clipping = s.gradient_clipping;
  lo.schedule = s.schedule.lr_scheduler_type;
  lo.num_warmup_steps = s.schedule.num_warmup_steps;
  lo.groups = {s.optimizer.learning_rate, s.optimizer.weight_decay, s.optimizer.lora_learning_rate};
  lo.adam = {s.optimizer.beta1, s.optimizer.beta2, s.optimizer.eps};
  lo.gradient_checkpointing = s.gradient_checkpointing;
  lo.print_loss = cfg.print_loss;
  lo.steps_per_print = s.steps_per_print;
  lo.seed = uint64_t(cfg.seed);
  lo.rank = rank;
  if (compute == DType::f16) lo.loss_scaler = s.loss_scaler;
  train::Trainer trainer(engine, lo, &metrics);

  // checkpoints: resume (every rank reads the saved slices it owns now), then save as the loop goes
  const std::string ckpt_root = cfg.output_dir ? (fs::path(*cfg.output_dir) / "checkpoints").string() : std::string();
  const train::RunShape run_shape{int64_t(plan.train_batches.size()), s.micro_batch_size * world, s.gradient_accumulation_steps};
  const Json run_config = {{"flags", train::train_config_json(cfg)}, {"settings", train::train_settings_json(s)}};
  if (cfg.resume)
    if (auto dir = train::agree_resume_checkpoint(*cfg.resume, ckpt_root, *comm, dev))
      train::restore_checkpoint(train::read_checkpoint_manifest(*dir), trainer, run_shape, run_config);
  std::unique_ptr<train::CheckpointWriter> ckpt_writer;
  if (cfg.save_steps > 0 || cfg.save_each_epoch) {
    train::CheckpointOptions co;
    co.root = ckpt_root;
    co.save_steps = cfg.save_steps;
    co.save_each_epoch = cfg.save_each_epoch;
    co.save_total_limit = cfg.save_total_limit;
    co.run = run_shape;
    co.config = run_config;
    co.model_name_or_path = fs::absolute(model_dir).string();
    co.crash_during_save_step = env_int("ZEROTUNE_TEST_CRASH_DURING_SAVE", -1);  // tests only: kill -9 mid-write
    ckpt_writer = std::make_unique<train::CheckpointWriter>(trainer, co);
    trainer.set_observer(ckpt_writer.get());
  }
  log::info("***** Running training: " + std::to_string(plan.train_batches.size()) + " micro-batches per epoch, " +
            std::to_string(trainer.num_training_steps(int64_t(plan.train_batches.size()))) + " optimizer steps *****");
  train::LoopResult r = trainer.train(train_set, eval_set, plan);
  if (r.skipped_steps) log::info("fp16: " + std::to_string(r.skipped_steps) + " step(s) skipped on gradient overflow");
  log::info("trained " + std::to_string(r.applied_steps) + " steps, " + std::to_string(r.train_tokens) + " tokens in " +
            std::to_string(int(r.train_seconds)) + " s (" + std::to_string(int(double(r.train_tokens) / std::max(r.train_seconds, 1e-9))) +
            " tokens/s)");

  if (cfg.output_dir) {
    // Collective: every rank takes part in gathering the units; rank 0 keeps them and writes.
    const std::string out = *cfg.output_dir;
    std::unordered_map<std::string, Tensor> full;
    engine.gather([&](int u, const model::UnitParams& p) {
      if (rank != 0) return;
      for (auto& info : engine.layout().units[size_t(u)].params) full[info.name] = p.get(info.name);
    });
    if (rank == 0) {
      save_pretrained(mcfg, engine.layout(), lora, [&](const std::string& n) { return full.at(n); }, out, compute);
      for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"})
        if (fs::exists(fs::path(model_dir) / f)) fs::copy_file(fs::path(model_dir) / f, fs::path(out) / f, fs::copy_options::overwrite_existing);
      log::info("saving the final model to " + out + (lora.enabled() ? " (LoRA merged)" : ""));
      if (lora.enabled()) {
        const auto others = non_lora_trainable(engine.layout());
        if (others.empty()) {
          const std::string adir = (fs::path(out) / "adapter").string();
          save_peft_adapter(engine.layout(), lora, [&](const std::string& n) { return full.at(n); }, adir, compute,
                            fs::absolute(model_dir).string());
          log::info("saving the LoRA adapter (PEFT format) to " + adir);
        } else {
          log::info("no PEFT adapter written: " + std::to_string(others.size()) + " parameters besides the LoRA matrices trained "
                    "too (e.g. " + others[0] + "), which an adapter would lose; " + out + " has the merged model (train with "
                    "--only_optimize_lora for an adapter)");
        }
      }
    }
    comm->barrier();
  }
  return 0;
}

}  // namespace zt::cli
