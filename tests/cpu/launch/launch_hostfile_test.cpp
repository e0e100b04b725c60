// Hostfile parsing and resource selection against DeepSpeed's runner.py rules (fetch_hostfile,
// parse_resource_filter, --num_nodes/--num_gpus, CUDA_VISIBLE_DEVICES without a hostfile).
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "launch/hostfile.hpp"

using namespace zt;
using namespace zt::launch;

namespace {

// The error message thrown by f, or "" when it does not throw.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string layout_text(const std::vector<Node>& nodes) {
  std::string s;
  for (auto& n : nodes) s += n.host + ":" + join_slots(n.slots) + " ";
  return s;
}

const char* kFile =
    "# cluster\n"
    "\n"
    "worker-0 slots=4\n"
    "   worker-1\tslots=4 max_slots=8 # trailing text is allowed\n"
    "user@worker-2 slots=2\n"
    "worker-3 slots=8x\n";

}  // namespace

TEST(Hostfile, ParsesDeepSpeedFormat) {
  Hostfile hf = parse_hostfile(kFile, "hf");
  ASSERT_EQ(hf.hosts.size(), 4u);
  EXPECT_EQ(hf.hosts[0].name, "worker-0");
  EXPECT_EQ(hf.hosts[0].slots, 4);
  EXPECT_EQ(hf.hosts[0].line, 3);
  EXPECT_EQ(hf.hosts[1].name, "worker-1");
  EXPECT_EQ(hf.hosts[1].line, 4);
  EXPECT_EQ(hf.hosts[2].name, "user@worker-2");  // the regex keeps user@
  EXPECT_EQ(hf.hosts[2].slots, 2);
  EXPECT_EQ(hf.hosts[3].slots, 8);  // `slots=(\d+)` is a prefix match, as in DeepSpeed
  // CRLF line ends and a missing final newline
  EXPECT_EQ(parse_hostfile("a slots=1\r\nb slots=2", "x").hosts.size(), 2u);
}

TEST(Hostfile, ErrorsQuoteTheLine) {
  std::string e = error_of([] { parse_hostfile("a slots=1\n# c\nb slots = 4\n", "/job/hostfile"); });
  EXPECT_NE(e.find("/job/hostfile line 3"), std::string::npos) << e;
  EXPECT_NE(e.find("'b slots = 4'"), std::string::npos) << e;
  e = error_of([] { parse_hostfile("a slots=1\nb\n", "h"); });
  EXPECT_NE(e.find("line 2: bad entry 'b'"), std::string::npos) << e;
  e = error_of([] { parse_hostfile("a b slots=1\n", "h"); });  // \S+\s+slots= needs slots right after the name
  EXPECT_NE(e.find("line 1: bad entry 'a b slots=1'"), std::string::npos) << e;
  e = error_of([] { parse_hostfile("a slots=\n", "h"); });
  EXPECT_NE(e.find("line 1: bad entry"), std::string::npos) << e;
  e = error_of([] { parse_hostfile("a slots=2\nb slots=1\n a slots=4\n", "h"); });
  EXPECT_NE(e.find("line 3: host 'a' is listed twice (also on line 1)"), std::string::npos) << e;
  e = error_of([] { parse_hostfile("# only a comment\n\n", "h"); });
  EXPECT_NE(e.find("hostfile h lists no hosts"), std::string::npos) << e;
  e = error_of([] { parse_hostfile("", "h"); });
  EXPECT_NE(e.find("lists no hosts"), std::string::npos) << e;
  e = error_of([] { parse_hostfile("a slots=0\n", "h"); });
  EXPECT_NE(e.find("line 1: 'a slots=0': a host needs at least one slot"), std::string::npos) << e;
  e = error_of([] { parse_hostfile("a slots=99999999999999\n", "h"); });
  EXPECT_NE(e.find("line 1"), std::string::npos) << e;
}

TEST(Hostfile, MissingFile) {
  EXPECT_FALSE(read_hostfile("/nonexistent/zt-hostfile", false).has_value());
  std::string e = error_of([] { read_hostfile("/nonexistent/zt-hostfile", true); });
  EXPECT_NE(e.find("--hostfile /nonexistent/zt-hostfile does not exist"), std::string::npos) << e;
}

TEST(ResourceFilter, IncludeAndExclude) {
  Hostfile hf = parse_hostfile("worker-0 slots=4\nworker-1 slots=4\nworker-2 slots=2\n", "hf");
  ResourceFlags f;
  f.include = "worker-1:0,2@worker-0";
  // hosts keep the hostfile order whatever the order in --include
  EXPECT_EQ(layout_text(select_resources(hf, f, {}).nodes), "worker-0:0,1,2,3 worker-1:0,2 ");
  f.include = "worker-1:3,1,1";
  EXPECT_EQ(layout_text(select_resources(hf, f, {}).nodes), "worker-1:1,3 ");
  f = {};
  f.exclude = "worker-1:0,2@worker-2";
  EXPECT_EQ(layout_text(select_resources(hf, f, {}).nodes), "worker-0:0,1,2,3 worker-1:1,3 ");
  f.exclude = "worker-0";
  EXPECT_EQ(layout_text(select_resources(hf, f, {}).nodes), "worker-1:0,1,2,3 worker-2:0,1 ");
}

