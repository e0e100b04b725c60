// `zerotune init`'s writer (io/random_init + model/init): the same bytes for 1 and N threads, transformers' layout
// (names, shapes, shards, config dtype), the initialiser's statistics, block determinism for any sub-range, the
// streaming writers against their whole-tensor counterparts, and the 8B preset's parameter count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <thread>

#include "cpu/model/fixture_util.hpp"
#include "io/hf_checkpoint.hpp"
#include "io/model_io.hpp"
#include "io/random_init.hpp"
#include "io_test_util.hpp"
#include "model/init.hpp"
#include "model/presets.hpp"

using namespace zt;
namespace fs = std::filesystem;

namespace {

// A Llama big enough for statistics (about 1.6 M parameters) with a padding row.
model::ModelConfig stats_config() {
  Json j = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"vocab_size", 1000}, {"hidden_size", 256},
            {"intermediate_size", 512},           {"num_hidden_layers", 2},   {"num_attention_heads", 4},
            {"num_key_value_heads", 2},           {"initializer_range", 0.02}, {"pad_token_id", 3},
            {"tie_word_embeddings", false},       {"torch_dtype", "bfloat16"}};
  return model::parse_model_config(j, "stats config");
}

std::vector<std::string> weight_files(const std::string& dir) {
  std::vector<std::string> v;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".safetensors" || e.path().filename() == "model.safetensors.index.json") v.push_back(e.path().filename());
  std::sort(v.begin(), v.end());
  return v;
}

TEST(RandomInit, SameBytesForAnyThreadCountShardedLikeTransformers) {
  iotest::ScratchDir d("init_threads");
  const model::ModelConfig cfg = stats_config();
  RandomInitOptions o;
  o.seed = 42;
  o.progress = false;
  o.max_shard_bytes = 600'000;  // several shards + index
  o.threads = 1;
  const RandomInitStats a = write_random_checkpoint(cfg, d.file("t1"), o);
  o.threads = 5;
  const RandomInitStats b = write_random_checkpoint(cfg, d.file("t5"), o);
  EXPECT_EQ(a.bytes, b.bytes);
  EXPECT_GT(a.shards, 2u);
  const auto files = weight_files(d.file("t1"));
  ASSERT_EQ(files, weight_files(d.file("t5")));
  EXPECT_EQ(files.size(), a.shards + 1);
  for (auto& f : files) EXPECT_EQ(iotest::read_bytes(d.file("t1/" + f)), iotest::read_bytes(d.file("t5/" + f))) << f;
  o.seed = 43;
  write_random_checkpoint(cfg, d.file("s43"), o);
  EXPECT_NE(iotest::read_bytes(d.file("t1/" + files[0])), iotest::read_bytes(d.file("s43/" + files[0])));

  // Layout: every base parameter of the model, in save_pretrained's order, bf16 (the config's dtype).
  HfCheckpoint ck = HfCheckpoint::open(d.file("t1"));
  const model::ModelLayout layout = model::make_layout(cfg, model::LoraSpec{});
  size_t n = 0;
  int64_t numel = 0;
  for (auto& u : layout.units)
    for (auto& p : u.params) {
      ASSERT_TRUE(ck.contains(p.name)) << p.name;
      EXPECT_EQ(ck.info(p.name).shape, p.shape) << p.name;
      EXPECT_EQ(ck.info(p.name).dtype, DType::bf16) << p.name;
      ++n;
      numel += p.numel();
    }
  EXPECT_EQ(ck.size(), n);
  EXPECT_EQ(a.tensors, n);
  EXPECT_EQ(a.parameters, numel);
  EXPECT_EQ(a.bytes, uint64_t(numel) * 2);
  const Json c = ck.config();
  EXPECT_EQ(c.at("torch_dtype"), "bfloat16");
  EXPECT_EQ(c.at("hidden_size"), 256);
}

