// `zerotune launch` on this machine: the rank environment contract, output prefixes, per-rank logs, core
// binding, failure teardown (exit code, SIGKILL), Ctrl-C semantics and flag errors, all through the real binary.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "cpu/launch/launch_test_util.hpp"
#include "cpu/test_process.hpp"

using namespace zt::test;
namespace fs = std::filesystem;

namespace {

const std::string exe = ZT_EXE;

struct Result {
  int rc;
  std::string out;
};

Result sh(const std::string& cmd) {
  Result r;
  r.out = run_capture(cmd + " 2>&1", r.rc);
  return r;
}

class LaunchLocal : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("zt_launch_local_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name)) << text;
    return path(name);
  }
  fs::path dir_;
};

bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

std::vector<pid_t> read_pids(const std::string& dir, int n) {
  std::vector<pid_t> pids;
  for (int r = 0; r < n; ++r) {
    std::string t = read_text(dir + "/pid." + std::to_string(r));
    if (!t.empty()) pids.push_back(pid_t(std::stol(t)));
  }
  return pids;
}

}  // namespace

TEST_F(LaunchLocal, RanksGetTheEnvironmentContract) {
  std::string hf = write("hostfile", "# one node, so the job runs here\nlocalhost slots=3\n");
  write("ds_env", "# comment\n\nZT_TEST_DS_ENV=from-file\n");
  Result r = sh("cd " + path("") + " && NCCL_DEBUG=INFO DS_ENV_FILE=" + path("ds_env") + " " + exe + " launch -H " + hf +
             " --master_port 29611 " + report_command());
  ASSERT_EQ(r.rc, 0) << r.out;
  auto reps = reports(r.out);
  ASSERT_EQ(reps.size(), 3u) << r.out;
  std::set<std::string> ranks;
  for (auto& m : reps) {
    ranks.insert(m["rank"]);
    EXPECT_EQ(m["prefix"], m["rank"]) << "output lines carry their rank";
    EXPECT_EQ(m["local"], m["rank"]);
    EXPECT_EQ(m["world"], "3");
    EXPECT_EQ(m["local_size"], "3");
    EXPECT_EQ(m["cross"], "0");
    EXPECT_EQ(m["cross_size"], "1");
    EXPECT_EQ(m["master"], "127.0.0.1:29611");
    EXPECT_EQ(m["cvd"], "0,1,2");
    EXPECT_EQ(m["secret_len"], "64");
    EXPECT_EQ(m["host"], "localhost");
    EXPECT_EQ(m["nccl_debug"], "INFO");
    EXPECT_EQ(m["ds_env"], "from-file");
    EXPECT_EQ(m["cwd"], fs::canonical(dir_).string());
    EXPECT_EQ(m["args"], "--local_rank=" + m["rank"]);
  }
  EXPECT_EQ(ranks, (std::set<std::string>{"0", "1", "2"}));
  EXPECT_NE(r.out.find("environment for the ranks from " + path("ds_env")), std::string::npos) << r.out;
}

TEST_F(LaunchLocal, IncludeSlotsAndNoLocalRank) {
  std::string hf = write("hostfile", "localhost slots=4\n");
  Result r = sh(exe + " launch -H " + hf + " -i localhost:1,3 --no_local_rank " + report_command());
  ASSERT_EQ(r.rc, 0) << r.out;
  auto reps = reports(r.out);
  ASSERT_EQ(reps.size(), 2u) << r.out;
  for (auto& m : reps) {
    EXPECT_EQ(m["cvd"], "1,3");
    EXPECT_EQ(m["world"], "2");
    EXPECT_EQ(m["args"], "");
  }
}

TEST_F(LaunchLocal, CpuRanksWithoutHostfileOrGpus) {
  if (fs::exists("/job/hostfile") || fs::exists("/proc/driver/nvidia/gpus")) GTEST_SKIP() << "this machine has a /job/hostfile or GPUs";
  Result r = sh("env -u CUDA_VISIBLE_DEVICES " + exe + " launch --num_gpus 2 " + report_command());
  ASSERT_EQ(r.rc, 0) << r.out;
  auto reps = reports(r.out);
  ASSERT_EQ(reps.size(), 2u) << r.out;
  for (auto& m : reps) EXPECT_EQ(m["cvd"], "unset") << "CPU ranks get no CUDA_VISIBLE_DEVICES";
  EXPECT_NE(r.out.find("CPU ranks"), std::string::npos) << r.out;
}