TEST(ResourceFilter, Errors) {
  Hostfile hf = parse_hostfile("worker-0 slots=4\nworker-1 slots=2\n", "hf");
  auto err = [&](ResourceFlags f) { return error_of([&] { select_resources(hf, f, {}); }); };
  ResourceFlags f;
  f.include = "worker-0";
  f.exclude = "worker-1";
  EXPECT_NE(err(f).find("--include and --exclude cannot be used together"), std::string::npos);
  f = {};
  f.include = "worker-0";
  f.num_gpus = 1;
  EXPECT_NE(err(f).find("--num_nodes/--num_gpus cannot be combined with --include"), std::string::npos);
  f = {};
  f.exclude = "worker-0";
  f.num_nodes = 1;
  EXPECT_NE(err(f).find("cannot be combined with --exclude"), std::string::npos);
  f = {};
  f.include = "worker-9";
  std::string e = err(f);
  EXPECT_NE(e.find("--include 'worker-9': host 'worker-9' is not among the available hosts"), std::string::npos) << e;
  f.include = "worker-1:2";
  e = err(f);
  EXPECT_NE(e.find("host 'worker-1' has no slot 2"), std::string::npos) << e;
  f.include = "worker-1:x";
  EXPECT_NE(err(f).find("slot 'x' is not a slot number"), std::string::npos);
  f.include = "worker-1:";
  EXPECT_NE(err(f).find("has no slots after ':'"), std::string::npos);
  f.include = "worker-0@@worker-1";
  EXPECT_NE(err(f).find("empty node"), std::string::npos);
  f.include = "worker-0:1:2";
  EXPECT_NE(err(f).find("more than one ':'"), std::string::npos);
  f = {};
  f.exclude = "worker-0@worker-1";
  EXPECT_NE(err(f).find("leaves no slots"), std::string::npos);
}

TEST(ResourceSelection, NumNodesAndNumGpus) {
  Hostfile hf = parse_hostfile("a slots=4\nb slots=4\nc slots=2\n", "hf");
  ResourceFlags f;
  f.num_nodes = 2;
  EXPECT_EQ(layout_text(select_resources(hf, f, {}).nodes), "a:0,1,2,3 b:0,1,2,3 ");
  f.num_gpus = 2;
  EXPECT_EQ(layout_text(select_resources(hf, f, {}).nodes), "a:0,1 b:0,1 ");
  f = {};
  f.num_gpus = 3;  // c has only 2 slots: DeepSpeed would start 3 ranks there anyway
  std::string e = error_of([&] { select_resources(hf, f, {}); });
  EXPECT_NE(e.find("--num_gpus 3 but host 'c' has 2 slot(s) (0,1, hostfile line 3)"), std::string::npos) << e;
  f = {};
  f.num_nodes = 4;
  e = error_of([&] { select_resources(hf, f, {}); });
  EXPECT_NE(e.find("--num_nodes 4 but hostfile hf has 3 node(s)"), std::string::npos) << e;
  f.num_nodes = 0;
  EXPECT_NE(error_of([&] { select_resources(hf, f, {}); }).find("--num_nodes must be at least 1"), std::string::npos);
}

TEST(ResourceSelection, LocalResources) {
  ResourceFlags f;
  LocalDevices four{4, std::nullopt};
  Selection s = select_resources(std::nullopt, f, four);
  EXPECT_FALSE(s.from_hostfile);
  EXPECT_FALSE(s.cpu_ranks);
  EXPECT_EQ(layout_text(s.nodes), "localhost:0,1,2,3 ");
  // CUDA_VISIBLE_DEVICES is the local include list
  LocalDevices cvd{4, std::string("3,1")};
  s = select_resources(std::nullopt, f, cvd);
  EXPECT_EQ(layout_text(s.nodes), "localhost:1,3 ");
  ASSERT_EQ(s.notes.size(), 1u);
  f.num_gpus = 1;
  EXPECT_EQ(layout_text(select_resources(std::nullopt, f, cvd).nodes), "localhost:1 ");
  // --include wins over CUDA_VISIBLE_DEVICES, and says so
  f = {};
  f.include = "localhost:0,2";
  s = select_resources(std::nullopt, f, cvd);
  EXPECT_EQ(layout_text(s.nodes), "localhost:0,2 ");
  ASSERT_EQ(s.notes.size(), 1u);
  EXPECT_NE(s.notes[0].find("not used"), std::string::npos);
  f = {};
  std::string e = error_of([&] { select_resources(std::nullopt, f, LocalDevices{2, std::string("GPU-5d1c")}); });
  EXPECT_NE(e.find("CUDA_VISIBLE_DEVICES='GPU-5d1c'"), std::string::npos) << e;
  e = error_of([&] { select_resources(std::nullopt, f, LocalDevices{2, std::string("0,7")}); });
  EXPECT_NE(e.find("names GPU 7 but this machine has 2"), std::string::npos) << e;
  // no GPUs: CPU ranks, --num_gpus is the number of worker processes
  s = select_resources(std::nullopt, f, LocalDevices{0, std::nullopt});
  EXPECT_TRUE(s.cpu_ranks);
  EXPECT_EQ(layout_text(s.nodes), "localhost:0 ");
  f.num_gpus = 3;
  s = select_resources(std::nullopt, f, LocalDevices{0, std::nullopt});
  EXPECT_EQ(layout_text(s.nodes), "localhost:0,1,2 ");
  f = {};
  f.num_nodes = 2;
  e = error_of([&] { select_resources(std::nullopt, f, four); });
  EXPECT_NE(e.find("--num_nodes 2 but there is no hostfile"), std::string::npos) << e;
}

TEST(ResourceSelection, Layout) {
  Hostfile hf = parse_hostfile("a slots=2\nb slots=3\n", "hf");
  ResourceFlags f;
  f.exclude = "a:0";
  WorldLayout w = make_layout(select_resources(hf, f, {}).nodes);
  EXPECT_EQ(w.world_size, 4);
  EXPECT_EQ(w.rank_of(0, 0), 0);
  EXPECT_EQ(w.rank_of(1, 0), 1);
  EXPECT_EQ(w.rank_of(1, 2), 3);
  EXPECT_EQ(w.nodes[1].hostfile_line, 2);
}
