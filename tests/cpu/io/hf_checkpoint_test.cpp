// Hugging Face checkpoint directories: single-file and sharded save/open, index contents, lookups across
// shards, dtype conversion on load, and the errors for missing shards, stale indexes and .bin-only dirs.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "core/json.hpp"
#include "core/mmap.hpp"
#include "io/hf_checkpoint.hpp"
#include "io_test_util.hpp"

using namespace zt;
using namespace zt::iotest;
namespace fs = std::filesystem;

namespace {

Tensor ramp(DType dt, const Shape& shape, float start) {
  Tensor f = Tensor::empty(shape, DType::f32);
  for (int64_t i = 0; i < f.numel(); ++i) f.data<float>()[i] = start + 0.5f * float(i);
  return f.to_dtype(dt);
}

std::vector<std::pair<std::string, Tensor>> small_model() {
  return {
      {"model.embed_tokens.weight", ramp(DType::bf16, {8, 4}, 0)},          // 64 B
      {"model.layers.0.self_attn.q_proj.weight", ramp(DType::bf16, {4, 4}, 1)},  // 32 B
      {"model.layers.0.mlp.up_proj.weight", ramp(DType::f32, {4, 6}, 2)},     // 96 B
      {"model.layers.0.input_layernorm.weight", ramp(DType::f32, {4}, 3)},    // 16 B
      {"model.norm.weight", ramp(DType::f32, {4}, 4)},                        // 16 B
      {"lm_head.weight", ramp(DType::bf16, {8, 4}, 5)},                       // 64 B
  };
}

std::vector<std::string> files_in(const fs::path& d) {
  std::vector<std::string> r;
  for (auto& e : fs::directory_iterator(d)) r.push_back(e.path().filename().string());
  std::sort(r.begin(), r.end());
  return r;
}

void expect_same(const HfCheckpoint& c, const std::vector<std::pair<std::string, Tensor>>& ts) {
  ASSERT_EQ(c.size(), ts.size());
  for (auto& [n, t] : ts) {
    ASSERT_TRUE(c.contains(n)) << n;
    Tensor v = c.view(n);
    EXPECT_EQ(v.dtype(), t.dtype()) << n;
    EXPECT_EQ(v.shape(), t.shape()) << n;
    EXPECT_EQ(std::memcmp(v.raw(), t.raw(), t.nbytes()), 0) << n;
    EXPECT_EQ(c.shard_of(n).metadata().at("format"), "pt");
  }
}

const Json kConfig = {{"architectures", {"LlamaForCausalLM"}}, {"hidden_size", 4}, {"torch_dtype", "bfloat16"}};

}  // namespace

TEST(HfCheckpoint, SingleFileRoundTrip) {
  ScratchDir d("hf_single");
  std::string dir = d.file("out/model");  // created by the saver
  auto ts = small_model();
  save_hf_checkpoint(dir, ts, kConfig);
  EXPECT_EQ(files_in(dir), (std::vector<std::string>{"config.json", "model.safetensors"}));
  auto c = HfCheckpoint::open(dir);
  expect_same(c, ts);
  EXPECT_EQ(c.shards().size(), 1u);
  EXPECT_EQ(c.config(), kConfig);
  // names in file order: f32 tensors first (widest dtype), each group in the given order
  EXPECT_EQ(c.names(), (std::vector<std::string>{"model.layers.0.mlp.up_proj.weight", "model.layers.0.input_layernorm.weight",
                                                 "model.norm.weight", "model.embed_tokens.weight",
                                                 "model.layers.0.self_attn.q_proj.weight", "lm_head.weight"}));
  // load converts: bf16 ramp -> f32 is exact for these values
  Tensor f = c.load("model.embed_tokens.weight", DType::f32);
  EXPECT_EQ(f.data<float>()[3], 1.5f);
  EXPECT_EQ(c.info("model.norm.weight").shape, Shape{4});
  expect_error([&] { c.view("model.layers.9.mlp.up_proj.weight"); }, {dir, "no tensor 'model.layers.9.mlp.up_proj.weight'"});
  // a .safetensors path opens directly
  auto s = HfCheckpoint::open(dir + "/model.safetensors");
  expect_same(s, ts);
}

