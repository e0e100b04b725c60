// The zerotune binary as users run it: help output, init, and score against transformers' loss.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/json.hpp"
#include "cpu/model/fixture_util.hpp"
#include "io/hf_checkpoint.hpp"

using namespace zt;

namespace {

struct Result {
  int status;
  std::string out;
};

Result sh(const std::string& cmd) {
  Result r{0, ""};
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  r.status = WEXITSTATUS(pclose(p));
  return r;
}

const std::string exe = ZT_EXE;

TEST(Cli, HelpListsEveryCommandAndFlag) {
  Result r = sh(exe + " --help");
  EXPECT_EQ(r.status, 0);
  for (auto c : {"init", "score", "version"}) EXPECT_NE(r.out.find(c), std::string::npos) << c;
  r = sh(exe + " init --help");
  EXPECT_EQ(r.status, 0);
  for (auto f : {"--config", "--out", "--seed", "--dtype"}) EXPECT_NE(r.out.find(f), std::string::npos) << f;
  r = sh(exe + " score --help");
  for (auto f : {"--model", "--input"}) EXPECT_NE(r.out.find(f), std::string::npos) << f;
  r = sh(exe + " score --modle x");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("did you mean --model"), std::string::npos) << r.out;
  r = sh(exe + " frobnicate");
  EXPECT_EQ(r.status, 2);
}

TEST(Cli, ScoreMatchesTransformersLoss) {
  auto f = test::Fixture::open("llama31");
  Tensor ids = f.tensors.view("input_ids"), labels = f.tensors.view("labels");
  auto lengths = f.scalars.at("lengths").get<std::vector<int64_t>>();
  int64_t L = ids.size(1);
  auto tmp = std::filesystem::temp_directory_path() / ("zt_score_" + std::to_string(::getpid()) + ".jsonl");
  {
    std::ofstream o(tmp);
    for (size_t b = 0; b < lengths.size(); ++b) {
      Json line = {{"input_ids", Json::array()}, {"labels", Json::array()}};
      for (int64_t j = 0; j < lengths[b]; ++j) {
        line["input_ids"].push_back(ids.data<int64_t>()[b * L + j]);
        line["labels"].push_back(labels.data<int64_t>()[b * L + j]);
      }
      o << line.dump() << "\n";
    }
    o << "\n{\"input_ids\": [7]}\n";  // a blank line is skipped; one token has no target
  }
  Result r = sh(exe + " score --model " + test::fixture_dir("llama31") + "/model --input " + tmp.string());
  ASSERT_EQ(r.status, 0) << r.out;
  std::istringstream in(r.out);
  double weighted = 0;
  int64_t total = 0;
  std::vector<Json> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(Json::parse(line));
  ASSERT_EQ(rows.size(), lengths.size() + 1);
  for (size_t b = 0; b < lengths.size(); ++b) {
    weighted += rows[b]["loss"].get<double>() * rows[b]["tokens"].get<double>();
    total += rows[b]["tokens"].get<int64_t>();
  }
  EXPECT_EQ(total, 47 + 36 + 19 - 4);  // next-token targets minus the 4 ignored labels in row 0
  EXPECT_NEAR(weighted / double(total), f.scalars.at("loss").get<double>(), 1e-5);
  EXPECT_TRUE(rows.back()["loss"].is_null());
  EXPECT_EQ(rows.back()["tokens"], 0);
  std::filesystem::remove(tmp);
}

TEST(Cli, InitWritesALoadableModel) {
  auto dir = std::filesystem::temp_directory_path() / ("zt_init_" + std::to_string(::getpid()));
  Result r = sh(exe + " init --config " + test::fixture_dir("qwen2") + "/model/config.json --out " + dir.string() + " --seed 5");
  ASSERT_EQ(r.status, 0) << r.out;
  HfCheckpoint ck = HfCheckpoint::open(dir.string());
  EXPECT_EQ(ck.info("model.embed_tokens.weight").dtype, DType::bf16);  // the config's dtype
  EXPECT_FALSE(ck.contains("lm_head.weight"));                         // tied
  EXPECT_TRUE(ck.contains("model.layers.1.self_attn.k_proj.bias"));
  r = sh("echo '{\"input_ids\": [1, 5, 9, 12]}' | " + exe + " score --model " + dir.string());
  EXPECT_EQ(r.status, 0) << r.out;
  // a random model is close to uniform: loss near log(vocab)
  double loss = Json::parse(r.out.substr(r.out.find('{')))["loss"].get<double>();
  EXPECT_NEAR(loss, std::log(160.0), 1.5);
  r = sh(exe + " init --config /nonexistent/config.json --out " + dir.string());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("/nonexistent/config.json"), std::string::npos) << r.out;
  std::filesystem::remove_all(dir);
}

