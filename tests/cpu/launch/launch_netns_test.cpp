// `zerotune launch` across real hosts: three network namespaces with their own sshd (netns_rig.hpp). Ranks
// report their environment; selections, failures (a killed rank, a lost agent, an unreachable node, a refused
// key), the pdsh, openmpi and slurm runners and --no_ssh are checked from what the ranks and the launcher print, and no
// process may be left in any host afterwards.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <set>

#include "cpu/launch/launch_test_util.hpp"
#include "cpu/launch/netns_rig.hpp"

using namespace zt::test;
namespace fs = std::filesystem;

namespace {

const std::string exe = ZT_EXE;

class LaunchNetns : public NetnsSuite<LaunchNetns, 3> {
 protected:
  void SetUp() override {
    NetnsSuite::SetUp();
    if (!rig_) return;
    work_ = rig_->dir() + "/work_" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(work_);
  }
  // The launcher started in host `from` (in the test's work directory), with `env` before it.
  std::string launch(const std::string& args, const std::string& env = "", int from = 0) const {
    return rig_->in(from, "cd " + work_ + " && " + env + " exec " + exe + " launch " + args);
  }
  // The rig's ssh settings; the ssh check before starting is left to the tests about unreachable nodes.
  std::string ssh_args() const { return "--no_ssh_check --launcher_args \"-F " + rig_->ssh_config() + "\""; }
  std::string hostfile(const std::string& text) const {
    static int n = 0;
    return rig_->write_file("hostfile" + std::to_string(n++), text);
  }

  std::string work_;
};

struct Result {
  int rc;
  std::string out;
};

Result sh(const std::string& cmd) {
  Result r;
  r.out = run_capture(cmd + " 2>&1", r.rc);
  return r;
}

// rank -> its report
std::map<int, std::map<std::string, std::string>> by_rank(const std::string& out) {
  std::map<int, std::map<std::string, std::string>> m;
  for (auto& r : reports(out)) m[std::stoi(r["rank"])] = r;
  return m;
}

const char* kThreeNodes = "# three hosts\nnode0 slots=2\nnode1 slots=2\nnode2 slots=1\n";

// Checks the reports of a job over kThreeNodes: node of each rank, slots, and the contract variables.
void expect_three_node_reports(const std::string& out, const std::string& cwd) {
  auto reps = by_rank(out);
  ASSERT_EQ(reps.size(), 5u) << out;
  const int node_of[] = {0, 0, 1, 1, 2}, local_of[] = {0, 1, 0, 1, 0};
  const char* cvd_of[] = {"0,1", "0,1", "0,1", "0,1", "0"};
  for (int r = 0; r < 5; ++r) {
    auto& m = reps[r];
    std::string node = std::to_string(node_of[r]);
    EXPECT_EQ(m["prefix"], std::to_string(r));
    EXPECT_EQ(m["net"], "net" + node + "+") << "rank " << r << " runs on node" << node;
    EXPECT_EQ(m["host"], "node" + node);
    EXPECT_EQ(m["local"], std::to_string(local_of[r]));
    EXPECT_EQ(m["world"], "5");
    EXPECT_EQ(m["local_size"], node_of[r] == 2 ? "1" : "2");
    EXPECT_EQ(m["cross"], node);
    EXPECT_EQ(m["cross_size"], "3");
    EXPECT_EQ(m["cvd"], cvd_of[r]);
    EXPECT_EQ(m["master"], "10.77.0.1:29500");
    EXPECT_EQ(m["nccl_if"], "net" + node) << "each node picks its own interface to the master";
    EXPECT_EQ(m["gloo_if"], "net" + node);
    EXPECT_EQ(m["secret_len"], "64");
    EXPECT_EQ(m["nccl_debug"], "INFO") << "NCCL_* travels to every node";
    EXPECT_EQ(m["ds_env"], "from-file") << ".deepspeed_env travels to every node";
    EXPECT_EQ(m["cwd"], cwd);
    EXPECT_EQ(m["args"], "--local_rank=" + std::to_string(local_of[r]));
  }
}

}  // namespace