TEST(HfCheckpoint, ShardedRoundTripAndIndex) {
  ScratchDir d("hf_sharded");
  auto ts = small_model();
  save_hf_checkpoint(d.path.string(), ts, kConfig, /*max_shard_bytes=*/100);
  // 64+32 | 96 | 16+16+64: greedy fill in order, never over 100 bytes
  EXPECT_EQ(files_in(d.path), (std::vector<std::string>{"config.json", "model-00001-of-00003.safetensors",
                                                        "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors",
                                                        "model.safetensors.index.json"}));
  Json idx = load_json_file(d.file("model.safetensors.index.json"));
  EXPECT_EQ(idx["metadata"]["total_size"].get<int64_t>(), 64 + 32 + 96 + 16 + 16 + 64);
  const Json& wm = idx["weight_map"];
  ASSERT_EQ(wm.size(), ts.size());
  EXPECT_EQ(wm["model.embed_tokens.weight"], "model-00001-of-00003.safetensors");
  EXPECT_EQ(wm["model.layers.0.self_attn.q_proj.weight"], "model-00001-of-00003.safetensors");
  EXPECT_EQ(wm["model.layers.0.mlp.up_proj.weight"], "model-00002-of-00003.safetensors");
  EXPECT_EQ(wm["lm_head.weight"], "model-00003-of-00003.safetensors");

  auto c = HfCheckpoint::open(d.path.string());
  EXPECT_EQ(c.shards().size(), 3u);
  expect_same(c, ts);
  std::vector<std::string> idx_names;
  for (auto it = wm.begin(); it != wm.end(); ++it) idx_names.push_back(it.key());
  std::vector<std::string> names = c.names();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, idx_names);
  for (auto it = wm.begin(); it != wm.end(); ++it)
    EXPECT_EQ(fs::path(c.shard_of(it.key()).source()).filename(), it.value().get<std::string>());
  EXPECT_EQ(c.load("model.layers.0.mlp.up_proj.weight", DType::bf16).dtype(), DType::bf16);
}

TEST(HfCheckpoint, OversizedTensorGetsItsOwnShard) {
  ScratchDir d("hf_oversize");
  auto ts = small_model();
  save_hf_checkpoint(d.path.string(), ts, Json(), /*max_shard_bytes=*/40);
  // 64 | 32 | 96 | 16+16 | 64
  auto c = HfCheckpoint::open(d.path.string());
  EXPECT_EQ(c.shards().size(), 5u);
  expect_same(c, ts);
  EXPECT_FALSE(fs::exists(d.file("config.json")));  // null config: not written
  // one tensor larger than the limit alone is still one unsharded file
  ScratchDir e("hf_one");
  save_hf_checkpoint(e.path.string(), {ts[0]}, Json(), 10);
  EXPECT_EQ(files_in(e.path), std::vector<std::string>{"model.safetensors"});
}

TEST(HfCheckpoint, ResavingReplacesTheOtherLayout) {
  ScratchDir d("hf_resave");
  auto ts = small_model();
  save_hf_checkpoint(d.path.string(), ts, kConfig, 100);
  save_hf_checkpoint(d.path.string(), ts, kConfig);  // now fits in one file: index and shards go away
  EXPECT_EQ(files_in(d.path), (std::vector<std::string>{"config.json", "model.safetensors"}));
  save_hf_checkpoint(d.path.string(), ts, kConfig, 200);  // sharded again (192 | 96): model.safetensors goes away
  EXPECT_EQ(files_in(d.path), (std::vector<std::string>{"config.json", "model-00001-of-00002.safetensors",
                                                        "model-00002-of-00002.safetensors", "model.safetensors.index.json"}));
  expect_same(HfCheckpoint::open(d.path.string()), ts);
}

