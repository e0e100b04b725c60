// The GPU side of the streamed checkpoint load: ops::Uploader into GPU tensors equals the CPU conversion bit for bit
// (f32/bf16/f16/f64 sources into f32/bf16/f16, small chunks, several threads), its copies are ordered against the
// caller's stream in both directions, and load_base_model into a bf16 ZeRO engine on the GPU (stages 0 and 3) gives the
// same parameters and fp32 masters as the per-tensor fill `zerotune train` used before.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <random>

#include "cpu/model/fixture_util.hpp"
#include "cuda_test_util.hpp"
#include "dist/comm.hpp"
#include "dist/zero.hpp"
#include "io/model_io.hpp"
#include "model/resident.hpp"
#include "ops/transfer.hpp"
#include "train/base_model.hpp"

using namespace zt;
using cudatest::kGpu;

namespace {

// The HF fixture's model directory: the compile-time path, else the repository root the staged run starts in.
std::string hf_model(const std::string& name) {
  const std::filesystem::path p = test::fixture_dir(name) + "/model";
  return std::filesystem::exists(p) ? p.string() : (std::filesystem::current_path() / "tests/fixtures/hf" / name / "model").string();
}

std::string bytes_of(const Tensor& t) {
  Tensor h = t;
  if (t.device().is_cuda()) {
    h = Tensor::empty(t.shape(), t.dtype());
    ops::copy(h, t);
  }
  return std::string(static_cast<const char*>(h.raw()), h.nbytes());
}

TEST(LoadCuda, UploaderMatchesTheCpuConversion) {
  cuda::initialize();
  std::mt19937_64 rng(11);
  std::normal_distribution<double> nd(0.0, 2.0);
  const int64_t n = 300'007;
  std::vector<double> f64(static_cast<size_t>(n));
  for (auto& x : f64) x = nd(rng);
  for (DType src_t : {DType::f32, DType::bf16, DType::f16, DType::f64}) {
    Tensor src = Tensor::empty({n}, src_t);
    convert(src.raw(), src_t, f64.data(), DType::f64, size_t(n));
    for (DType dst_t : {DType::f32, DType::bf16, DType::f16}) {
      Tensor want = Tensor::empty({n}, dst_t);
      convert(want.raw(), dst_t, src.raw(), src_t, size_t(n));
      for (size_t chunk : {size_t(4096), size_t(1) << 20}) {
        Tensor got = cudatest::poisoned({n}, dst_t);
        ops::UploadOptions o;
        o.threads = 4;
        o.chunk_bytes = chunk;
        o.staging_buffers = 3;  // fewer buffers than threads: workers wait for each other's copies
        ops::Uploader up(kGpu, o);
        up.upload(got.narrow(0, n / 2), src.raw(), src_t);
        up.upload(got.narrow(n / 2, n - n / 2), static_cast<const char*>(src.raw()) + size_t(n / 2) * dtype_size(src_t), src_t);
        up.finish();
        EXPECT_EQ(up.bytes_done(), uint64_t(n) * dtype_size(src_t));
        EXPECT_TRUE(bytes_of(got) == bytes_of(want)) << dtype_name(src_t) << " -> " << dtype_name(dst_t) << ", chunk " << chunk;
      }
    }
  }
}

TEST(LoadCuda, CopiesAreOrderedAgainstTheCallersStream) {
  cuda::initialize();
  const int64_t n = int64_t(16) << 20;  // 64 MiB of f32
  Tensor src = Tensor::empty({n}, DType::f32);
  for (int64_t i = 0; i < n; ++i) src.data<float>()[i] = float(i % 1000);
  Tensor t = Tensor::empty({n}, DType::f32, kGpu), acc = Tensor::empty({n}, DType::f32, kGpu);
  ops::zero(acc);
  ops::UploadOptions o;
  o.threads = 6;
  o.chunk_bytes = size_t(1) << 20;
  ops::Uploader up(kGpu, o);
  const int rounds = 8;
  for (int r = 0; r < rounds; ++r) {
    ops::scale_(t, 0.0f);  // queued on this thread's stream: the upload must land after it
    up.upload(t, src.raw(), DType::f32);
    up.fence();            // no host wait: the add below must still see the whole upload
    ops::add_(acc, t);
  }
  up.finish();
  Tensor h = Tensor::empty({n}, DType::f32);
  ops::copy(h, acc);
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) bad += h.data<float>()[i] != float(rounds) * float(i % 1000);
  EXPECT_EQ(bad, 0);
}

std::map<std::string, std::string> snapshot(dist::ZeroEngine& e) {
  std::map<std::string, std::string> out;
  e.gather([&](int u, const model::UnitParams& p) {
    for (auto& info : e.layout().units[size_t(u)].params) out[info.name] = bytes_of(p.get(info.name));
  });
  for (auto& sg : e.segments()) out["master:" + sg.name + "@" + std::to_string(sg.offset)] = bytes_of(sg.master);
  return out;
}

TEST(LoadCuda, BaseModelOnTheGpuMatchesThePerTensorFill) {
  cuda::initialize();
  for (const char* fx : {"llama2", "qwen2"})
    for (int stage : {0, 3}) {
      const std::string dir = hf_model(fx);
      const model::ModelConfig cfg = model::load_model_config(dir);
      model::LoraSpec lora;
      lora.dim = 4;
      lora.module_name = "model.layers.";
      auto comm = dist::make_single_comm();
      dist::ZeroOptions zo;
      zo.stage = stage;
      dist::ZeroEngine e1(cfg, lora, DType::bf16, kGpu, *comm, zo);
      {
        HfCheckpoint ckpt = HfCheckpoint::open(dir);
        std::mt19937_64 rng(5);
        e1.load([&](int u, const model::UnitParams& dst) {
          model::init_unit_lora(lora, e1.layout().units[size_t(u)], dst, rng);
          load_unit_parameters(ckpt, e1.layout().units[size_t(u)], dst);
        });
      }
      dist::ZeroEngine e2(cfg, lora, DType::bf16, kGpu, *comm, zo);
      LoadOptions lo;
      lo.progress = false;
      lo.upload.chunk_bytes = 2048;
      const LoadStats st = train::load_base_model(e2, dir, 5, lo);
      EXPECT_GT(st.tensors, 0u);
      const auto a = snapshot(e1), b = snapshot(e2);
      ASSERT_EQ(a.size(), b.size());
      for (auto& [name, bytes] : a) EXPECT_TRUE(b.at(name) == bytes) << fx << " stage " << stage << ": " << name;
    }
}

}  // namespace