TEST_F(LaunchNetns, SshRunnerStartsEveryRankWithTheContract) {
  std::string hf = hostfile(kThreeNodes);
  rig_->write_file("work_SshRunnerStartsEveryRankWithTheContract/.deepspeed_env", "ZT_TEST_DS_ENV=from-file\n");
  // with the ssh check of every node first (the default)
  Result r = sh(launch("-H " + hf + " --launcher_args \"-F " + rig_->ssh_config() + "\" " + report_command(),
                       "NCCL_DEBUG=INFO"));
  ASSERT_EQ(r.rc, 0) << r.out;
  expect_three_node_reports(r.out, work_);
  EXPECT_NE(r.out.find("master address 10.77.0.1 (this host, node 0: interface net0 routes to node1"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("launch-agent node2: NCCL_SOCKET_IFNAME=net2 GLOO_SOCKET_IFNAME=net2"), std::string::npos) << r.out;
}

TEST_F(LaunchNetns, IncludeExcludeAndNumNodesSelectRanks) {
  std::string hf = hostfile(kThreeNodes);
  struct Case {
    std::string flags;
    std::vector<std::string> want;  // per rank: "net<i>:cvd"
    std::string master;
  } cases[] = {
      {"-i node1:1@node2", {"net1+:1", "net2+:0"}, "10.77.0.2:29500"},  // node 0 of this job is node1
      {"-e node0:0@node1", {"net0+:1", "net2+:0"}, "10.77.0.1:29500"},
      {"--num_nodes 2 --num_gpus 1", {"net0+:0", "net1+:0"}, "10.77.0.1:29500"},
  };
  for (auto& c : cases) {
    Result r = sh(launch("-H " + hf + " " + c.flags + " " + ssh_args() + " " + report_command()));
    ASSERT_EQ(r.rc, 0) << c.flags << "\n" << r.out;
    auto reps = by_rank(r.out);
    ASSERT_EQ(reps.size(), c.want.size()) << c.flags << "\n" << r.out;
    for (size_t i = 0; i < c.want.size(); ++i) {
      auto& m = reps[int(i)];
      EXPECT_EQ(m["net"] + ":" + m["cvd"], c.want[i]) << c.flags << " rank " << i;
      EXPECT_EQ(m["world"], std::to_string(c.want.size()));
      EXPECT_EQ(m["master"], c.master) << c.flags;
    }
  }
}

TEST_F(LaunchNetns, KilledRankEndsTheJobOnEveryNode) {
  std::string hf = hostfile(kThreeNodes);
  std::string pids = work_ + "/pid.";
  Background job(launch("-H " + hf + " " + ssh_args() + " --no_local_rank -- sh -c 'echo $$ > " + pids +
                        "$RANK; exec sleep 60'"),
                 work_ + "/out");
  auto pid_of = [&](int r) {
    std::string t = read_text(pids + std::to_string(r));
    return t.empty() ? pid_t(0) : pid_t(std::stol(t));
  };
  ASSERT_TRUE(eventually([&] { return pid_of(0) && pid_of(1) && pid_of(2) && pid_of(3) && pid_of(4); }, 20000))
      << job.output();
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(pid_of(3), SIGKILL), 0);
  int rc = job.wait(10000);
  ASSERT_NE(rc, -1) << "the job did not end within 10 s of the kill\n" << job.output();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
  EXPECT_EQ(rc, 137) << job.output();
  std::string out = job.output();
  EXPECT_NE(out.find("zerotune launch: rank 3 on node1 was killed by SIGKILL (the job was stopped on all 3 node(s))"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("zerotune launch: rank"), out.rfind("zerotune launch: rank")) << "one line names the failure";
  for (int r = 0; r < 5; ++r) EXPECT_NE(::kill(pid_of(r), 0), 0) << "rank " << r << " still runs";
}

TEST_F(LaunchNetns, LostAgentEndsTheJob) {
  std::string hf = hostfile(kThreeNodes);
  Background job(launch("-H " + hf + " " + ssh_args() + " --no_local_rank -- sh -c 'echo up; exec sleep 60'"), work_ + "/out");
  ASSERT_TRUE(eventually([&] { return job.output().find("[rank 4] up") != std::string::npos; }, 20000)) << job.output();
  // the agent of node2, found among the processes of its namespace
  std::string agent;
  for (std::istringstream in(rig_->stray_processes()); std::getline(in, agent);)
    if (agent.rfind(rig_->ns(2) + " ", 0) == 0 && agent.find("launch-agent") != std::string::npos &&
        agent.find("sh -c") == std::string::npos)
      break;
  ASSERT_NE(agent.find("launch-agent"), std::string::npos) << rig_->stray_processes();
  pid_t pid = pid_t(std::stol(agent.substr(agent.find(' ') + 1)));
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int rc = job.wait(10000);
  ASSERT_NE(rc, -1) << job.output();
  EXPECT_NE(rc, 0);
  EXPECT_NE(job.output().find("zerotune launch: lost contact with the agent on node2 (connection closed) (the job was "
                              "stopped on all 3 node(s))"),
            std::string::npos)
      << job.output();
}

TEST_F(LaunchNetns, FrozenAgentIsLostByHeartbeat) {
  std::string hf = hostfile(kThreeNodes);
  Background job(launch("-H " + hf + " " + ssh_args() + " --no_local_rank -- sh -c 'echo up; exec sleep 60'"), work_ + "/out");
  ASSERT_TRUE(eventually([&] { return job.output().find("[rank 2] up") != std::string::npos; }, 20000)) << job.output();
  std::string agent;
  for (std::istringstream in(rig_->stray_processes()); std::getline(in, agent);)
    if (agent.rfind(rig_->ns(1) + " ", 0) == 0 && agent.find("launch-agent") != std::string::npos) break;
  ASSERT_NE(agent.find("launch-agent"), std::string::npos) << rig_->stray_processes();
  pid_t pid = pid_t(std::stol(agent.substr(agent.find(' ') + 1)));
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);  // its connection stays open but falls silent
  int rc = job.wait(10000);
  ::kill(pid, SIGCONT);  // woken up, it finds its runner gone and stops its ranks (TearDown checks)
  ASSERT_NE(rc, -1) << job.output();
  EXPECT_NE(rc, 0);
  EXPECT_NE(job.output().find("zerotune launch: lost contact with the agent on node1 (no heartbeat for 3 s)"),
            std::string::npos)
      << job.output();
}