TEST(RandomInit, StatisticsFollowTransformersInit) {
  iotest::ScratchDir d("init_stats");
  const model::ModelConfig cfg = stats_config();
  RandomInitOptions o;
  o.progress = false;
  o.dtype = DType::f32;
  o.threads = 2;
  write_random_checkpoint(cfg, d.file("m"), o);
  HfCheckpoint ck = HfCheckpoint::open(d.file("m"));
  for (auto& name : ck.names()) {
    Tensor t = ck.load(name, DType::f64);
    const double* x = t.data<double>();
    const int64_t n = t.numel();
    if (name.ends_with("norm.weight")) {
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(x[i], 1.0) << name;
      continue;
    }
    int64_t skip_lo = 0, skip_hi = 0;
    if (name == "model.embed_tokens.weight") {  // padding_idx row 3 is zero
      skip_lo = 3 * 256, skip_hi = 4 * 256;
      for (int64_t i = skip_lo; i < skip_hi; ++i) ASSERT_EQ(x[i], 0.0);
    }
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (i >= skip_lo && i < skip_hi) continue;
      s += x[i];
      s2 += x[i] * x[i];
    }
    const double m = double(n - (skip_hi - skip_lo));
    const double mean = s / m, sd = std::sqrt(s2 / m - mean * mean);
    EXPECT_LT(std::abs(mean), 5 * 0.02 / std::sqrt(m)) << name;
    EXPECT_NEAR(sd, 0.02, 0.02 * 6 / std::sqrt(2 * m)) << name;
  }
}

TEST(RandomInit, ABlockIsTheSameWhateverRangeAsksForIt) {
  const model::ModelConfig cfg = stats_config();
  model::LoraSpec lora;
  lora.dim = 8;
  lora.module_name = "model.layers.";
  const model::ModelLayout layout = model::make_layout(cfg, lora);
  for (const char* name : {"model.embed_tokens.weight", "model.layers.1.mlp.up_proj.lora_right_weight", "model.norm.weight"}) {
    const model::ParamInfo* p = layout.find(name).second;
    ASSERT_NE(p, nullptr);
    std::vector<float> whole(size_t(p->numel()));
    model::init_param_range(cfg, lora, *p, 9, 0, p->numel(), whole.data());
    for (auto [lo, n] : {std::pair<int64_t, int64_t>{0, 1}, {777, 1000}, {p->numel() - 5, 5}, {model::kInitBlock - 3, 7}}) {
      if (lo < 0 || lo + n > p->numel()) continue;
      std::vector<float> part(static_cast<size_t>(n));
      model::init_param_range(cfg, lora, *p, 9, lo, n, part.data());
      EXPECT_EQ(std::memcmp(part.data(), whole.data() + lo, size_t(n) * 4), 0) << name << " [" << lo << ", +" << n << ")";
    }
    if (p->init == model::Init::lora_right) {
      const float b = 1.0f / std::sqrt(8.0f);
      for (float v : whole) ASSERT_TRUE(v >= -b && v <= b) << v;
    }
  }
  const model::ParamInfo* big = layout.find("model.embed_tokens.weight").second;
  model::ParamInfo wide = *big;
  wide.shape = {int64_t(3) * model::kInitBlock};  // several blocks: ranges across a block boundary
  std::vector<float> whole(size_t(wide.numel())), part(1000);
  model::init_param_range(cfg, lora, wide, 9, 0, wide.numel(), whole.data());
  model::init_param_range(cfg, lora, wide, 9, 2 * model::kInitBlock - 500, 1000, part.data());
  EXPECT_EQ(std::memcmp(part.data(), whole.data() + 2 * model::kInitBlock - 500, 4000), 0);
  EXPECT_NE(std::memcmp(whole.data(), whole.data() + model::kInitBlock, 4000), 0);  // blocks draw different numbers
}

