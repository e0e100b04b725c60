// Rank identity from the environment (launcher/DeepSpeed, OpenMPI, Slurm, single process), its errors naming
// the variable, the Slurm list parsers, and the communication options (secret policy, timeouts).
#include <gtest/gtest.h>

#include <map>

#include "core/error.hpp"
#include "dist/rendezvous.hpp"

namespace zt::dist {
namespace {

using Env = std::map<std::string, std::string>;

EnvLookup lookup(const Env& env) {
  return [env](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

std::string error_of(const Env& env) {
  try {
    rank_info_from_env(lookup(env));
  } catch (const Error& e) {
    return e.describe();
  }
  return "(no error)";
}

#define EXPECT_ERROR(env, text)                                   \
  do {                                                            \
    std::string e_ = error_of(env);                               \
    EXPECT_NE(e_.find(text), std::string::npos) << e_;            \
  } while (0)

TEST(RankInfo, SingleProcessWhenNothingIsSet) {
  RankInfo r = rank_info_from_env(lookup({}));
  EXPECT_EQ(r.rank, 0);
  EXPECT_EQ(r.world_size, 1);
  EXPECT_EQ(r.local_rank, 0);
  EXPECT_EQ(r.num_nodes, 1);
  EXPECT_EQ(r.source, "single");
  EXPECT_EQ(r.master_addr, "127.0.0.1");
  EXPECT_EQ(r.master_port, 29500);
  // Only the allocation's Slurm variables (an sbatch script, no srun): still one process.
  r = rank_info_from_env(lookup({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "8"}, {"SLURM_JOB_ID", "12"}}));
  EXPECT_EQ(r.world_size, 1);
  EXPECT_EQ(r.source, "single");
}

TEST(RankInfo, LauncherEnvironment) {
  Env env{{"RANK", "5"},        {"WORLD_SIZE", "8"},  {"LOCAL_RANK", "1"},          {"LOCAL_SIZE", "4"},
          {"CROSS_RANK", "1"},  {"CROSS_SIZE", "2"},  {"MASTER_ADDR", "10.0.1.10"}, {"MASTER_PORT", "29600"}};
  RankInfo r = rank_info_from_env(lookup(env));
  EXPECT_EQ(r.rank, 5);
  EXPECT_EQ(r.world_size, 8);
  EXPECT_EQ(r.local_rank, 1);
  EXPECT_EQ(r.local_size, 4);
  EXPECT_EQ(r.node_rank, 1);
  EXPECT_EQ(r.num_nodes, 2);
  EXPECT_EQ(r.master_addr, "10.0.1.10");
  EXPECT_EQ(r.master_port, 29600);
  EXPECT_EQ(r.source, "env");
  EXPECT_NE(r.str().find("rank 5/8"), std::string::npos) << r.str();

  // Without LOCAL_SIZE/CROSS_*: one node holding every rank; MASTER_ADDR defaults to loopback there.
  r = rank_info_from_env(lookup({{"RANK", "2"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "2"}}));
  EXPECT_EQ(r.local_size, 4);
  EXPECT_EQ(r.num_nodes, 1);
  EXPECT_EQ(r.master_addr, "127.0.0.1");
  // torchrun's LOCAL_WORLD_SIZE; nodes derived from it when CROSS_* are absent.
  r = rank_info_from_env(lookup({{"RANK", "6"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "2"}, {"LOCAL_WORLD_SIZE", "4"},
                                 {"MASTER_ADDR", "h0"}}));
  EXPECT_EQ(r.node_rank, 1);
  EXPECT_EQ(r.num_nodes, 2);
  // World size 1 needs nothing else.
  r = rank_info_from_env(lookup({{"RANK", "0"}, {"WORLD_SIZE", "1"}}));
  EXPECT_EQ(r.world_size, 1);
  EXPECT_EQ(r.source, "env");
  // Empty values count as unset.
  r = rank_info_from_env(lookup({{"RANK", ""}, {"WORLD_SIZE", ""}}));
  EXPECT_EQ(r.source, "single");
}

TEST(RankInfo, LauncherEnvironmentErrorsNameTheVariable) {
  EXPECT_ERROR((Env{{"RANK", "1"}}), "RANK is set but WORLD_SIZE is not");
  EXPECT_ERROR((Env{{"WORLD_SIZE", "2"}}), "WORLD_SIZE is set but RANK is not");
  EXPECT_ERROR((Env{{"RANK", "x1"}, {"WORLD_SIZE", "2"}}), "RANK='x1' is not a non-negative integer");
  EXPECT_ERROR((Env{{"RANK", "-1"}, {"WORLD_SIZE", "2"}}), "RANK='-1'");
  EXPECT_ERROR((Env{{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "0"}}), "RANK=2 is out of range for WORLD_SIZE=2");
  EXPECT_ERROR((Env{{"RANK", "0"}, {"WORLD_SIZE", "0"}}), "WORLD_SIZE=0 must be at least 1");
  EXPECT_ERROR((Env{{"RANK", "1"}, {"WORLD_SIZE", "2"}}), "LOCAL_RANK is not set");
  EXPECT_ERROR((Env{{"RANK", "1"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "3"}, {"LOCAL_SIZE", "2"}, {"MASTER_ADDR", "h"}}),
               "LOCAL_RANK=3 is not below LOCAL_SIZE=2");
  EXPECT_ERROR((Env{{"RANK", "1"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"CROSS_RANK", "0"}}),
               "CROSS_RANK is set but CROSS_SIZE is not");
  EXPECT_ERROR((Env{{"RANK", "1"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"CROSS_RANK", "2"}, {"CROSS_SIZE", "2"},
                    {"MASTER_ADDR", "h"}}),
               "CROSS_RANK=2 is not below CROSS_SIZE=2");
  EXPECT_ERROR((Env{{"RANK", "1"}, {"WORLD_SIZE", "5"}, {"LOCAL_RANK", "1"}, {"CROSS_RANK", "0"}, {"CROSS_SIZE", "2"}}),
               "does not divide evenly over CROSS_SIZE=2");
  EXPECT_ERROR((Env{{"RANK", "1"}, {"WORLD_SIZE", "5"}, {"LOCAL_RANK", "1"}, {"LOCAL_SIZE", "2"}}),
               "WORLD_SIZE=5 is not a multiple of LOCAL_SIZE=2");
  EXPECT_ERROR((Env{{"RANK", "1"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"LOCAL_SIZE", "2"}, {"CROSS_RANK", "0"},
                    {"CROSS_SIZE", "1"}}),
               "LOCAL_SIZE=2 differs from WORLD_SIZE=4 on a single node");
  // Two nodes and no MASTER_ADDR: no safe default.
  EXPECT_ERROR((Env{{"RANK", "1"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"LOCAL_SIZE", "2"}}),
               "MASTER_ADDR is not set for a job of 4 ranks on 2 nodes");
  EXPECT_ERROR((Env{{"MASTER_PORT", "70000"}}), "MASTER_PORT=70000 is not a TCP port");
  EXPECT_ERROR((Env{{"MASTER_PORT", "29500 "}}), "MASTER_PORT='29500 ' is not a non-negative integer");
}

TEST(RankInfo, OpenMpi) {
  Env env{{"OMPI_COMM_WORLD_RANK", "6"},       {"OMPI_COMM_WORLD_SIZE", "8"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "2"},
          {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"}, {"MASTER_ADDR", "node0"}};
  RankInfo r = rank_info_from_env(lookup(env));
  EXPECT_EQ(r.source, "openmpi");
  EXPECT_EQ(r.rank, 6);
  EXPECT_EQ(r.world_size, 8);
  EXPECT_EQ(r.local_rank, 2);
  EXPECT_EQ(r.local_size, 4);
  EXPECT_EQ(r.node_rank, 1);
  EXPECT_EQ(r.num_nodes, 2);
  EXPECT_EQ(r.master_addr, "node0");
  // The launcher's RANK/WORLD_SIZE win over mpirun's.
  env["RANK"] = "1";
  env["WORLD_SIZE"] = "2";
  env["LOCAL_RANK"] = "1";
  EXPECT_EQ(rank_info_from_env(lookup(env)).source, "env");

  EXPECT_ERROR((Env{{"OMPI_COMM_WORLD_RANK", "1"}}), "OMPI_COMM_WORLD_SIZE is not set");
  EXPECT_ERROR((Env{{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}}),
               "OMPI_COMM_WORLD_LOCAL_RANK is not set");
  EXPECT_ERROR((Env{{"OMPI_COMM_WORLD_RANK", "3"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                    {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}}),
               "OMPI_COMM_WORLD_RANK=3 is out of range for OMPI_COMM_WORLD_SIZE=2");
}

TEST(RankInfo, Slurm) {
  Env env{{"SLURM_PROCID", "9"},         {"SLURM_STEP_NUM_TASKS", "11"},          {"SLURM_LOCALID", "1"},
          {"SLURM_NODEID", "2"},         {"SLURM_STEP_NUM_NODES", "3"},           {"SLURM_STEP_ID", "0"},
          {"SLURM_STEP_TASKS_PER_NODE", "4(x2),3"}, {"SLURM_STEP_NODELIST", "gpu[07-09]"}, {"SLURM_NTASKS", "99"}};
  RankInfo r = rank_info_from_env(lookup(env));
  EXPECT_EQ(r.source, "slurm");
  EXPECT_EQ(r.rank, 9);
  EXPECT_EQ(r.world_size, 11);  // the step's task count, not the allocation's
  EXPECT_EQ(r.local_rank, 1);
  EXPECT_EQ(r.local_size, 3);
  EXPECT_EQ(r.node_rank, 2);
  EXPECT_EQ(r.num_nodes, 3);
  EXPECT_EQ(r.master_addr, "gpu07");
  env["MASTER_ADDR"] = "10.1.1.1";
  EXPECT_EQ(rank_info_from_env(lookup(env)).master_addr, "10.1.1.1");

  env.erase("SLURM_LOCALID");
  EXPECT_ERROR(env, "SLURM_LOCALID is not set");
  env["SLURM_LOCALID"] = "3";
  EXPECT_ERROR(env, "SLURM_LOCALID=3 is not below SLURM_STEP_TASKS_PER_NODE=3");
  env["SLURM_LOCALID"] = "1";
  env["SLURM_STEP_TASKS_PER_NODE"] = "4(x2";
  EXPECT_ERROR(env, "SLURM_STEP_TASKS_PER_NODE='4(x2' is not a Slurm tasks-per-node list");
  env["SLURM_STEP_TASKS_PER_NODE"] = "4(x2)";
  EXPECT_ERROR(env, "lists 2 nodes, but this is node 2");
}

TEST(RankInfo, SlurmListParsers) {
  EXPECT_EQ(slurm_first_host("gpu[07-09,12],cpu1"), "gpu07");
  EXPECT_EQ(slurm_first_host("node1,node2"), "node1");
  EXPECT_EQ(slurm_first_host("a-[3,5]-ib"), "a-3-ib");
  EXPECT_EQ(slurm_first_host("single"), "single");
  EXPECT_THROW(slurm_first_host("bad[1-2"), Error);
  EXPECT_THROW(slurm_first_host(""), Error);
  EXPECT_EQ(slurm_tasks_on_node("4(x2),3", 0, "V"), 4);
  EXPECT_EQ(slurm_tasks_on_node("4(x2),3", 1, "V"), 4);
  EXPECT_EQ(slurm_tasks_on_node("4(x2),3", 2, "V"), 3);
  EXPECT_EQ(slurm_tasks_on_node("2,5,1", 1, "V"), 5);
  EXPECT_THROW(slurm_tasks_on_node("x", 0, "V"), Error);
  EXPECT_THROW(slurm_tasks_on_node("4(y2)", 0, "V"), Error);
  EXPECT_THROW(slurm_tasks_on_node("4,,3", 1, "V"), Error);
}

std::string options_error(const RankInfo& info, const Env& env) {
  try {
    comm_options_from_env(info, lookup(env));
  } catch (const Error& e) {
    return e.describe();
  }
  return "(no error)";
}

TEST(CommOptions, SecretPolicyAndTimeouts) {
  RankInfo one;
  RankInfo two;
  two.world_size = 2;
  two.local_size = 2;
  // One process needs no secret; several do, unless explicitly allowed.
  EXPECT_NO_THROW(comm_options_from_env(one, lookup({})));
  std::string e = options_error(two, {});
  EXPECT_NE(e.find("ZEROTUNE_JOB_SECRET is not set for a job of 2 ranks"), std::string::npos) << e;
  EXPECT_NE(e.find("ZEROTUNE_ALLOW_INSECURE_RDZV=1"), std::string::npos) << e;
  CommOptions o = comm_options_from_env(two, lookup({{"ZEROTUNE_ALLOW_INSECURE_RDZV", "1"}}));
  EXPECT_TRUE(o.allow_insecure);
  EXPECT_TRUE(o.secret.empty());
  e = options_error(two, {{"ZEROTUNE_ALLOW_INSECURE_RDZV", "yes"}});
  EXPECT_NE(e.find("must be 0 or 1"), std::string::npos) << e;
  e = options_error(two, {{"ZEROTUNE_JOB_SECRET", "abc"}});
  EXPECT_NE(e.find("ZEROTUNE_JOB_SECRET is too short"), std::string::npos) << e;

  o = comm_options_from_env(two, lookup({{"ZEROTUNE_JOB_SECRET", std::string(64, 'a')},
                                         {"ZEROTUNE_RDZV_TIMEOUT", "2.5"},
                                         {"ZEROTUNE_COMM_TIMEOUT", "30"},
                                         {"GLOO_SOCKET_IFNAME", "eth1"}}));
  EXPECT_EQ(o.secret, std::string(32, '\xaa'));
  EXPECT_EQ(o.rdzv_timeout.count(), 2500);
  EXPECT_EQ(o.comm_timeout.count(), 30000);
  EXPECT_EQ(o.gloo_ifname, "eth1");
  o = comm_options_from_env(one, lookup({}));
  EXPECT_EQ(o.rdzv_timeout.count(), 300000);
  EXPECT_EQ(o.comm_timeout.count(), 600000);
  e = options_error(one, {{"ZEROTUNE_COMM_TIMEOUT", "0"}});
  EXPECT_NE(e.find("ZEROTUNE_COMM_TIMEOUT='0' is not a positive number of seconds"), std::string::npos) << e;
  e = options_error(one, {{"ZEROTUNE_RDZV_TIMEOUT", "10s"}});
  EXPECT_NE(e.find("ZEROTUNE_RDZV_TIMEOUT='10s'"), std::string::npos) << e;

  // ZEROTUNE_COMM_SMS: NCCL's CTA cap and the SMs GEMMs leave free (0 / unset: NCCL decides).
  EXPECT_EQ(comm_options_from_env(one, lookup({})).comm_sms, 0);
  EXPECT_EQ(comm_options_from_env(one, lookup({{"ZEROTUNE_COMM_SMS", "8"}})).comm_sms, 8);
  for (const char* bad : {"eight", "-1", "65", "8 "}) {
    e = options_error(one, {{"ZEROTUNE_COMM_SMS", bad}});
    EXPECT_NE(e.find("ZEROTUNE_COMM_SMS='" + std::string(bad) + "' must be a whole number of SMs from 0 to 64"),
              std::string::npos)
        << e;
  }
  // ZEROTUNE_COMM_CE (copy-engine gathers, on unless 0) and ZEROTUNE_COMM_TRACE (off unless 1).
  o = comm_options_from_env(one, lookup({}));
  EXPECT_TRUE(o.copy_engine);
  EXPECT_FALSE(o.trace);
  o = comm_options_from_env(one, lookup({{"ZEROTUNE_COMM_CE", "0"}, {"ZEROTUNE_COMM_TRACE", "1"}}));
  EXPECT_FALSE(o.copy_engine);
  EXPECT_TRUE(o.trace);
  for (const char* var : {"ZEROTUNE_COMM_CE", "ZEROTUNE_COMM_TRACE"}) {
    e = options_error(one, {{var, "yes"}});
    EXPECT_NE(e.find(std::string(var) + "='yes' must be 0 or 1"), std::string::npos) << e;
  }
}

TEST(InitComm, WorldSizeOneIsTheSingleComm) {
  RankInfo one;
  auto comm = init_comm(one, Device::CPU(), CommOptions{});
  EXPECT_STREQ(comm->backend(), "single");
  EXPECT_EQ(comm->size(), 1);
  EXPECT_EQ(comm->rank(), 0);
}

TEST(InitComm, LoopbackMasterForSeveralNodesIsRefused) {
  RankInfo r;
  r.rank = 1;
  r.world_size = 4;
  r.local_rank = 1;
  r.local_size = 2;
  r.node_rank = 0;
  r.num_nodes = 2;
  r.master_addr = "127.0.0.1";
  CommOptions o;
  o.allow_insecure = true;
  try {
    init_comm(r, Device::CPU(), o);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("MASTER_ADDR 127.0.0.1 is a loopback address"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("spans 2 nodes"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace zt::dist