TEST_F(LaunchLocal, OutputPrefixesPartialLinesAndStderr) {
  std::string hf = write("hostfile", "localhost slots=2\n");
  Result r = sh(exe + " launch -H " + hf + " --no_local_rank -- sh -c 'printf \"a\\nb\"; printf \"err$RANK\\n\" >&2'");
  ASSERT_EQ(r.rc, 0) << r.out;
  for (auto line : {"[rank 0] a\n", "[rank 0] b\n", "[rank 1] a\n", "[rank 1] b\n", "[rank 0] err0\n", "[rank 1] err1\n"})
    EXPECT_NE(r.out.find(line), std::string::npos) << line << " in\n" << r.out;
}

TEST_F(LaunchLocal, EachRankLog) {
  std::string hf = write("hostfile", "localhost slots=2\n");
  Result r = sh(exe + " launch -H " + hf + " --enable_each_rank_log " + path("logs") + " -- sh -c 'echo out$RANK; echo err$RANK >&2'");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(r.out.find("[rank"), std::string::npos) << r.out;
  int files = 0;
  for (auto& e : fs::directory_iterator(path("logs"))) {
    std::string name = e.path().filename().string();
    ASSERT_EQ(name.size(), std::string("20250101120000_rank0.log").size()) << name;
    std::string rank = name.substr(19, 1);
    std::string text = read_text(e.path().string());
    EXPECT_NE(text.find("out" + rank + "\n"), std::string::npos) << text;
    EXPECT_NE(text.find("err" + rank + "\n"), std::string::npos) << text;
    ++files;
  }
  EXPECT_EQ(files, 2);
}

TEST_F(LaunchLocal, BindCoresToRank) {
  std::string hf = write("hostfile", "localhost slots=2\n");
  Result r = sh(exe + " launch -H " + hf + " --bind_cores_to_rank --bind_core_list 0-1 --no_local_rank -- sh -c "
             "'echo REPORT rank=$RANK omp=$OMP_NUM_THREADS cpus=$(grep Cpus_allowed_list /proc/self/status | cut -f2)'");
  if (r.rc != 0 && r.out.find("setting its CPU affinity") != std::string::npos) GTEST_SKIP() << "cores 0-1 not allowed here";
  ASSERT_EQ(r.rc, 0) << r.out;
  auto reps = reports(r.out);
  ASSERT_EQ(reps.size(), 2u) << r.out;
  for (auto& m : reps) {
    EXPECT_EQ(m["omp"], "1");
    EXPECT_EQ(m["cpus"], m["rank"]) << "rank N gets core N of 0-1";
  }
  r = sh(exe + " launch -H " + hf + " --bind_cores_to_rank --bind_core_list 0 -- true");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("1 core(s) for 2 ranks"), std::string::npos) << r.out;
}

TEST_F(LaunchLocal, FailingRankStopsTheOthersAndIsNamed) {
  std::string hf = write("hostfile", "localhost slots=3\n");
  Result r = sh(exe + " launch -H " + hf + " --no_local_rank -- sh -c 'echo $$ > " + path("pid") +
             ".$RANK; if [ $RANK = 2 ]; then sleep 0.3; exit 7; fi; exec sleep 60'");
  EXPECT_EQ(r.rc, 7) << r.out;
  EXPECT_NE(r.out.find("zerotune launch: rank 2 on localhost exited with code 7 (the job's other ranks were stopped)"),
            std::string::npos)
      << r.out;
  for (pid_t p : read_pids(path(""), 3)) EXPECT_FALSE(alive(p)) << p;
}

TEST_F(LaunchLocal, RankKilledBySigkillEndsTheJobWithin10s) {
  std::string hf = write("hostfile", "localhost slots=3\n");
  // rank 0 ignores SIGTERM: the launcher must SIGKILL it after the grace period
  Background job(exe + " launch -H " + hf + " --no_local_rank -- sh -c 'echo $$ > " + path("pid") +
                     ".$RANK; trap \"\" TERM; sleep 60 & wait; sleep 60'",
                 path("out"));
  ASSERT_TRUE(eventually([&] { return read_pids(path(""), 3).size() == 3; }, 10000)) << job.output();
  auto pids = read_pids(path(""), 3);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(pids[1], SIGKILL), 0);
  int rc = job.wait(10000);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_NE(rc, -1) << "the launcher did not end within 10 s\n" << job.output();
  EXPECT_EQ(rc, 137) << job.output();
  EXPECT_LT(s, 10.0);
  EXPECT_NE(job.output().find("zerotune launch: rank 1 on localhost was killed by SIGKILL"), std::string::npos)
      << job.output();
  for (pid_t p : pids) EXPECT_FALSE(alive(p)) << p;
  // exactly one line names the failure
  std::string out = job.output();
  EXPECT_EQ(out.find("zerotune launch: rank"), out.rfind("zerotune launch: rank")) << out;
}

