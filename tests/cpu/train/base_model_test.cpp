// load_base_model (the streamed load `zerotune train` uses) against the per-tensor fill it replaced, through the ZeRO
// engine: the same parameters and fp32 masters at stages 0 and 3, on one rank and as two loopback ranks' shards.
#include <gtest/gtest.h>
#include <omp.h>

#include <cstring>
#include <map>
#include <random>
#include <thread>

#include "cpu/model/fixture_util.hpp"
#include "dist/zero.hpp"
#include "io/model_io.hpp"
#include "model/resident.hpp"
#include "train/base_model.hpp"

using namespace zt;

namespace {

// Every parameter (gathered, collective) and this rank's master slices, as bytes.
std::map<std::string, std::string> snapshot(dist::ZeroEngine& e) {
  std::map<std::string, std::string> out;
  e.gather([&](int u, const model::UnitParams& p) {
    for (auto& info : e.layout().units[size_t(u)].params) {
      const Tensor& t = p.get(info.name);
      out[info.name] = std::string(static_cast<const char*>(t.raw()), t.nbytes());
    }
  });
  for (auto& sg : e.segments())
    out["master:" + sg.name + "@" + std::to_string(sg.offset)] = std::string(static_cast<const char*>(sg.master.raw()), sg.master.nbytes());
  return out;
}

// The fill `zerotune train` used before the streamed loader: LoRA init, then load_unit_parameters per unit.
void old_load(dist::ZeroEngine& e, const std::string& dir, uint64_t seed) {
  HfCheckpoint ckpt = HfCheckpoint::open(dir);
  check_checkpoint_covers(ckpt, e.layout(), e.config());
  std::mt19937_64 rng(seed);
  e.load([&](int u, const model::UnitParams& dst) {
    model::init_unit_lora(e.model().lora(), e.layout().units[size_t(u)], dst, rng);
    load_unit_parameters(ckpt, e.layout().units[size_t(u)], dst);
  });
}

struct Case {
  const char* fixture;
  int lora;
  bool only_lora;
};

TEST(BaseModel, StreamedLoadMatchesThePerTensorFillAtEveryStage) {
  omp_set_num_threads(1);
  for (Case c : {Case{"llama2", 4, false}, Case{"qwen2", 4, true}, Case{"mistral", 0, false}})
    for (int world : {1, 2})
      for (int stage : {0, 3}) {
        const std::string dir = test::fixture_dir(c.fixture) + "/model";
        const model::ModelConfig cfg = model::load_model_config(dir);
        model::LoraSpec lora;
        lora.dim = c.lora;
        lora.module_name = "model.layers.";
        lora.only_optimize_lora = c.only_lora;
        auto comms = dist::make_loopback_comms(world);
        std::vector<std::map<std::string, std::string>> a(static_cast<size_t>(world)), b(static_cast<size_t>(world));
        std::vector<std::string> errors(static_cast<size_t>(world));
        std::vector<LoadStats> stats(static_cast<size_t>(world));
        auto rank_main = [&](int r) {
          try {
            dist::ZeroOptions zo;
            zo.stage = stage;
            dist::ZeroEngine e1(cfg, lora, DType::f32, Device::CPU(), *comms[size_t(r)], zo);
            old_load(e1, dir, 77);
            a[size_t(r)] = snapshot(e1);
            dist::ZeroEngine e2(cfg, lora, DType::f32, Device::CPU(), *comms[size_t(r)], zo);
            LoadOptions lo;
            lo.progress = false;
            lo.upload.threads = 2;
            lo.upload.chunk_bytes = 3000;
            stats[size_t(r)] = train::load_base_model(e2, dir, 77, lo);
            b[size_t(r)] = snapshot(e2);
          } catch (const std::exception& ex) {
            errors[size_t(r)] = ex.what();
          }
        };
        std::vector<std::jthread> th;
        for (int r = 0; r < world; ++r) th.emplace_back(rank_main, r);
        th.clear();
        const std::string what = std::string(c.fixture) + " world " + std::to_string(world) + " stage " + std::to_string(stage);
        for (int r = 0; r < world; ++r) {
          ASSERT_EQ(errors[size_t(r)], "") << what;
          EXPECT_GT(stats[size_t(r)].tensors, 0u);
          ASSERT_EQ(a[size_t(r)].size(), b[size_t(r)].size()) << what;
          for (auto& [name, bytes] : a[size_t(r)]) EXPECT_TRUE(b[size_t(r)].at(name) == bytes) << what << " rank " << r << ": " << name;
        }
      }
}

}  // namespace
