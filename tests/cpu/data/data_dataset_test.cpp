// Dataset readers (.jsonl/.json), resolution of --data_path layouts, DeepSpeed-Chat per-dataset rules, and the
// blend (split + concatenation + reshuffle + SFT-only) checked against a NumPy re-statement of DeepSpeed-Chat.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <set>
#include <fstream>

#include "core/error.hpp"
#include "core/json.hpp"
#include "data/blend.hpp"
#include "data/dataset.hpp"
#include "data/split.hpp"
#include "data/table.hpp"
#include "data_test_util.hpp"
#include "parquet_writer.hpp"

using namespace zt;
using namespace zt::data;
namespace fs = std::filesystem;

namespace {

void write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string jsonl(const std::vector<Json>& rows) {
  std::string s;
  for (auto& r : rows) s += r.dump() + "\n";
  return s;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.describe();
  }
  return "";
}

// rows of prompt/chosen text; row r of dataset `tag`.
std::vector<Json> pc_rows(const std::string& tag, int n, const std::vector<int>& null_chosen = {}) {
  std::vector<Json> v;
  for (int r = 0; r < n; ++r) {
    Json j{{"prompt", "P" + tag + std::to_string(r)}, {"chosen", " C" + tag + std::to_string(r)}, {"rejected", "x"}};
    if (std::find(null_chosen.begin(), null_chosen.end(), r) != null_chosen.end()) j["chosen"] = nullptr;
    v.push_back(j);
  }
  return v;
}

}  // namespace

TEST(DataReaders, JsonlAndJson) {
  std::string d = test::temp_dir("readers");
  write(d + "/a.jsonl", "{\"prompt\": \"hi\", \"n\": 3}\n\n{\"prompt\": \"\\u00e9\", \"n\": null, \"extra\": \"e\"}\n");
  Table t = read_table(d + "/a.jsonl");
  ASSERT_EQ(t.num_rows, 2u);
  EXPECT_EQ(t.column_names(), (std::vector<std::string>{"prompt", "n", "extra"}));
  EXPECT_EQ(t.column("prompt").strings[1], "\xc3\xa9");
  EXPECT_EQ(t.column("n").ints[0], 3);
  EXPECT_TRUE(t.column("n").is_null(1));
  EXPECT_TRUE(t.column("extra").is_null(0));
  write(d + "/b.json", "[{\"prompt\": \"a\"}, {\"prompt\": \"b\"}]");
  EXPECT_EQ(read_table(d + "/b.json").column("prompt").strings, (std::vector<std::string>{"a", "b"}));
  write(d + "/c.json", "{\"prompt\": [\"a\", \"b\"], \"k\": [1, null]}");
  Table c = read_table(d + "/c.json");
  EXPECT_EQ(c.num_rows, 2u);
  EXPECT_TRUE(c.column("k").is_null(1));
  write(d + "/lines.json", "{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}\n");
  EXPECT_EQ(read_table(d + "/lines.json").num_rows, 2u);
  write(d + "/bad.jsonl", "{\"prompt\": \"a\"}\n{\"prompt\": 1.5}\n");
  std::string e = error_of([&] { read_table(d + "/bad.jsonl"); });
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
  EXPECT_NE(e.find("'prompt'"), std::string::npos) << e;
  write(d + "/mixed.jsonl", "{\"k\": 1}\n{\"k\": \"s\"}\n");
  EXPECT_NE(error_of([&] { read_table(d + "/mixed.jsonl"); }).find("line 2"), std::string::npos);
  write(d + "/broken.jsonl", "{\"k\": 1}\n{\"k\": \n");
  EXPECT_NE(error_of([&] { read_table(d + "/broken.jsonl"); }).find("line 2"), std::string::npos);
  ReadOptions only;
  only.columns = {"prompt"};
  write(d + "/skip.jsonl", "{\"prompt\": \"a\", \"nested\": {\"x\": 1}}\n");
  EXPECT_EQ(read_table(d + "/skip.jsonl", only).column_names(), (std::vector<std::string>{"prompt"}));
  ReadOptions skip;
  skip.skip_unsupported = true;
  Table s = read_table(d + "/skip.jsonl", skip);
  EXPECT_EQ(s.column_names(), (std::vector<std::string>{"prompt"}));
  EXPECT_EQ(s.skipped.size(), 1u);
}

