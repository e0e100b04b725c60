// `zerotune load-bench`: times the checkpoint load of `zerotune train` alone (HF directory -> ZeRO engine on one
// GPU, the same code), printing the rate per repetition; run it twice or warm the page cache to time memory, not disk.
#include <cstdio>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "dist/comm.hpp"
#include "dist/zero.hpp"
#include "model/config.hpp"
#include "train/base_model.hpp"
#ifdef ZT_HAVE_CUDA
#include <cuda_runtime.h>

#include "ops/cuda/caching_allocator.hpp"
#include "ops/cuda/runtime.hpp"
#endif

namespace zt::cli {

int cmd_load_bench(const std::vector<std::string>& argv) {
  Args a("load-bench",
         "Loads a Hugging Face model directory onto one GPU the way `zerotune train` does (ZeRO engine, LoRA set-up,\n"
         "fp32 masters of the trainable parameters) and prints one JSON line per repetition: tensors, bytes, seconds,\n"
         "gb_per_s. Without a GPU (or with --device -1) it loads into fp32 CPU memory.",
         {{"model", FlagKind::string, "", "a local Hugging Face model directory", true},
          {"dtype", FlagKind::string, "bf16", "compute dtype on the GPU", false, {"bf16", "fp16", "fp32"}},
          {"lora_dim", FlagKind::integer, "128", "LoRA rank (0: full model trainable)"},
          {"lora_module_name", FlagKind::string, "model.layers.", "LoRA goes on linears whose module name contains this"},
          {"only_optimize_lora", FlagKind::boolean, "", "freeze everything but the LoRA matrices"},
          {"zero_stage", FlagKind::integer, "0", "ZeRO stage (one rank)", false, {"0", "1", "2", "3"}},
          {"repeat", FlagKind::integer, "2", "loads in a row into the same engine (the first may read from disk)"},
          {"threads", FlagKind::integer, "0", "host copy threads (0: up to 8)"},
          {"chunk_mib", FlagKind::integer, "16", "staging buffer size in MiB"},
          {"device", FlagKind::integer, "0", "GPU index; -1: the CPU"}});
  if (!a.parse(argv)) return 0;
  check(a.integer("repeat") >= 1, "--repeat must be >= 1");
  check(a.integer("chunk_mib") >= 1, "--chunk_mib must be >= 1");
  Device dev = Device::CPU();
#ifdef ZT_HAVE_CUDA
  int n = 0;
  if (a.integer("device") >= 0 && cudaGetDeviceCount(&n) == cudaSuccess && n > 0) {
    check(a.integer("device") < n, "--device " + std::to_string(a.integer("device")) + " but " + std::to_string(n) + " GPU(s) are visible");
    cuda::initialize();
    cuda::install_caching_allocator();
    dev = Device::CUDA(int(a.integer("device")));
  }
  cudaGetLastError();
#endif
  if (dev.is_cpu()) log::warn("load-bench: no GPU, loading into fp32 CPU memory");
  const std::string dts = a.str("dtype");
  const DType dt = dev.is_cpu() ? DType::f32 : dts == "bf16" ? DType::bf16 : dts == "fp16" ? DType::f16 : DType::f32;
  model::ModelConfig cfg = model::load_model_config(a.str("model"));
  model::LoraSpec lora{int(a.integer("lora_dim")), a.str("lora_module_name"), a.flag("only_optimize_lora"), 0.0};
  auto comm = dist::make_single_comm();
  dist::ZeroOptions zo;
  zo.stage = int(a.integer("zero_stage"));
  dist::ZeroEngine engine(cfg, lora, dt, dev, *comm, zo);
  log::info("load-bench: " + std::to_string(engine.layout().total_numel()) + " parameters onto " + dev.str() + " in " + dtype_name(dt) +
            ", ZeRO-" + std::to_string(zo.stage) + " state: " + engine.memory().str());
  LoadOptions lo;
  lo.upload.threads = int(a.integer("threads"));
  lo.upload.chunk_bytes = size_t(a.integer("chunk_mib")) << 20;
  for (int64_t r = 0; r < a.integer("repeat"); ++r) {
    const LoadStats s = train::load_base_model(engine, a.str("model"), 1234, lo);
    log::info(s.str() + " onto " + dev.str());
    std::printf("{\"repeat\": %lld, \"device\": \"%s\", \"tensors\": %zu, \"bytes\": %llu, \"seconds\": %.4f, \"gb_per_s\": %.3f}\n",
                (long long)r, dev.str().c_str(), s.tensors, (unsigned long long)s.bytes, s.seconds, s.gb_per_s());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace zt::cli