TEST(HfCheckpoint, MissingShardAndBadIndexAreErrors) {
  ScratchDir d("hf_missing");
  auto ts = small_model();
  std::string dir = d.path.string();
  save_hf_checkpoint(dir, ts, kConfig, 100);
  fs::rename(d.file("model-00002-of-00003.safetensors"), d.file("moved"));
  expect_error([&] { HfCheckpoint::open(dir); },
               {"model.safetensors.index.json", "shard model-00002-of-00003.safetensors", "model.layers.0.mlp.up_proj.weight", "missing",
                "download is incomplete"});
  fs::rename(d.file("moved"), d.file("model-00002-of-00003.safetensors"));

  // The index maps a tensor to a shard that does not hold it.
  Json idx = load_json_file(d.file("model.safetensors.index.json"));
  idx["weight_map"]["model.norm.weight"] = "model-00001-of-00003.safetensors";
  write_file_atomic(d.file("model.safetensors.index.json"), idx.dump());
  expect_error([&] { HfCheckpoint::open(dir); }, {"'model.norm.weight'", "model-00001-of-00003.safetensors", "does not contain it"});

  idx["weight_map"]["model.norm.weight"] = "../elsewhere.safetensors";
  write_file_atomic(d.file("model.safetensors.index.json"), idx.dump());
  expect_error([&] { HfCheckpoint::open(dir); }, {"'model.norm.weight'", "not a file name"});

  write_file_atomic(d.file("model.safetensors.index.json"), std::string(R"({"weight_map": []})"));
  expect_error([&] { HfCheckpoint::open(dir); }, {"missing 'weight_map'"});
  write_file_atomic(d.file("model.safetensors.index.json"), std::string(R"({"weight_map": {"a": 3}})"));
  expect_error([&] { HfCheckpoint::open(dir); }, {"'a'", "must be a file name"});
  write_file_atomic(d.file("model.safetensors.index.json"), std::string("{"));
  expect_error([&] { HfCheckpoint::open(dir); }, {"model.safetensors.index.json", "invalid JSON"});

  // A corrupt shard names the shard file.
  ScratchDir e("hf_corrupt");
  save_hf_checkpoint(e.path.string(), ts, Json());
  write_bytes(e.file("model.safetensors"), "junk");
  expect_error([&] { HfCheckpoint::open(e.path.string()); }, {"model.safetensors", "shorter than the 8-byte"});
}

TEST(HfCheckpoint, DirectoriesWithoutSafetensorsWeights) {
  ScratchDir d("hf_bin");
  write_bytes(d.file("config.json"), "{}");
  write_bytes(d.file("pytorch_model.bin"), "PK");
  expect_error([&] { HfCheckpoint::open(d.path.string()); }, {"pytorch_model.bin", "convert to safetensors", "safe_serialization=True"});

  ScratchDir e("hf_empty");
  expect_error([&] { HfCheckpoint::open(e.path.string()); }, {"no model weights", "config.json"});
  expect_error([&] { HfCheckpoint::open(e.file("config.json")); }, {"does not exist"});

  write_bytes(e.file("adapter_model.safetensors"), "x");
  expect_error([&] { HfCheckpoint::open(e.path.string()); }, {"adapter_model.safetensors", "PEFT adapter"});

  ScratchDir f("hf_noconfig");
  save_hf_checkpoint(f.path.string(), small_model(), Json());
  expect_error([&] { HfCheckpoint::open(f.path.string()).config(); }, {"config.json is missing"});
  expect_error([&] { save_hf_checkpoint(f.path.string(), small_model(), Json("text")); }, {"config must be a JSON object"});
  auto dup = small_model();
  dup.push_back(dup[0]);
  expect_error([&] { save_hf_checkpoint(f.path.string(), dup, Json(), 100); }, {"model.embed_tokens.weight", "twice"});
}
