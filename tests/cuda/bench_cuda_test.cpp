// `zerotune bench` on GPU 0 with a small Llama (Llama 3's vocabulary, 2 thin layers): --lengths hh's fields and
// epoch estimate, and one 8192-token sequence (8192 x 128256 logits through the fused loss) with and without ckpt.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/json.hpp"
#include "cpu/test_process.hpp"
#include "run_util.hpp"

using namespace zt;
namespace fs = std::filesystem;

namespace {

std::string small_config() {
  const fs::path p = fs::temp_directory_path() / ("zt_bench_cuda_" + std::to_string(::getpid()) + ".json");
  std::ofstream(p) << Json{{"architectures", {"LlamaForCausalLM"}},
                           {"model_type", "llama"},
                           {"vocab_size", 128256},
                           {"hidden_size", 256},
                           {"intermediate_size", 512},
                           {"num_hidden_layers", 2},
                           {"num_attention_heads", 4},
                           {"num_key_value_heads", 2},
                           {"max_position_embeddings", 8192},
                           {"rope_theta", 500000.0},
                           {"rms_norm_eps", 1e-5},
                           {"initializer_range", 0.02},
                           {"tie_word_embeddings", false}}
                          .dump();
  return p.string();
}

Json bench(const std::string& flags) {
  int rc = 0;
  const std::string cmd = cudatest::exe() + " bench --config " + small_config() + " --lora 8 " + flags + " 2>&1";
  const std::string out = test::run_capture(cmd, rc);
  EXPECT_EQ(rc, 0) << cmd << "\n" << out;
  const size_t at = out.rfind("\n{");
  const std::string line = out.substr(at == std::string::npos ? 0 : at + 1);
  try {
    return Json::parse(line);
  } catch (...) {
    ADD_FAILURE() << "no JSON line in:\n" << out;
    return Json::object();
  }
}

}  // namespace

TEST(BenchCuda, HhDrawsPadFreeBatchesAndEstimatesTheEpoch) {
  const Json j = bench("--lengths hh --steps 24 --warmup 4");
  ASSERT_TRUE(j.contains("epoch_s")) << j.dump();
  std::printf("%s\n", j.dump().c_str());
  EXPECT_EQ(j["lengths"], "hh");
  EXPECT_EQ(j["steps"], 24);
  EXPECT_EQ(j["max_seq_len"], 512);
  EXPECT_EQ(j["epoch_samples"], 15252);
  EXPECT_EQ(j["epoch_steps"], 3813);
  EXPECT_EQ(j["padded_tokens_per_epoch"], int64_t(3813) * 4 * 512);
  // 96 drawn lengths: mean within a wide band around the distribution's 148 (sd ~130 -> se ~13)
  const double mean = j["drawn_len_mean"].get<double>();
  EXPECT_GT(mean, 90);
  EXPECT_LT(mean, 220);
  EXPECT_NEAR(j["tokens_per_step_mean"].get<double>(), 4 * mean, 1e-2);
  EXPECT_NEAR(j["dist_len_mean"].get<double>(), 148.0, 1.5);
  // dist_len_mean is printed to 3 decimals, so the product carries up to 15252 x 0.0005 = 7.6 tokens of rounding.
  EXPECT_NEAR(double(j["real_tokens_per_epoch"].get<int64_t>()), 15252 * j["dist_len_mean"].get<double>(), 8.0);
  const double step = j["step_s"].get<double>(), epoch = j["epoch_s"].get<double>();
  EXPECT_GT(step, 0);
  EXPECT_NEAR(epoch / 3813, step, 0.2 * step + 2e-4);  // per-step timing vs the loop's total: the same time
  EXPECT_LE(j["epoch_s_lo"].get<double>(), epoch);
  EXPECT_GE(j["epoch_s_hi"].get<double>(), epoch);
  EXPECT_GT(j["epoch_s_fit"].get<double>(), 0);
  EXPECT_NEAR(j["tokens_per_s"].get<double>(), 4 * mean / step, 0.05 * 4 * mean / step + 1);  // step_s is rounded to 0.1 ms
  EXPECT_TRUE(std::isfinite(j["loss"].get<double>()));
  // Varying shapes come from size classes after the warm-up; a handful of new classes may still appear.
  EXPECT_LE(j["cuda_mallocs_in_timed_steps"].get<int64_t>(), 24 * 8) << j.dump();
}

TEST(BenchCuda, OneSequenceOf8192Tokens) {
  for (const char* ckpt : {"1", "0"}) {
    const Json j = bench(std::string("--mbs 1 --seq 8192 --steps 2 --warmup 1 --ckpt ") + ckpt);
    ASSERT_TRUE(j.contains("loss_first_step")) << j.dump();
    std::printf("%s\n", j.dump().c_str());
    EXPECT_EQ(j["seq"], 8192);
    EXPECT_EQ(j["lengths"], "fixed");
    // Random ids, logits near zero (initializer_range 0.02, hidden 256): the loss is ln(128256) = 11.76.
    EXPECT_NEAR(j["loss_first_step"].get<double>(), std::log(128256.0), 0.2);
    EXPECT_TRUE(std::isfinite(j["loss"].get<double>()));
    EXPECT_GT(j["tokens_per_s"].get<double>(), 0);
  }
}
