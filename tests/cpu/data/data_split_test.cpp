// The DeepSpeed-Chat split/blend permutations against NumPy's RandomState (Debian's python3-numpy), the worked
// boundaries from the spec, and torch randperm's algorithm on known structure.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "core/error.hpp"
#include "core/json.hpp"
#include "data/permute.hpp"
#include "data/split.hpp"
#include "data_test_util.hpp"

using namespace zt;
using namespace zt::data;

TEST(DataSplit, WorkedBoundaries) {
  auto w = parse_data_split("2,4,4");
  EXPECT_EQ(split_boundaries(w, 76256), (std::vector<int64_t>{0, 15252, 45754, 76256}));
  EXPECT_EQ(split_boundaries(w, 5103), (std::vector<int64_t>{0, 1021, 3062, 5103}));
  EXPECT_EQ(split_boundaries(parse_data_split("10,0,0"), 7), (std::vector<int64_t>{0, 7, 7, 7}));
  // 9:1 of 5 rows: round(4.5) = 4 (half to even), round(0.5) = 0, drift -1 -> [0, 5, 5]
  EXPECT_EQ(split_boundaries(parse_data_split("9,1"), 5), (std::vector<int64_t>{0, 5, 5}));
  // 1,1,1 of 5: round(5/3) = 2 three times, drift +1
  EXPECT_EQ(split_boundaries(parse_data_split("1,1,1"), 5), (std::vector<int64_t>{0, 1, 3, 5}));
}

TEST(DataSplit, RoundHalfEven) {
  EXPECT_EQ(round_half_even(0.5), 0);
  EXPECT_EQ(round_half_even(1.5), 2);
  EXPECT_EQ(round_half_even(2.5), 2);
  EXPECT_EQ(round_half_even(2.5000000001), 3);
  EXPECT_EQ(round_half_even(3.49), 3);
  EXPECT_EQ(round_half_even(0.0), 0);
}

TEST(DataSplit, ParseErrors) {
  EXPECT_THROW(parse_data_split("2,,4"), Error);
  EXPECT_THROW(parse_data_split("a,b"), Error);
  EXPECT_THROW(parse_data_split("0,0"), Error);
  EXPECT_THROW(parse_data_split("-1,2"), Error);
  EXPECT_THROW(parse_data_split("nan"), Error);
  EXPECT_EQ(parse_data_split(" 2 , 4.5,4"), (std::vector<double>{2, 4.5, 4}));
  EXPECT_THROW(numpy_seed(-1), Error);
  EXPECT_THROW(numpy_seed(int64_t(1) << 32), Error);
}

TEST(DataSplit, ShuffleIsPermutation) {
  for (int64_t n : {0, 1, 2, 3, 100}) {
    auto p = numpy_shuffled_arange(n, 7);
    std::vector<int64_t> s = p;
    std::sort(s.begin(), s.end());
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(s[size_t(i)], i);
  }
}

// NumPy reference: for each (n, seed) print shuffle(arange(n, uint32)) and the phase boundaries computed by the same
// Python expressions DeepSpeed-Chat uses.
TEST(DataSplit, MatchesNumpy) {
  if (!test::have_numpy()) GTEST_SKIP() << "/usr/bin/python3 with numpy not found: apt-get install python3-numpy";
  const std::vector<std::pair<int64_t, int64_t>> cases = {
      {0, 1234}, {1, 1234}, {2, 0}, {3, 1}, {10, 1234}, {17, 42}, {100, 0}, {255, 7}, {256, 7}, {257, 7},
      {1000, 4294967295LL}, {5103, 1234}, {76256, 1234}, {65537, 99}, {12345, 2024}};
  std::string py =
      "import json,sys,numpy as np\n"
      "out=[]\n"
      "for n,seed,split in json.loads(sys.argv[1]):\n"
      "    rng=np.random.RandomState(seed=seed)\n"
      "    idx=np.arange(0,n,1,dtype=np.uint32)\n"
      "    rng.shuffle(idx)\n"
      "    s=[float(x) for x in split.split(',')]\n"
      "    t=sum(s); s=[x/t for x in s]\n"
      "    b=[0]\n"
      "    for i,x in enumerate(s): b.append(b[i]+int(round(x*float(n))))\n"
      "    d=b[-1]-n\n"
      "    b=[b[0]]+[v-d for v in b[1:]]\n"
      "    out.append({'perm':idx.tolist(),'b':b,'phases':[idx[b[k]:b[k+1]].tolist() for k in range(len(s))]})\n"
      "print(json.dumps(out))\n";
  std::vector<std::string> splits = {"2,4,4", "9,1", "10,0,0", "1,1,1", "0.3,0.3,0.4", "7,2,1"};
  Json args = Json::array();
  for (size_t i = 0; i < cases.size(); ++i) args.push_back({cases[i].first, cases[i].second, splits[i % splits.size()]});
  std::string script = test::temp_dir("split_numpy") + "/ref.py";
  {
    FILE* f = fopen(script.c_str(), "w");
    ASSERT_TRUE(f);
    fputs(py.c_str(), f);
    fclose(f);
  }
  int rc = 0;
  std::string out = test::run_capture("/usr/bin/python3 '" + script + "' '" + args.dump() + "'", rc);
  ASSERT_EQ(rc, 0) << out;
  Json ref = Json::parse(out);
  ASSERT_EQ(ref.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    auto [n, seed] = cases[i];
    SCOPED_TRACE("n=" + std::to_string(n) + " seed=" + std::to_string(seed));
    auto perm = numpy_shuffled_arange(n, numpy_seed(seed));
    EXPECT_EQ(perm, ref[i]["perm"].get<std::vector<int64_t>>());
    auto w = parse_data_split(splits[i % splits.size()]);
    PhaseSplit ps = split_phases(n, w, numpy_seed(seed));
    EXPECT_EQ(ps.boundaries, ref[i]["b"].get<std::vector<int64_t>>());
    ASSERT_EQ(ps.phases.size(), ref[i]["phases"].size());
    for (size_t k = 0; k < ps.phases.size(); ++k)
      EXPECT_EQ(ps.phases[k], ref[i]["phases"][k].get<std::vector<int64_t>>());
  }
}

TEST(DataSplit, TorchRandpermStructure) {
  // Each step consumes exactly one 32-bit draw: randperm(2) swaps iff the first MT19937(seed) output is odd.
  for (uint64_t seed : {0ULL, 1ULL, 1234ULL}) {
    std::mt19937 mt(static_cast<uint32_t>(seed));
    bool odd = mt() % 2 == 1;
    auto p = torch_randperm(2, seed);
    EXPECT_EQ(p, odd ? (std::vector<int64_t>{1, 0}) : (std::vector<int64_t>{0, 1}));
  }
  auto p = torch_randperm(1000, 0);
  std::vector<int64_t> s = p;
  std::sort(s.begin(), s.end());
  for (int64_t i = 0; i < 1000; ++i) EXPECT_EQ(s[size_t(i)], i);
  EXPECT_EQ(torch_randperm(0, 0).size(), 0u);
  EXPECT_EQ(torch_randperm(1, 0), (std::vector<int64_t>{0}));
}