TEST_F(LaunchNetns, CtrlCReachesEveryNode) {
  std::string hf = hostfile(kThreeNodes);
  Background job(launch("-H " + hf + " " + ssh_args() + " --no_local_rank -- sh -c 'trap \"echo got-INT; exit 5\" INT; "
                        "echo up; sleep 60 & wait'"),
                 work_ + "/out");
  ASSERT_TRUE(eventually([&] { return job.output().find("[rank 0] up") != std::string::npos &&
                                      job.output().find("[rank 2] up") != std::string::npos &&
                                      job.output().find("[rank 4] up") != std::string::npos; },
                         20000))
      << job.output();
  ASSERT_EQ(::kill(job.pid(), SIGINT), 0);
  EXPECT_EQ(job.wait(10000), 130) << job.output();
  std::string out = job.output();
  for (int r = 0; r < 5; ++r) EXPECT_NE(out.find("[rank " + std::to_string(r) + "] got-INT"), std::string::npos) << out;
  EXPECT_NE(out.find("zerotune launch: interrupted by SIGINT (the job was stopped on all 3 node(s))"), std::string::npos) << out;
}

TEST_F(LaunchNetns, KilledLauncherLeavesNoRanks) {
  std::string hf = hostfile(kThreeNodes);
  Background job(launch("-H " + hf + " " + ssh_args() + " --no_local_rank -- sh -c 'echo up; exec sleep 60'"), work_ + "/out");
  ASSERT_TRUE(eventually([&] { return job.output().find("[rank 4] up") != std::string::npos &&
                                      job.output().find("[rank 0] up") != std::string::npos &&
                                      job.output().find("[rank 2] up") != std::string::npos; },
                         20000))
      << job.output();
  ASSERT_EQ(::kill(job.pid(), SIGKILL), 0);
  EXPECT_EQ(job.wait(5000), 137);
  // agents notice the closed connection (or the heartbeat stopping) and take their ranks down: TearDown checks
  // that every host is empty within 5 s
}

TEST_F(LaunchNetns, UnreachableNodeFailsFast) {
  std::string hf = hostfile("node0 slots=1\nnode-down slots=1\n");
  auto t0 = std::chrono::steady_clock::now();
  Result r = sh(launch("-H " + hf + " --launcher_args \"-F " + rig_->ssh_config() + "\" -- true"));
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("cannot log in to 1 of 2 node(s) with ssh"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("node-down (hostfile line 2): ssh: connect to host node-down port 22: No route to host"),
            std::string::npos)
      << r.out;
  // without the check, starting the agent fails the same way
  r = sh(launch("-H " + hf + " " + ssh_args() + " -- true"));
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("zerotune launch: could not start the agent on node-down: ssh node-down exited with code 255: "
                       "ssh: connect to host node-down port 22: No route to host"),
            std::string::npos)
      << r.out;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 30.0);
}

TEST_F(LaunchNetns, RefusedKeyFailsWithTheHost) {
  std::string hf = hostfile(kThreeNodes);
  Result r = sh(launch("-H " + hf + " --launcher_args \"-F " + rig_->ssh_config_refused() + "\" -- true"));
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("cannot log in to 3 of 3 node(s) with ssh"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("node1 (hostfile line 3): root@node1: Permission denied (publickey)."), std::string::npos) << r.out;
}