TEST_F(LaunchLocal, CtrlCStopsThisJobOnly) {
  std::string hf = write("hostfile", "localhost slots=2\n");
  std::string rank = " --no_local_rank -- sh -c 'echo $$ > " + path("") + "$JOB.pid.$RANK; "
                     "trap \"echo got-INT; exit 5\" INT; trap \"echo got-TERM; exit 6\" TERM; sleep 60 & wait'";
  Background a("JOB=a exec " + exe + " launch -H " + hf + rank, path("a.out"));
  Background b("JOB=b exec " + exe + " launch -H " + hf + rank, path("b.out"));
  auto pids_of = [&](const std::string& job) {
    std::vector<pid_t> v;
    for (int r = 0; r < 2; ++r) {
      std::string t = read_text(path("") + job + ".pid." + std::to_string(r));
      if (!t.empty()) v.push_back(pid_t(std::stol(t)));
    }
    return v;
  };
  ASSERT_TRUE(eventually([&] { return pids_of("a").size() == 2 && pids_of("b").size() == 2; }, 10000))
      << a.output() << b.output();
  ASSERT_EQ(::kill(a.pid(), SIGINT), 0);  // what a terminal's Ctrl-C sends to the launcher
  int rc = a.wait(10000);
  EXPECT_EQ(rc, 130) << a.output();
  std::string out = a.output();
  EXPECT_NE(out.find("[rank 0] got-INT"), std::string::npos) << out;
  EXPECT_NE(out.find("[rank 1] got-INT"), std::string::npos) << out;
  EXPECT_NE(out.find("zerotune launch: interrupted by SIGINT"), std::string::npos) << out;
  for (pid_t p : pids_of("a")) EXPECT_FALSE(alive(p)) << p;
  // the other job was not touched
  EXPECT_EQ(b.wait(0), -1);
  for (pid_t p : pids_of("b")) EXPECT_TRUE(alive(p)) << p;
  ASSERT_EQ(::kill(b.pid(), SIGTERM), 0);
  EXPECT_EQ(b.wait(10000), 143) << b.output();
  EXPECT_NE(b.output().find("[rank 1] got-TERM"), std::string::npos) << b.output();
}

TEST_F(LaunchLocal, TrainIsThisBinary) {
  std::string hf = write("hostfile", "localhost slots=1\n");
  Result r = sh(exe + " launch -H " + hf + " train --help");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("[rank 0] usage: zerotune train"), std::string::npos) << r.out;
}

TEST_F(LaunchLocal, ClearErrors) {
  std::string hf = write("hostfile", "localhost slots=2\nbad line here\n");
  struct Case {
    std::string args, expect;
  } cases[] = {
      {"-H " + hf + " -- true", "line 2: bad entry 'bad line here'"},
      {"-H " + path("missing") + " -- true", "does not exist"},
      {"--launcher mvapich -- true", "--launcher mvapich is not supported"},
      {"--autotuning run -- true", "--autotuning is not supported"},
      {"--num_nodes 2 -- true", "--num_nodes 2 but there is no hostfile"},
      {"--bogus_flag -- true", "unknown flag --bogus_flag"},
      {"python train.py", "expected `train ...` or `-- <command>`"},
      {"--num_gpus 1", "no command for the ranks"},
      {"--num_gpus 1 -- /nonexistent/zt-program", "cannot run '/nonexistent/zt-program': not found"},
      {"--node_rank 1 -- true", "--node_rank is only for --no_ssh"},
      {"--bind_core_list 0-3 -- true", "--bind_core_list needs --bind_cores_to_rank"},
  };
  for (auto& c : cases) {
    Result r = sh(exe + " launch " + c.args);
    EXPECT_NE(r.rc, 0) << c.args;
    EXPECT_NE(r.out.find(c.expect), std::string::npos) << c.args << "\n" << r.out;
  }
}