TEST(Cli, InitCopiesTheTokenizerAndChecksItsVocabulary) {
  auto dir = std::filesystem::temp_directory_path() / ("zt_init_tok_" + std::to_string(::getpid()));
  const std::string demo = std::string(ZT_SOURCE_DIR) + "/assets/demo/model";
  Result r = sh(exe + " init --config " + demo + "/config.json --layers 1 --tokenizer " + demo + " --threads 3 --out " + dir.string());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("tokenizer copied"), std::string::npos) << r.out;
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "config.json", "model.safetensors"})
    EXPECT_TRUE(std::filesystem::exists(dir / f)) << f;
  EXPECT_EQ(load_json_file((dir / "config.json").string())["num_hidden_layers"], 1);
  r = sh("echo '{\"input_ids\": [1, 5, 9, 12]}' | " + exe + " score --model " + dir.string());
  EXPECT_EQ(r.status, 0) << r.out;
  // 667 token ids do not fit the qwen2 fixture's 160-row embedding
  r = sh(exe + " init --config " + test::fixture_dir("qwen2") + "/model/config.json --tokenizer " + demo + " --out " + dir.string() + "_x");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("vocab_size 160"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir.string() + "_x/model.safetensors"));
  r = sh(exe + " init --preset llama3-8b --config " + demo + "/config.json --out " + dir.string() + "_x");
  EXPECT_NE(r.out.find("exactly one of --config and --preset"), std::string::npos) << r.out;
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(dir.string() + "_x");
}

TEST(Cli, LoadBenchTimesTheTrainLoad) {
  // --device -1: the CPU path (fp32), the same load as train; one JSON line per repetition.
  Result r = sh(exe + " load-bench --model " + test::fixture_dir("llama2") + "/model --device -1 --repeat 2 --lora_dim 4 --chunk_mib 1");
  ASSERT_EQ(r.status, 0) << r.out;
  int lines = 0;
  for (size_t p = r.out.find("{\"repeat\""); p != std::string::npos; p = r.out.find("{\"repeat\"", p + 1)) {
    const Json j = Json::parse(r.out.substr(p, r.out.find('\n', p) - p));
    EXPECT_EQ(j["repeat"], lines);
    EXPECT_EQ(j["device"], "cpu");
    EXPECT_EQ(j["tensors"], 21);  // embed + 2 x 9 + norm + lm_head
    EXPECT_GT(j["bytes"].get<double>(), 0);
    ++lines;
  }
  EXPECT_EQ(lines, 2) << r.out;
  EXPECT_NE(r.out.find("loaded 21 tensors"), std::string::npos) << r.out;
}

}  // namespace

namespace {

// `zerotune data split` against Debian's NumPy (python3-numpy) running DeepSpeed-Chat's split code.
TEST(Cli, DataSplitMatchesNumpy) {
  const char* py =
      "import json,sys,numpy as np\n"
      "n,seed=int(sys.argv[1]),int(sys.argv[2])\n"
      "s=[2/10,4/10,4/10]\n"
      "b=[0]\n"
      "for p in s: b.append(b[-1]+int(round(p*float(n))))\n"
      "d=b[-1]-n\n"
      "b=[b[0]]+[x-d for x in b[1:]]\n"
      "r=np.random.RandomState(seed=seed)\n"
      "i=np.arange(start=0,stop=n,step=1,dtype=np.uint32)\n"
      "r.shuffle(i)\n"
      "print(json.dumps({'boundaries':b,'phases':[[int(x) for x in i[b[k]:b[k+1]]] for k in range(3)]}))\n";
  auto script = std::filesystem::temp_directory_path() / ("zt_split_" + std::to_string(::getpid()) + ".py");
  std::ofstream(script) << py;
  for (auto [n, seed] : {std::pair{76256, 1234}, std::pair{5103, 1234}, std::pair{17, 7}}) {
    Result ours = sh(exe + " data split --rows " + std::to_string(n) + " --data_split 2,4,4 --seed " + std::to_string(seed));
    Result ref = sh("/usr/bin/python3 " + script.string() + " " + std::to_string(n) + " " + std::to_string(seed));
    ASSERT_EQ(ours.status, 0) << ours.out;
    ASSERT_EQ(ref.status, 0) << ref.out;
    Json a = Json::parse(ours.out), b = Json::parse(ref.out);
    EXPECT_EQ(a["boundaries"], b["boundaries"]) << n;
    EXPECT_EQ(a["phases"], b["phases"]) << n;
  }
  Result r = sh(exe + " data split --rows 76256 --data_split 2,4,4 --seed 1234");
  EXPECT_EQ(Json::parse(r.out)["boundaries"], Json::parse("[0, 15252, 45754, 76256]"));
  std::filesystem::remove(script);
}

}  // namespace