TEST(DataResolve, HubLayoutsAndErrors) {
  std::string root = test::temp_dir("resolve");
  // huggingface-cli layout with two train shards (parquet) and a test shard.
  std::string rm = root + "/Dahoas/rm-static";
  test::TestColumn p{"prompt", 6, false, {}, {}}, c{"chosen", 6, false, {}, {}};
  for (int r = 0; r < 5; ++r) p.s.push_back("p" + std::to_string(r)), c.s.push_back(" c" + std::to_string(r));
  write(rm + "/data/train-00001-of-00002-b.parquet", test::write_parquet({p, c}, {}));
  for (auto& s : p.s) *s = "first-" + *s;
  write(rm + "/data/train-00000-of-00002-a.parquet", test::write_parquet({p, c}, {}));
  write(rm + "/data/test-00000-of-00001-c.parquet", test::write_parquet({p, c}, {}));
  write(rm + "/README.md", "# card\n");
  write(rm + "/.cache/huggingface/download/x.parquet", "junk");
  RawDataset d = load_raw_dataset(rm, 1234);
  EXPECT_EQ(d.rules->name, "Dahoas/rm-static");
  ASSERT_EQ(d.train.table.num_rows, 10u);
  EXPECT_EQ(d.train.table.column("prompt").strings[0], "first-p0");  // shards in name order
  EXPECT_EQ(d.eval.table.num_rows, 5u);
  EXPECT_NE(d.train.where(7).find("train-00001-of-00002-b.parquet row 2"), std::string::npos) << d.train.where(7);

  // No test split for a dataset that needs one: error lists what was found.
  std::string hh = root + "/Dahoas/full-hh-rlhf";
  write(hh + "/train.jsonl", jsonl(pc_rows("h", 3)));
  std::string e = error_of([&] { load_raw_dataset(hh, 1); });
  EXPECT_NE(e.find("'test' split"), std::string::npos) << e;
  EXPECT_NE(e.find("train.jsonl"), std::string::npos) << e;

  // No train split at all.
  write(root + "/weird/Dahoas/rm-static/stuff/foo.parquet", "x");
  write(root + "/weird/Dahoas/rm-static/stuff/bar.jsonl", "x");
  e = error_of([&] { load_raw_dataset(root + "/weird/Dahoas/rm-static", 1); });
  EXPECT_NE(e.find("no train split"), std::string::npos) << e;
  EXPECT_NE(e.find("foo.parquet"), std::string::npos) << e;

  // A path naming no dataset: prompt/chosen columns -> generic rules; otherwise an error listing the columns.
  write(root + "/mine/train.jsonl", jsonl(pc_rows("m", 10)));
  RawDataset g = load_raw_dataset(root + "/mine", 7);
  EXPECT_EQ(g.rules->name, "prompt+chosen");
  EXPECT_TRUE(g.eval_shares_train);
  EXPECT_EQ(g.train_rows.size() + g.eval_rows.size(), 10u);
  write(root + "/other/train.jsonl", "{\"question\": \"q\", \"answer\": \"a\"}\n");
  e = error_of([&] { load_raw_dataset(root + "/other", 1); });
  EXPECT_NE(e.find("question, answer"), std::string::npos) << e;
  EXPECT_NE(e.find("Dahoas/rm-static"), std::string::npos) << e;

  // Datasets with nested columns are recognised and refused.
  e = error_of([&] { load_raw_dataset(root + "/openai/webgpt_comparisons", 1); });
  EXPECT_NE(e.find("not supported"), std::string::npos) << e;

  // A hub name found in the local Hugging Face cache; a missing one says how to download it.
  std::string cache = root + "/hub";
  std::string snap = cache + "/datasets--yitingxie--rlhf-reward-datasets/snapshots/abc123";
  write(snap + "/data/train-00000-of-00001.parquet", test::write_parquet({p, c}, {}));
  write(snap + "/data/test-00000-of-00001.parquet", test::write_parquet({p, c}, {}));
  write(cache + "/datasets--yitingxie--rlhf-reward-datasets/refs/main", "abc123");
  setenv("HF_HUB_CACHE", cache.c_str(), 1);
  RawDataset y = load_raw_dataset("yitingxie/rlhf-reward-datasets", 1);
  EXPECT_EQ(y.files.root, snap);
  e = error_of([&] { load_raw_dataset("Dahoas/rm-static", 1); });
  EXPECT_NE(e.find("huggingface-cli download Dahoas/rm-static"), std::string::npos) << e;
  unsetenv("HF_HUB_CACHE");

  // A null in a column the rules need is an error naming the file and row.
  std::string bad = root + "/nulls/Dahoas/rm-static";
  write(bad + "/train.jsonl", jsonl(pc_rows("n", 4, {2})));
  write(bad + "/test.jsonl", jsonl(pc_rows("t", 2)));
  BlendOptions bo;
  bo.data_path = {bad};
  bo.data_split = "10,0,0";
  e = error_of([&] { build_blend(bo); });
  EXPECT_NE(e.find("train.jsonl row 2"), std::string::npos) << e;
  EXPECT_NE(e.find("'chosen' is null"), std::string::npos) << e;
}

