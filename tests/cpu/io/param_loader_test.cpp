// The streaming checkpoint loader (io/param_loader) against the per-tensor path it replaces (load_unit_parameters):
// the same bytes in every parameter for the transformers fixtures, across dtype conversions (f32 file -> bf16/f16/f64
// compute, bf16 file -> f32), sharded directories, LoRA units, tiny chunks and several threads; errors name the tensor.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "core/progress.hpp"
#include "cpu/model/fixture_util.hpp"
#include "io/model_io.hpp"
#include "io/param_loader.hpp"
#include "io_test_util.hpp"
#include "model/resident.hpp"

using namespace zt;

namespace {

model::LoraSpec lora_spec(int dim) {
  model::LoraSpec l;
  l.dim = dim;
  l.module_name = "model.layers.";
  return l;
}

// Two models of the same shape with every buffer poisoned, so an element one path skips shows up as a difference.
std::unique_ptr<model::ResidentModel> poisoned_model(const model::ModelConfig& cfg, const model::LoraSpec& lora, DType dt) {
  auto m = std::make_unique<model::ResidentModel>(cfg, lora, dt);
  for (int u = 0; u < int(m->layout().units.size()); ++u) {
    const auto& p = m->unit_params(u);
    for (const Tensor* t : {&p.frozen, &p.trainable})
      if (t->defined()) std::memset(t->raw(), 0x5a, t->nbytes());
  }
  return m;
}

void expect_same_bytes(const model::ResidentModel& a, const model::ResidentModel& b, const std::string& what) {
  for (int u = 0; u < int(a.layout().units.size()); ++u) {
    const auto& pa = a.unit_params(u);
    const auto& pb = b.unit_params(u);
    for (auto [x, y] : {std::pair{&pa.frozen, &pb.frozen}, std::pair{&pa.trainable, &pb.trainable}}) {
      ASSERT_EQ(x->defined(), y->defined());
      if (!x->defined()) continue;
      ASSERT_EQ(x->nbytes(), y->nbytes());
      EXPECT_EQ(std::memcmp(x->raw(), y->raw(), x->nbytes()), 0) << what << ": unit " << a.layout().units[size_t(u)].name;
    }
  }
}

// Loads `dir` into a model in `dt` through the old per-tensor path and through the loader; compares every byte.
void compare_paths(const std::string& dir, const model::LoraSpec& lora, DType dt, ops::UploadOptions up, const std::string& what) {
  HfCheckpoint ckpt = HfCheckpoint::open(dir);
  const model::ModelConfig cfg = model::parse_model_config(ckpt.config(), dir);
  auto old_m = poisoned_model(cfg, lora, dt);
  auto new_m = poisoned_model(cfg, lora, dt);
  size_t n_old = 0, n_new = 0;
  for (size_t u = 0; u < old_m->layout().units.size(); ++u)
    n_old += load_unit_parameters(ckpt, old_m->layout().units[u], old_m->unit_params(int(u)));
  LoadOptions lo;
  lo.progress = false;
  lo.upload = up;
  CheckpointLoader loader(ckpt, new_m->layout(), Device::CPU(), lo);
  for (size_t u = 0; u < new_m->layout().units.size(); ++u)
    n_new += loader.load_unit(new_m->layout().units[u], new_m->unit_params(int(u)));
  const LoadStats st = loader.finish();
  EXPECT_EQ(n_old, n_new) << what;
  EXPECT_EQ(st.tensors, n_new) << what;
  uint64_t bytes = 0;
  for (auto& u : new_m->layout().units)
    for (auto& p : u.params)
      if (ckpt.contains(p.name)) bytes += ckpt.info(p.name).nbytes();
  EXPECT_EQ(st.bytes, bytes) << what;
  EXPECT_NE(st.str().find("loaded " + std::to_string(n_new) + " tensors"), std::string::npos) << st.str();
  expect_same_bytes(*old_m, *new_m, what);
}

const char* const kFixtures[] = {"llama2", "llama31", "mistral", "qwen2"};

TEST(ParamLoader, FixturesMatchThePerTensorPathInEveryDtype) {
  for (const char* fx : kFixtures)
    for (DType dt : {DType::f32, DType::bf16, DType::f16, DType::f64})
      for (int r : {0, 4}) {
        ops::UploadOptions up;
        up.threads = 3;
        up.chunk_bytes = 1000;  // many chunks per tensor, ragged ends
        compare_paths(test::fixture_dir(fx) + "/model", lora_spec(r), dt, up,
                      std::string(fx) + " as " + dtype_name(dt) + " lora " + std::to_string(r));
      }
}

TEST(ParamLoader, ShardedBf16CheckpointIntoF32AndBf16) {
  iotest::ScratchDir d("loader_sharded");
  for (const char* fx : {"llama31", "qwen2"}) {
    auto m = load_pretrained(test::fixture_dir(fx) + "/model", model::LoraSpec{}, DType::f32);
    const std::string out = d.file(fx);
    save_pretrained(*m, out, DType::bf16, /*max_shard_bytes=*/20000);  // several shards + index
    ASSERT_GT(HfCheckpoint::open(out).shards().size(), 2u);
    for (DType dt : {DType::f32, DType::bf16})
      for (int threads : {1, 4}) {
        ops::UploadOptions up;
        up.threads = threads;
        up.chunk_bytes = 4096;
        compare_paths(out, lora_spec(8), dt, up, std::string(fx) + " sharded bf16 -> " + dtype_name(dt));
      }
  }
}

TEST(ParamLoader, LoraTensorsInTheCheckpointAreLoadedOthersKeepTheirInit) {
  iotest::ScratchDir d("loader_lora");
  auto src = load_pretrained(test::fixture_dir("llama2") + "/model", lora_spec(4), DType::f32);
  src->init_lora(99);
  // A checkpoint that carries the LoRA matrices of layer 0 only.
  std::vector<std::pair<std::string, Tensor>> ts;
  for (auto& u : src->layout().units)
    for (auto& p : u.params)
      if (p.name.find("lora") == std::string::npos || p.name.find("layers.0.") != std::string::npos) ts.emplace_back(p.name, src->param(p.name));
  save_hf_checkpoint(d.file("m"), ts, src->config().raw);
  HfCheckpoint ckpt = HfCheckpoint::open(d.file("m"));
  auto m = std::make_unique<model::ResidentModel>(src->config(), lora_spec(4), DType::f32);
  m->init_lora(7);
  LoadOptions lo;
  lo.progress = false;
  CheckpointLoader loader(ckpt, m->layout(), Device::CPU(), lo);
  for (size_t u = 0; u < m->layout().units.size(); ++u) loader.load_unit(m->layout().units[u], m->unit_params(int(u)));
  loader.finish();
  auto init_only = std::make_unique<model::ResidentModel>(src->config(), lora_spec(4), DType::f32);
  init_only->init_lora(7);
  int lora_loaded = 0, lora_kept = 0;
  for (auto& u : m->layout().units)
    for (auto& p : u.params) {
      const Tensor got = m->param(p.name);
      const bool from_ckpt = ckpt.contains(p.name);
      const Tensor want = from_ckpt ? src->param(p.name) : init_only->param(p.name);
      EXPECT_EQ(std::memcmp(got.raw(), want.raw(), got.nbytes()), 0) << p.name;
      if (p.name.find("lora") != std::string::npos) ++(from_ckpt ? lora_loaded : lora_kept);
    }
  EXPECT_EQ(lora_loaded, 14);  // 7 linears x (right, left) in layer 0
  EXPECT_GT(lora_kept, 0);
}

TEST(ParamLoader, ErrorsNameTheTensor) {
  iotest::ScratchDir d("loader_err");
  auto src = load_pretrained(test::fixture_dir("llama2") + "/model", model::LoraSpec{}, DType::f32);
  auto ts = std::vector<std::pair<std::string, Tensor>>{};
  for (auto& u : src->layout().units)
    for (auto& p : u.params) ts.emplace_back(p.name, src->param(p.name));
  // a wrong shape
  ts[0].second = Tensor::empty({3, 5}, DType::f32);
  ts[0].second.fill(1.0);
  save_hf_checkpoint(d.file("shape"), ts, src->config().raw);
  {
    HfCheckpoint ckpt = HfCheckpoint::open(d.file("shape"));
    model::ResidentModel m(src->config(), model::LoraSpec{}, DType::f32);
    LoadOptions lo;
    lo.progress = false;
    CheckpointLoader loader(ckpt, m.layout(), Device::CPU(), lo);
    iotest::expect_error([&] { loader.load_unit(m.layout().units[0], m.unit_params(0)); },
                         {"model.embed_tokens.weight", "[3, 5]", "config.json"});
  }
  // an integer tensor where a float weight belongs
  ts[0].second = Tensor::empty(src->param("model.embed_tokens.weight").shape(), DType::i32);
  std::memset(ts[0].second.raw(), 0, ts[0].second.nbytes());
  save_hf_checkpoint(d.file("int"), ts, src->config().raw);
  {
    HfCheckpoint ckpt = HfCheckpoint::open(d.file("int"));
    model::ResidentModel m(src->config(), model::LoraSpec{}, DType::f32);
    LoadOptions lo;
    lo.progress = false;
    CheckpointLoader loader(ckpt, m.layout(), Device::CPU(), lo);
    iotest::expect_error([&] { loader.load_unit(m.layout().units[0], m.unit_params(0)); }, {"model.embed_tokens.weight", "I32", "f32"});
  }
}

TEST(ParamLoader, UploaderChunksConvertLikeTheScalarConversion) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> nd(0.0, 3.0);
  const int64_t n = 10007;
  std::vector<double> src(static_cast<size_t>(n));
  for (auto& x : src) x = nd(rng);
  for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
    Tensor want = Tensor::empty({n}, dt);
    convert(want.raw(), dt, src.data(), DType::f64, size_t(n));
    for (size_t chunk : {size_t(64), size_t(1000), size_t(1) << 20}) {
      Tensor got = Tensor::empty({n}, dt);
      std::memset(got.raw(), 0x77, got.nbytes());
      ops::UploadOptions o;
      o.threads = 4;
      o.chunk_bytes = chunk;
      ops::Uploader up(Device::CPU(), o);
      up.upload(got, src.data(), DType::f64);
      up.finish();
      EXPECT_EQ(up.bytes_done(), uint64_t(n) * 8);
      EXPECT_EQ(std::memcmp(got.raw(), want.raw(), got.nbytes()), 0) << dtype_name(dt) << " chunk " << chunk;
    }
  }
  ops::Uploader up(Device::CPU());
  Tensor ints = Tensor::empty({4}, DType::i32);
  iotest::expect_error([&] { up.upload(ints, src.data(), DType::f64); }, {"cannot convert"});
}

TEST(ParamLoader, ProgressLineReadsBytesRateAndEta) {
  const std::string l = ByteProgress::line("loading /m", 4'000'000'000ull, 16'000'000'000ull, 2.0, 10);
  EXPECT_NE(l.find("loading /m 4.00/16.00 GB"), std::string::npos) << l;
  EXPECT_NE(l.find("[##........]"), std::string::npos) << l;
  EXPECT_NE(l.find(" 25%"), std::string::npos) << l;
  EXPECT_NE(l.find("2.00 GB/s"), std::string::npos) << l;
  EXPECT_NE(l.find("ETA 6 s"), std::string::npos) << l;
  const std::string done = ByteProgress::line("x", 5, 5, 1.0, 0);
  EXPECT_EQ(done.find("ETA"), std::string::npos) << done;
  EXPECT_NE(done.find("100%"), std::string::npos) << done;
}

}  // namespace