TEST(RandomInit, OutputLoadsForTiedModels) {
  iotest::ScratchDir d("init_cli");
  // qwen2 fixture: tied embeddings (no lm_head written), biases zero
  const model::ModelConfig cfg = model::load_model_config(test::fixture_dir("qwen2") + "/model");
  RandomInitOptions o;
  o.progress = false;
  write_random_checkpoint(cfg, d.file("q"), o);
  HfCheckpoint ck = HfCheckpoint::open(d.file("q"));
  EXPECT_FALSE(ck.contains("lm_head.weight"));
  Tensor bias = ck.load("model.layers.0.self_attn.q_proj.bias", DType::f32);
  for (int64_t i = 0; i < bias.numel(); ++i) ASSERT_EQ(bias.data<float>()[i], 0.0f);
  auto m = load_pretrained(d.file("q"), model::LoraSpec{}, DType::f32);
  EXPECT_EQ(m->layout().total_numel(), model::make_layout(cfg, model::LoraSpec{}).total_numel());
}

TEST(RandomInit, Llama3_8bPresetHasTheHubParameterCount) {
  const model::ModelConfig cfg = model::parse_model_config(model::preset_config("llama3-8b"), "preset");
  EXPECT_EQ(model::make_layout(cfg, model::LoraSpec{}).total_numel(), 8'030'261'248);  // Meta-Llama-3-8B
  EXPECT_EQ(cfg.torch_dtype, "bfloat16");
  EXPECT_EQ(model::llama3_8b_config(2).at("num_hidden_layers"), 2);
  iotest::expect_error([] { model::preset_config("gpt5"); }, {"gpt5", "llama3-8b"});
}

TEST(StreamingWriters, ParallelPiecesGiveTheWholeTensorBytes) {
  iotest::ScratchDir d("writers");
  std::vector<std::pair<std::string, Tensor>> ts;
  for (int i = 0; i < 7; ++i) {
    Tensor t = Tensor::empty({int64_t(100 + 37 * i)}, i % 3 == 0 ? DType::f32 : DType::bf16);
    for (size_t b = 0; b < t.nbytes(); ++b) static_cast<unsigned char*>(t.raw())[b] = uint8_t(b * 7 + size_t(i));
    ts.emplace_back("t" + std::to_string(i), t);
  }
  save_hf_checkpoint(d.file("whole"), ts, Json::object(), 1500);
  std::vector<TensorSpec> specs;
  for (auto& [n, t] : ts) specs.push_back({n, t.dtype(), t.shape()});
  {
    HfCheckpointWriter w(d.file("pieces"), specs, Json::object(), 1500);
    EXPECT_EQ(w.files().size(), weight_files(d.file("whole")).size() - 1);
    std::vector<std::jthread> th;
    for (size_t i = 0; i < ts.size(); ++i)
      th.emplace_back([&, i] {
        const Tensor& t = ts[i].second;
        for (size_t off = t.nbytes(); off > 0;) {  // back to front in 10-byte pieces
          const size_t lo = off >= 10 ? off - 10 : 0;
          w.write(i, lo, static_cast<const char*>(t.raw()) + lo, off - lo);
          off = lo;
        }
      });
    th.clear();
    iotest::expect_error([&] { w.write(0, ts[0].second.nbytes() - 2, ts[0].second.raw(), 4); }, {"overrun", "t0"});
    w.commit();
  }
  for (auto& f : weight_files(d.file("whole")))
    EXPECT_EQ(iotest::read_bytes(d.file("whole/" + f)), iotest::read_bytes(d.file("pieces/" + f))) << f;
  {
    HfCheckpointWriter w(d.file("abandoned"), specs, Json::object(), 1500);  // never committed: nothing stays
  }
  EXPECT_TRUE(!fs::exists(d.file("abandoned")) || weight_files(d.file("abandoned")).empty());
  for (auto& e : fs::directory_iterator(d.file("abandoned"))) ADD_FAILURE() << "left behind: " << e.path();
}

}  // namespace