TEST(DataRules, TextsPerDataset) {
  std::string root = test::temp_dir("rules");
  write(root + "/Dahoas/synthetic-instruct-gptj-pairwise/train.jsonl", jsonl(pc_rows("g", 20)));
  write(root + "/yitingxie/rlhf-reward-datasets/train.jsonl",
        "{\"prompt\": \"Human: hi Assistant:\", \"chosen\": \" yes\", \"rejected\": \"no\"}\n");
  write(root + "/yitingxie/rlhf-reward-datasets/test.jsonl",
        "{\"prompt\": \"Human: a Assistant:\", \"chosen\": \" b\", \"rejected\": \"c\"}\n");
  write(root + "/stanfordnlp/SHP/train.jsonl",
        "{\"history\": \"h\", \"labels\": 1, \"human_ref_A\": \"A\", \"human_ref_B\": \"B\"}\n"
        "{\"history\": \"h2\", \"labels\": 0, \"human_ref_A\": \"A2\", \"human_ref_B\": \"B2\"}\n");
  write(root + "/stanfordnlp/SHP/validation.jsonl", "{\"history\": \"v\", \"labels\": 1, \"human_ref_A\": \"A\", \"human_ref_B\": \"B\"}\n");
  write(root + "/pvduy/sharegpt_alpaca_oa_vicuna_format/train.jsonl",
        "{\"prompt\": \"USER: x ASSISTANT:\", \"label\": \"y\"}\n{\"prompt\": \"\", \"label\": \"y\"}\n{\"prompt\": \"p\", \"label\": null}\n");
  write(root + "/pvduy/sharegpt_alpaca_oa_vicuna_format/test.jsonl", "{\"prompt\": \"USER: q\", \"label\": \"z\"}\n");

  BlendOptions o;
  o.data_split = "10,0,0";
  o.seed = 5;
  o.data_path = {root + "/Dahoas/synthetic-instruct-gptj-pairwise"};
  Blend g = build_blend(o);
  EXPECT_EQ(g.train.size(), 18u);  // 9:1 train_eval cut of 20
  EXPECT_EQ(g.eval.size(), 2u);
  std::string t = g.text(g.train[0]);
  EXPECT_EQ(t.rfind(" Human: Pg", 0), 0u) << t;
  EXPECT_NE(t.find(" Assistant:  Cg"), std::string::npos) << t;  // chosen carries its own leading space
  EXPECT_EQ(g.prompt(g.train[0]).substr(g.prompt(g.train[0]).size() - 11), " Assistant:");

  o.data_path = {root + "/yitingxie/rlhf-reward-datasets"};
  Blend y = build_blend(o);
  EXPECT_EQ(y.text(y.train[0]), "Human: hi Assistant: yes");
  EXPECT_EQ(y.prompt(y.train[0]), "Human: hi Assistant:Assistant:");

  o.data_path = {root + "/stanfordnlp/SHP"};
  Blend s = build_blend(o);
  std::set<std::string> texts;
  for (auto& r : s.train) texts.insert(s.text(r));
  EXPECT_EQ(texts, (std::set<std::string>{" Human: h Assistant: A", " Human: h2 Assistant: B2"}));
  EXPECT_EQ(s.text(s.eval[0]), " Human: v Assistant: A");

  o.data_path = {root + "/pvduy/sharegpt_alpaca_oa_vicuna_format"};
  Blend p = build_blend(o);
  ASSERT_EQ(p.train.size(), 1u);  // rows DeepSpeed-Chat maps to None are dropped
  EXPECT_EQ(p.dropped[0].first, 2u);
  EXPECT_EQ(p.text(p.train[0]), "Human: x Assistant: y");
}

