// write_random_checkpoint: plan (names, shapes, shards) from the layout, then (tensor, block) tasks handed to
// threads from an atomic counter; each thread draws f32, converts to the output dtype and writes the block in place.
#include "io/random_init.hpp"

#include <sys/statvfs.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "io/model_io.hpp"
#include "model/init.hpp"

namespace zt {

RandomInitStats write_random_checkpoint(const model::ModelConfig& cfg, const std::string& dir, const RandomInitOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  check(opt.dtype == DType::f32 || opt.dtype == DType::bf16 || opt.dtype == DType::f16,
        std::string("init writes fp32, bf16 or fp16 weights, not ") + dtype_name(opt.dtype));
  const model::LoraSpec no_lora;
  const model::ModelLayout layout = model::make_layout(cfg, no_lora);
  std::vector<const model::ParamInfo*> params;
  std::vector<TensorSpec> specs;
  RandomInitStats st;
  for (const auto& u : layout.units)
    for (const auto& p : u.params) {
      params.push_back(&p);
      specs.push_back({p.name, opt.dtype, p.shape});
      st.bytes += specs.back().nbytes();
      st.parameters += p.numel();
    }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  struct statvfs vfs {};
  if (::statvfs(dir.c_str(), &vfs) == 0) {
    const uint64_t avail = uint64_t(vfs.f_bavail) * vfs.f_frsize;
    check(avail >= st.bytes, dir + ": the weights need " + format_gb(st.bytes) + " and the filesystem has " + format_gb(avail) + " free",
          "free space there or pass another --out");
  }
  Json config = cfg.raw;
  config["dtype"] = torch_dtype_name(opt.dtype);
  config["torch_dtype"] = torch_dtype_name(opt.dtype);
  HfCheckpointWriter writer(dir, specs, config, opt.max_shard_bytes);

  struct Task {
    size_t tensor;
    int64_t begin, n;
  };
  std::vector<Task> tasks;
  for (size_t i = 0; i < params.size(); ++i)
    for (int64_t b = 0; b < params[i]->numel(); b += model::kInitBlock)
      tasks.push_back({i, b, std::min(model::kInitBlock, params[i]->numel() - b)});
  // Large tensors first would not change the bytes; file order keeps the writes near-sequential per shard.
  const int threads = std::max(1, opt.threads > 0 ? opt.threads : int(std::thread::hardware_concurrency()));
  ByteProgress progress("init " + dir, st.bytes, opt.progress);
  std::atomic<size_t> next{0};
  std::mutex err_mu;
  std::exception_ptr err;
  auto work = [&] {
    std::vector<float> f32(size_t(model::kInitBlock));
    std::vector<unsigned char> out(size_t(model::kInitBlock) * dtype_size(opt.dtype));
    for (size_t k; (k = next.fetch_add(1)) < tasks.size();) {
      {
        std::lock_guard g(err_mu);
        if (err) return;
      }
      const Task& t = tasks[k];
      try {
        model::init_param_range(cfg, no_lora, *params[t.tensor], opt.seed, t.begin, t.n, f32.data());
        const size_t es = dtype_size(opt.dtype);
        if (opt.dtype == DType::f32) writer.write(t.tensor, uint64_t(t.begin) * es, f32.data(), size_t(t.n) * es);
        else {
          convert(out.data(), opt.dtype, f32.data(), DType::f32, size_t(t.n));
          writer.write(t.tensor, uint64_t(t.begin) * es, out.data(), size_t(t.n) * es);
        }
        progress.add(uint64_t(t.n) * es);
      } catch (...) {
        std::lock_guard g(err_mu);
        if (!err) err = std::current_exception();
        return;
      }
    }
  };
  std::vector<std::jthread> pool;  // joined on every way out
  for (int i = 1; i < threads; ++i) pool.emplace_back(work);
  work();
  pool.clear();
  progress.stop();
  if (err) std::rethrow_exception(err);
  writer.commit();
  st.tensors = specs.size();
  st.shards = writer.files().size();
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return st;
}

}  // namespace zt
