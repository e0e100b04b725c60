// DistributedSampler semantics (padding, rank slices, torch randperm fixture when present) and step-1 samples:
// Llama 3 tokenizer specials, right truncation, the EOS text, prompt lengths, and the mmap cache (reuse, keying,
// corruption recovery).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/mmap.hpp"
#include "data/permute.hpp"
#include "data/samples.hpp"
#include "data/sampler.hpp"
#include "data_test_util.hpp"
#include "tokenizer/tokenizer.hpp"

using namespace zt;
using namespace zt::data;
namespace fs = std::filesystem;

TEST(DataSampler, DistributedSamplerSemantics) {
  auto perm = torch_randperm(5, 0);
  SamplerOptions o;
  o.world_size = 2;
  o.rank = 0;
  EXPECT_EQ(distributed_sampler_indices(5, o), (std::vector<int64_t>{perm[0], perm[2], perm[4]}));
  o.rank = 1;
  EXPECT_EQ(distributed_sampler_indices(5, o), (std::vector<int64_t>{perm[1], perm[3], perm[0]}));
  // Padding longer than the data repeats the permutation cyclically.
  o.world_size = 4;
  o.rank = 3;
  auto p2 = torch_randperm(2, 0);
  EXPECT_EQ(distributed_sampler_indices(2, o), (std::vector<int64_t>{p2[1]}));
  o.world_size = 5;
  o.rank = 4;
  EXPECT_EQ(distributed_sampler_indices(2, o), (std::vector<int64_t>{p2[0]}));
  o.drop_last = true;
  o.world_size = 2;
  o.rank = 1;
  EXPECT_EQ(distributed_sampler_indices(5, o), (std::vector<int64_t>{perm[1], perm[3]}));
  o = {};
  o.shuffle = false;
  EXPECT_EQ(distributed_sampler_indices(3, o), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(micro_batches({1, 2, 3, 4, 5}, 2), (std::vector<std::vector<int64_t>>{{1, 2}, {3, 4}, {5}}));
  EXPECT_THROW(micro_batches({1}, 0), Error);
  o.rank = 1;
  EXPECT_THROW(distributed_sampler_indices(3, o), Error);
}

TEST(DataSampler, TorchRandpermFixture) {
  std::string f = test::repo() + "/tests/fixtures/parquet/torch_randperm.json";
  if (!fs::exists(f))
    GTEST_SKIP() << "tests/fixtures/parquet/torch_randperm.json absent: run `python3 tools/fixtures/make_parquet_fixtures.py` "
                    "where torch is importable";
  Json j = load_json_file(f);
  ASSERT_GT(j["cases"].size(), 0u);
  for (auto& c : j["cases"])
    EXPECT_EQ(torch_randperm(c["n"].get<int64_t>(), c["seed"].get<uint64_t>()), c["perm"].get<std::vector<int64_t>>())
        << "n=" << c["n"] << " seed=" << c["seed"];
}

namespace {

std::string llama3_dir(std::string& err) {
  std::string dir = test::repo() + "/.cache/tokenizers/llama3_meta";  // with the BOS template
  if (!fs::exists(dir + "/tokenizer.json")) {
    int rc = 0;
    std::string out = test::run_capture("bash '" + test::repo() + "/scripts/fetch-tokenizer-oracles.sh' 2>&1", rc);
    if (rc != 0) err = "scripts/fetch-tokenizer-oracles.sh failed: " + out;
  }
  return dir;
}

void write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST(DataSamples, TokenisedCacheLlama3) {
  std::string err;
  std::string tdir = llama3_dir(err);
  ASSERT_EQ(err, "");
  Tokenizer tok = Tokenizer::load(tdir);
  std::string root = test::temp_dir("samples");
  std::string ds = root + "/Dahoas/rm-static";
  std::string train, test_rows;
  for (int r = 0; r < 40; ++r) {
    Json j{{"prompt", "\n\nHuman: What is " + std::to_string(r) + " plus " + std::to_string(r) + "?\n\nAssistant:"},
           {"chosen", " It is " + std::to_string(2 * r) + (r % 7 == 0 ? std::string(200, 'z') : std::string()) + "."}};
    (r < 30 ? train : test_rows) += j.dump() + "\n";
  }
  write(ds + "/train.jsonl", train);
  write(ds + "/test.jsonl", test_rows);
  BlendOptions bo;
  bo.data_path = {ds};
  bo.data_split = "10,0,0";
  SampleOptions so;
  so.max_seq_len = 24;
  so.record_prompt_tokens = true;
  so.progress = false;
  std::string out = root + "/cache";
  PreparedData p = prepare_step1_data(bo, tok, tdir, so, out);
  EXPECT_FALSE(p.from_cache);
  ASSERT_EQ(p.train.size(), 30u);
  ASSERT_EQ(p.eval.size(), 10u);
  Blend b = build_blend(bo);
  const std::string eos = *tok.id_to_token(*tok.eos_id());
  EXPECT_EQ(eos, "<|end_of_text|>");
  size_t truncated = 0;
  for (size_t i = 0; i < p.train.size(); ++i) {
    SampleRef ref = p.train.source(i);
    EXPECT_EQ(ref.row, b.train[i].row);
    // HF: tokenizer(text + eos, max_length=24, truncation=True) == [BOS] + ids[:23]
    std::vector<int32_t> full = tok.encode(b.text(b.train[i]) + eos, true);
    if (full.size() > 24) full.resize(24), ++truncated;
    auto got = p.train.tokens(i);
    EXPECT_EQ(std::vector<int32_t>(got.begin(), got.end()), full) << "sample " << i;
    EXPECT_EQ(got[0], *tok.bos_id());
    if (got.size() < 24) {
      EXPECT_EQ(got.back(), *tok.eos_id());
    }
    std::vector<int32_t> prompt = tok.encode(b.prompt(b.train[i]), true);
    EXPECT_LE(p.train.prompt_tokens(i), int32_t(prompt.size()));
    EXPECT_GE(p.train.prompt_tokens(i), int32_t(prompt.size()) - 1);
  }
  EXPECT_GT(truncated, 0u);
  EXPECT_EQ(p.train.header()["truncated"].get<size_t>(), truncated);

  // Same inputs: reused. Different max_seq_len: another key.
  PreparedData again = prepare_step1_data(bo, tok, tdir, so, out);
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(again.key, p.key);
  SampleOptions longer = so;
  longer.max_seq_len = 512;
  EXPECT_NE(sample_cache_key(bo, tdir, tok, longer), p.key);
  BlendOptions seeded = bo;
  seeded.seed = 1;
  EXPECT_NE(sample_cache_key(seeded, tdir, tok, so), p.key);

  // A corrupt cache file is rejected on open and rebuilt by prepare.
  std::string bytes = read_file(p.train_path);
  write(p.train_path, bytes.substr(0, bytes.size() / 2));
  EXPECT_THROW(SampleStore::open(p.train_path), Error);
  PreparedData rebuilt = prepare_step1_data(bo, tok, tdir, so, out);
  EXPECT_FALSE(rebuilt.from_cache);
  EXPECT_EQ(rebuilt.train.total_tokens(), p.train.total_tokens());

  SpecialWrap w = special_wrap(tok);
  EXPECT_EQ(w.prefix, (std::vector<int32_t>{*tok.bos_id()}));
  EXPECT_TRUE(w.suffix.empty());
  EXPECT_THROW(truncate_wrapped(w, {1, 2}, 1), Error);
}