// The whole blend against a NumPy re-statement of DeepSpeed-Chat's create_prompt_dataset (sizes and order).
TEST(DataBlend, MatchesDeepSpeedChatWithNumpy) {
  if (!test::have_numpy()) GTEST_SKIP() << "/usr/bin/python3 with numpy not found: apt-get install python3-numpy";
  std::string root = test::temp_dir("blend");
  struct Spec { std::string path; int train; int eval; std::vector<int> null_train, null_eval; };
  std::vector<Spec> main = {{root + "/a/Dahoas/rm-static", 57, 13, {}, {}},
                            {root + "/b/Dahoas/synthetic-instruct-gptj-pairwise", 41, -1, {}, {}},
                            {root + "/c/local/jsonfile", 33, 9, {3, 8, 20}, {1}}};
  std::vector<Spec> sft = {{root + "/d/Dahoas/full-hh-rlhf", 17, 6, {}, {}}, {root + "/e/wangrui6/Zhihu-KOL", 23, -1, {}, {}}};
  auto make = [&](const Spec& s) {
    bool zhihu = s.path.find("Zhihu") != std::string::npos;
    auto rows = [&](const std::string& tag, int n, const std::vector<int>& nulls) {
      std::vector<Json> v = pc_rows(tag, n, nulls);
      if (zhihu)
        for (auto& j : v) j = Json{{"INSTRUCTION", j["prompt"]}, {"RESPONSE", j["chosen"]}};
      return jsonl(v);
    };
    bool local = s.path.find("local/jsonfile") != std::string::npos;
    write(s.path + "/train.jsonl", rows("t", s.train, s.null_train));
    if (s.eval >= 0) write(s.path + (local ? "/eval.jsonl" : "/test.jsonl"), rows("e", s.eval, s.null_eval));
  };
  for (auto& s : main) make(s);
  for (auto& s : sft) make(s);

  std::string py = R"PY(
import json, sys, numpy as np
cfg = json.loads(sys.argv[1])
seed = cfg["seed"]
def shuffle_idx(n):
    rng = np.random.RandomState(seed=seed); a = np.arange(0, n, 1, dtype=np.uint32); rng.shuffle(a); return a
def split_index(data_split, k, n):
    s = [float(x) for x in data_split.split(',')]; t = sum(s); s = [x / t for x in s]
    b = [0]
    for i, x in enumerate(s): b.append(b[i] + int(round(x * float(n))))
    d = b[-1] - n
    for i in range(1, len(b)): b[i] -= d
    return shuffle_idx(n)[b[k]:b[k + 1]].tolist()
def create(ds, dsi, data_split):
    if ds["eval"] < 0:
        base_t = split_index("9,1", 0, ds["train"]); base_e = split_index("9,1", 1, ds["train"]); ev = 0
        nulls_e = ds["null_train"]
    else:
        base_t = list(range(ds["train"])); base_e = list(range(ds["eval"])); ev = 1; nulls_e = ds["null_eval"]
    tr = [base_t[i] for i in split_index(data_split, 0, len(base_t))]
    er = [base_e[i] for i in split_index(data_split, 0, len(base_e))]
    tr = [[dsi, 0, r] for r in tr if r not in ds["null_train"]]
    er = [[dsi, ev, r] for r in er if r not in nulls_e]
    return tr, er
train, ev = [], []
for i, ds in enumerate(cfg["main"]):
    t, e = create(ds, i, cfg["split"]); train += t; ev += e
if len(cfg["main"]) > 1:
    train = [train[i] for i in shuffle_idx(len(train))]; ev = [ev[i] for i in shuffle_idx(len(ev))]
if cfg["sft"]:
    st, se = [], []
    for j, ds in enumerate(cfg["sft"]):
        t, e = create(ds, len(cfg["main"]) + j, "10,0,0"); st += t; se += e
    train = train + st; train = [train[i] for i in shuffle_idx(len(train))]
    ev = ev + se; ev = [ev[i] for i in shuffle_idx(len(ev))]
print(json.dumps({"train": train, "eval": ev}))
)PY";
  std::string script = root + "/ref.py";
  write(script, py);
  auto spec_json = [](const std::vector<Spec>& v) {
    Json a = Json::array();
    for (auto& s : v) a.push_back({{"train", s.train}, {"eval", s.eval}, {"null_train", s.null_train}, {"null_eval", s.null_eval}});
    return a;
  };
  struct Case { size_t n_main; bool with_sft; std::string split; int64_t seed; };
  for (const Case& cs : {Case{1, false, "2,4,4", 1234}, Case{3, false, "2,4,4", 1234}, Case{3, true, "6,2,2", 42}, Case{1, true, "1,1,1", 0}}) {
    SCOPED_TRACE("main " + std::to_string(cs.n_main) + " sft " + std::to_string(cs.with_sft) + " split " + cs.split);
    std::vector<Spec> m(main.begin(), main.begin() + long(cs.n_main));
    Json cfg{{"seed", cs.seed}, {"split", cs.split}, {"main", spec_json(m)}, {"sft", cs.with_sft ? spec_json(sft) : Json::array()}};
    int rc = 0;
    std::string out = test::run_capture("/usr/bin/python3 '" + script + "' '" + cfg.dump() + "'", rc);
    ASSERT_EQ(rc, 0) << out;
    Json ref = Json::parse(out);
    BlendOptions o;
    o.data_path.clear();
    o.seed = cs.seed;
    o.data_split = cs.split;
    for (auto& s : m) o.data_path.push_back(s.path);
    if (cs.with_sft)
      for (auto& s : sft) o.sft_only_data_path.push_back(s.path);
    Blend b = build_blend(o);
    auto as_json = [](const std::vector<SampleRef>& v) {
      Json a = Json::array();
      for (auto& r : v) a.push_back({r.dataset, r.eval_split ? 1 : 0, r.row});
      return a;
    };
    // DeepSpeed-Chat's eval of a train_eval dataset reads the train split: ours marks it eval but from the train table.
    Json got_eval = Json::array();
    for (auto& r : b.eval) got_eval.push_back({r.dataset, b.datasets[r.dataset].eval_shares_train ? 0 : 1, r.row});
    Json want_eval = ref["eval"];
    for (auto& r : want_eval) r[1] = b.datasets[r[0].get<size_t>()].eval_shares_train ? 0 : r[1].get<int>();
    EXPECT_EQ(as_json(b.train), ref["train"]);
    EXPECT_EQ(got_eval, want_eval);
  }
}
