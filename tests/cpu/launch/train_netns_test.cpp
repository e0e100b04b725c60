// ZeRO-3 training across real hosts: two network-namespace hosts with their own sshd (tests/cpu/launch/netns_rig.hpp),
// one CPU rank each over Gloo, started by the ssh, pdsh and openmpi runners: the final weights equal the single-process
// run with the same global batch (samples truncated to one length so the ranks' means weigh tokens alike).
#include <gtest/gtest.h>

#include <filesystem>

#include "cpu/launch/netns_rig.hpp"
#include "cpu/model/fixture_util.hpp"
#include "io/hf_checkpoint.hpp"

using namespace zt;
using zt::test::NetnsRig;
namespace fs = std::filesystem;

namespace {

std::string train_args(const fs::path& out, const fs::path& cache, int micro) {
  const std::string fx = std::string(ZT_SOURCE_DIR) + "/tests/fixtures/dschat";
  return " --data_path " + fx + "/Dahoas/rm-static --model_name_or_path " + fx +
         "/model --data_split 2,4,4 --max_seq_len 12 --per_device_train_batch_size " + std::to_string(micro) +
         " --per_device_eval_batch_size 2 --learning_rate 5e-3 --num_train_epochs 1 --zero_stage 3 --seed 1234 --output_dir " +
         out.string() + " --data_output_path " + cache.string();
}

void expect_same_weights(const fs::path& a, const fs::path& b, const std::string& what) {
  HfCheckpoint ca = HfCheckpoint::open(a.string()), cb = HfCheckpoint::open(b.string());
  ASSERT_EQ(ca.size(), cb.size()) << what;
  for (auto& n : ca.names()) EXPECT_LT(test::rel_err(cb.load(n, DType::f32), ca.load(n, DType::f32)), 2e-5) << what << " " << n;
}

TEST(TrainNetns, ZeRO3AcrossHostsMatchesOneProcess) {
  std::string why;
  auto rig = NetnsRig::create(2, why);
  if (!rig) GTEST_SKIP() << why;
  const fs::path work = fs::path(rig->dir()) / "train";
  fs::create_directories(work);
  int rc = 0;
  // One process, micro-batch 4 (= 2 ranks x 2); it also builds the sample cache the ranks then share.
  std::string one = test::run_capture("OMP_NUM_THREADS=1 " + std::string(ZT_EXE) + " train" +
                                          train_args(work / "one", work / "cache", 4) + " 2>&1",
                                      rc);
  ASSERT_EQ(rc, 0) << one;
  const std::string hf = rig->write_file("train_hostfile", rig->name(0) + " slots=1\n" + rig->name(1) + " slots=1\n");
  struct Runner {
    std::string name, flags, env;
  };
  const std::vector<Runner> runners = {
      {"ssh", "--no_ssh_check --launcher_args \"-F " + rig->ssh_config() + "\"", ""},
      {"pdsh", "--launcher pdsh", "PDSH_SSH_ARGS_APPEND=\"-F " + rig->ssh_config() + "\""},
      {"openmpi", "--launcher openmpi", "OMPI_MCA_plm_rsh_args=\"-F " + rig->ssh_config() + "\""},
  };
  for (const Runner& r : runners) {
    const fs::path out = work / ("two_" + r.name);
    const std::string cmd = rig->in(0, "cd " + work.string() + " && OMP_NUM_THREADS=1 " + r.env + " exec " + std::string(ZT_EXE) +
                                           " launch -H " + hf + " " + r.flags + " --master_port 29551 train" +
                                           train_args(out, work / "cache", 2));
    std::string log = test::run_capture(cmd + " 2>&1", rc);
    ASSERT_EQ(rc, 0) << r.name << "\n" << log;
    EXPECT_NE(log.find("gloo"), std::string::npos) << log;
    EXPECT_NE(log.find("2 ranks on 2 node(s)"), std::string::npos) << log;
    expect_same_weights(work / "one", out, r.name + " runner");
  }
  EXPECT_EQ(rig->wait_no_strays(5000), "") << "processes left behind in the hosts";
}

}  // namespace
