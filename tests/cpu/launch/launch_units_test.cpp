// Launcher building blocks: .deepspeed_env files, exported prefixes, core lists, shell words, runner command
// lines, the job description round trip, the per-rank environment, and the control protocol's HMAC and framing.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "core/error.hpp"
#include "launch/job.hpp"
#include "launch/protocol.hpp"
#include "launch/runners.hpp"

using namespace zt;
using namespace zt::launch;

namespace {
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string hex(const std::string& raw) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (unsigned char c : raw) s += d[c >> 4], s += d[c & 15];
  return s;
}

std::map<std::string, std::string> env_of(const RankSpec& r) {
  std::map<std::string, std::string> m;
  for (auto& e : r.env) m[e.substr(0, e.find('='))] = e.substr(e.find('=') + 1);
  return m;
}
}  // namespace

TEST(LaunchEnv, DeepSpeedEnvFile) {
  EnvMap e = parse_env_file("# comment\n\nA=1\r\nC=a=b\nD=\"quoted value\"\n  E='x'\nF=\n", "f");
  EXPECT_EQ(e["A"], "1");
  EXPECT_EQ(e["C"], "a=b");
  EXPECT_EQ(e["D"], "quoted value");
  EXPECT_EQ(e["E"], "x");
  EXPECT_EQ(e["F"], "");
  EXPECT_EQ(e.size(), 5u);
  EXPECT_NE(error_of([] { parse_env_file("B = x\n", "f"); }).find("'B ' is not a variable name"), std::string::npos);
}

TEST(LaunchEnv, DeepSpeedEnvFileErrors) {
  std::string err = error_of([] { parse_env_file("A=1\nnot a pair\n", "/home/u/.deepspeed_env"); });
  EXPECT_NE(err.find("/home/u/.deepspeed_env line 2: expected KEY=VALUE"), std::string::npos) << err;
  err = error_of([] { parse_env_file("1A=2\n", "f"); });
  EXPECT_NE(err.find("f line 1: '1A' is not a variable name"), std::string::npos) << err;
}

TEST(LaunchEnv, ExportedPrefixes) {
  EnvMap e = exported_variables({{"NCCL_DEBUG", "INFO"}, {"PYTHONPATH", "/x"}, {"UCX_TLS", "tcp"}, {"MV2_X", "1"},
                                 {"ZEROTUNE_FOO", "1"}, {"GLOO_SOCKET_IFNAME", "eth0"}, {"HOME", "/root"},
                                 {"CUDA_VISIBLE_DEVICES", "0"}, {"ZT_NO_REEXEC", "1"}});
  EXPECT_EQ(e.size(), 6u);
  EXPECT_EQ(e.count("HOME"), 0u);
  EXPECT_EQ(e.count("CUDA_VISIBLE_DEVICES"), 0u);
}