TEST_F(LaunchNetns, OneNodeRunsHereUnlessForceMulti) {
  std::string hf = hostfile("node1 slots=2\n");
  Result r = sh(launch("-H " + hf + " " + report_command()));  // as DeepSpeed: one node -> this machine, no ssh
  ASSERT_EQ(r.rc, 0) << r.out;
  auto reps = by_rank(r.out);
  ASSERT_EQ(reps.size(), 2u) << r.out;
  EXPECT_EQ(reps[1]["net"], "net0+");
  EXPECT_NE(r.out.find("one node selected (node1): its ranks run on this machine"), std::string::npos) << r.out;
  r = sh(launch("-H " + hf + " --force_multi " + ssh_args() + " " + report_command()));
  ASSERT_EQ(r.rc, 0) << r.out;
  reps = by_rank(r.out);
  ASSERT_EQ(reps.size(), 2u) << r.out;
  EXPECT_EQ(reps[1]["net"], "net1+");
  EXPECT_EQ(reps[1]["master"], "10.77.0.2:29500");
}

TEST_F(LaunchNetns, ProgramMissingOnTheNodes) {
  std::string hf = hostfile(kThreeNodes);
  Result r = sh(launch("-H " + hf + " " + ssh_args() + " -- /nonexistent/zt-prog"));
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("cannot run '/nonexistent/zt-prog': not found or not executable"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("zerotune launch: could not start the ranks on node"), std::string::npos) << r.out;
}

TEST_F(LaunchNetns, PdshRunner) {
  std::string hf = hostfile(kThreeNodes);
  rig_->write_file("work_PdshRunner/.deepspeed_env", "ZT_TEST_DS_ENV=from-file\n");
  Result r = sh(launch("-H " + hf + " --launcher pdsh " + report_command(),
                    "NCCL_DEBUG=INFO PDSH_SSH_ARGS_APPEND=\"-F " + rig_->ssh_config() + "\""));
  ASSERT_EQ(r.rc, 0) << r.out;
  expect_three_node_reports(r.out, work_);
}

TEST_F(LaunchNetns, OpenmpiRunner) {
  std::string hf = hostfile(kThreeNodes);
  rig_->write_file("work_OpenmpiRunner/.deepspeed_env", "ZT_TEST_DS_ENV=from-file\n");
  Result r = sh(launch("-H " + hf + " --launcher openmpi " + report_command(),
                    "NCCL_DEBUG=INFO OMPI_MCA_plm_rsh_args=\"-F " + rig_->ssh_config() + "\""));
  ASSERT_EQ(r.rc, 0) << r.out;
  expect_three_node_reports(r.out, work_);
}

TEST_F(LaunchNetns, SlurmRunner) {
  std::string log;
  ASSERT_TRUE(rig_->start_slurm(log)) << log;
  std::string hf = hostfile(kThreeNodes);
  rig_->write_file("work_SlurmRunner/.deepspeed_env", "ZT_TEST_DS_ENV=from-file\n");
  Result r = sh(launch("-H " + hf + " --launcher slurm " + report_command(),
                       "NCCL_DEBUG=INFO SLURM_CONF=" + rig_->slurm_conf()));
  ASSERT_EQ(r.rc, 0) << r.out;
  expect_three_node_reports(r.out, work_);
}

TEST_F(LaunchNetns, NoSshNodesStartedByHand) {
  std::string hf = hostfile(kThreeNodes);
  rig_->write_file("work_NoSshNodesStartedByHand/.deepspeed_env", "ZT_TEST_DS_ENV=from-file\n");
  std::string secret = "ZEROTUNE_JOB_SECRET=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff NCCL_DEBUG=INFO";
  std::vector<std::unique_ptr<Background>> nodes;
  for (int k = 2; k >= 0; --k)
    nodes.push_back(std::make_unique<Background>(
        launch("-H " + hf + " --no_ssh --node_rank " + std::to_string(k) + " " + report_command(), secret, k),
        work_ + "/out" + std::to_string(k)));
  std::string all;
  for (auto& n : nodes) {
    EXPECT_EQ(n->wait(30000), 0) << n->output();
    all += n->output();
  }
  expect_three_node_reports(all, work_);
  // a node started with another hostfile is refused, and the job fails on node 0 naming it
  std::string other = hostfile("node0 slots=2\nnode1 slots=1\nnode2 slots=1\n");
  Background n0(launch("-H " + hf + " --no_ssh --node_rank 0 --no_local_rank -- sleep 30", secret, 0), work_ + "/bad0");
  Background n1(launch("-H " + other + " --no_ssh --node_rank 1 --no_local_rank -- sleep 30", secret, 1), work_ + "/bad1");
  EXPECT_NE(n1.wait(20000), 0) << n1.output();
  EXPECT_NE(n1.output().find("the launcher refused this node: node 1 (node1) was started with a different hostfile"),
            std::string::npos)
      << n1.output() << "\nnode 0:\n" << n0.output();
  EXPECT_NE(n0.wait(20000), 0) << n0.output();
  EXPECT_NE(n0.output().find("was started with a different hostfile"), std::string::npos) << n0.output();
}