TEST(LaunchEnv, CoreListsAndShellWords) {
  EXPECT_EQ(parse_core_list("0-3,8,10-11", "--bind_core_list"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_NE(error_of([] { parse_core_list("3-1", "--bind_core_list"); }).find("backwards"), std::string::npos);
  EXPECT_NE(error_of([] { parse_core_list("a", "--bind_core_list"); }).find("'a' is not a core number"), std::string::npos);
  EXPECT_EQ(cores_for_rank({0, 1, 2, 3, 4}, 2, 1), (std::vector<int>{2, 3}));
  EXPECT_EQ(shell_split("-F '/a b/c' -o \"X=1 2\" plain\\ word", "f"),
            (std::vector<std::string>{"-F", "/a b/c", "-o", "X=1 2", "plain word"}));
  EXPECT_NE(error_of([] { shell_split("'open", "--launcher_args"); }).find("unterminated single quote"), std::string::npos);
  EXPECT_EQ(shell_quote("simple/path-1"), "simple/path-1");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  std::string s = generate_job_secret();
  EXPECT_EQ(s.size(), 64u);
  EXPECT_EQ(hex_decode(s, "x").size(), 32u);
  EXPECT_NE(generate_job_secret(), s);
  EXPECT_NE(error_of([] { hex_decode("xyz", "ZEROTUNE_JOB_SECRET"); }).find("ZEROTUNE_JOB_SECRET"), std::string::npos);
}

TEST(LaunchProtocol, HmacSha256MatchesRfc4231) {
  // RFC 4231 test case 2
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // test case 1
  EXPECT_EQ(hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  std::string k = "key", a = random_hex(32), c = random_hex(32);
  EXPECT_NE(agent_mac(k, c, a, "rank:1"), agent_mac(k, c, a, "rank:2"));
  EXPECT_NE(agent_mac(k, c, a, "rank:1"), coordinator_mac(k, a, c));
}

TEST(LaunchProtocol, FramesRoundTripAndOversizeCloses) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  Conn a{Fd(sv[0])}, b{Fd(sv[1]), 1024};
  a.send({{"type", "ping"}, {"n", 1}});
  a.send({{"type", "stop"}, {"signal", 15}});
  ASSERT_TRUE(b.on_poll(POLLIN));
  auto m1 = b.next();
  auto m2 = b.next();
  ASSERT_TRUE(m1 && m2);
  EXPECT_EQ((*m1)["n"], 1);
  EXPECT_EQ((*m2)["type"], "stop");
  EXPECT_FALSE(b.next());
  a.send({{"type", "big"}, {"data", std::string(4096, 'x')}});
  b.on_poll(POLLIN);
  EXPECT_FALSE(b.next());
  EXPECT_FALSE(b.open());
  EXPECT_NE(b.error().find("larger than allowed"), std::string::npos);
}

TEST(LaunchJob, RankEnvironmentAndRoundTrip) {
  JobSpec j;
  j.command = {"python", "train.py"};
  j.env = {{"NCCL_DEBUG", "INFO"}};
  j.cwd = "/work";
  j.layout = make_layout({{"a", {0, 1}, 1}, {"b", {2, 3, 5}, 2}});
  j.master_addr = "10.0.0.1";
  j.master_port = 29555;
  JobSpec k = job_from_json(parse_json(job_to_json(j).dump(), "x"));
  EXPECT_EQ(job_to_json(k), job_to_json(j));
  NodePlan p = plan_node(k, 1, {{"PATH", "/bin"}, {"NCCL_DEBUG", "WARN"}, {"RANK", "99"}}, std::string(64, 'a'));
  ASSERT_EQ(p.ranks.size(), 3u);
  auto e = env_of(p.ranks[2]);
  EXPECT_EQ(e["RANK"], "4");
  EXPECT_EQ(e["LOCAL_RANK"], "2");
  EXPECT_EQ(e["WORLD_SIZE"], "5");
  EXPECT_EQ(e["LOCAL_SIZE"], "3");
  EXPECT_EQ(e["CROSS_RANK"], "1");
  EXPECT_EQ(e["CROSS_SIZE"], "2");
  EXPECT_EQ(e["MASTER_ADDR"], "10.0.0.1");
  EXPECT_EQ(e["MASTER_PORT"], "29555");
  EXPECT_EQ(e["CUDA_VISIBLE_DEVICES"], "2,3,5");
  EXPECT_EQ(e["NCCL_DEBUG"], "INFO") << "the launcher's exports win over the node's own";
  EXPECT_EQ(e["PATH"], "/bin");
  EXPECT_EQ(e["ZEROTUNE_HOST"], "b");
  EXPECT_EQ(p.ranks[2].argv, (std::vector<std::string>{"python", "train.py", "--local_rank=2"}));
  EXPECT_NE(error_of([] { job_from_json(parse_json("{\"command\": 1}", "x")); }).find("job description"), std::string::npos);
}

TEST(LaunchRunners, CommandLines) {
  RunnerContext c;
  c.self_exe = "/opt/zt/zerotune";
  c.cwd = "/data/my run";
  c.secret_hex = std::string(64, 'f');
  c.ssh_port = 2222;
  c.launcher_args = {"-F", "/cfg"};
  WorldLayout w = make_layout({{"node0", {0}, 1}, {"user@node1", {0, 1}, 2}});
  c.runner = "ssh";
  auto cmds = runner_commands(c, w, {"10.0.0.9:4000", "10.1.0.9:4000"});
  ASSERT_EQ(cmds.size(), 2u);
  std::vector<std::string> want = {"ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-p", "2222", "-F", "/cfg",
                                   "--", "user@node1",
                                   "cd '/data/my run' && exec /opt/zt/zerotune launch-agent --coordinator "
                                   "10.1.0.9:4000 --node_rank 1 --secret_from stdin"};
  EXPECT_EQ(cmds[1].argv, want);
  EXPECT_EQ(cmds[1].stdin_data, c.secret_hex + "\n") << "the secret goes through ssh's stdin, not its command line";
  c.runner = "pdsh";
  cmds = runner_commands(c, w, {"10.0.0.9:4000"});
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0].argv[6], "node0,user@node1");
  EXPECT_NE(cmds[0].argv.back().find("--node_name %h"), std::string::npos) << cmds[0].argv.back();
  EXPECT_NE(cmds[0].argv.back().find("cd '/data/my run'"), std::string::npos);
  EXPECT_EQ(cmds[0].env["PDSH_RCMD_TYPE"], "ssh");
  EXPECT_EQ(cmds[0].env["PDSH_SSH_ARGS_APPEND"], "-o BatchMode=yes -o ConnectTimeout=10 -p 2222");
  c.runner = "openmpi";
  std::string err = error_of([&] { runner_commands(c, w, {"10.0.0.9:4000"}); });
  EXPECT_NE(err.find("host 'user@node1' (hostfile line 2) names a user"), std::string::npos) << err;
  w = make_layout({{"node0", {0}, 1}, {"node1", {0, 1}, 2}});
  c.as_root = true;
  c.launcher_env = {{"OMPI_MCA_plm_rsh_args", "-F /cfg"}};
  cmds = runner_commands(c, w, {"10.0.0.9:4000"});
  std::string line;
  for (auto& a : cmds[0].argv) line += a + " ";
  EXPECT_NE(line.find("mpirun --allow-run-as-root -n 2 --host node0:1,node1:1 --map-by ppr:1:node"), std::string::npos) << line;
  EXPECT_NE(line.find("--node_from ompi --secret_from env"), std::string::npos) << line;
  EXPECT_EQ(line.find(c.secret_hex), std::string::npos) << "mpirun forwards the secret with -x, not on its command line";
  EXPECT_EQ(cmds[0].env["ZEROTUNE_JOB_SECRET"], c.secret_hex);
  EXPECT_EQ(cmds[0].env["OMPI_MCA_plm_rsh_args"], "-F /cfg -o BatchMode=yes -o ConnectTimeout=10 -p 2222");
  c.runner = "slurm";
  cmds = runner_commands(c, w, {"10.0.0.9:4000"});
  line.clear();
  for (auto& a : cmds[0].argv) line += a + " ";
  EXPECT_NE(line.find("srun --nodes 2 --ntasks 2 --ntasks-per-node 1 --nodelist node0,node1 --kill-on-bad-exit=1"),
            std::string::npos)
      << line;
  EXPECT_EQ(runner_package("openmpi"), "openmpi-bin");
  EXPECT_EQ(runner_package("slurm"), "slurm-client");
  EXPECT_NE(unsupported_runner_reason("impi").find("not supported"), std::string::npos);
  RunnerContext missing;
  missing.runner = "slurm";
  missing.launcher_env = {{"PATH", "/nonexistent"}};
  err = error_of([&] { check_runner_available(missing); });
  EXPECT_NE(err.find("needs the `srun` program"), std::string::npos) << err;
}
