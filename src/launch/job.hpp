// A launch job as every node sees it (command, environment, world layout, master) and how one node turns it
// into rank processes: the per-rank environment contract and command line.
#pragma once
#include <string>
#include <vector>

#include "core/json.hpp"
#include "launch/env.hpp"
#include "launch/hostfile.hpp"
#include "launch/supervisor.hpp"

namespace zt::launch {

struct JobSpec {
  std::vector<std::string> command;  // each rank's argv, before `--local_rank=N`
  bool no_local_rank = false;        // --no_local_rank: do not append --local_rank=N
  EnvMap env;                        // for every rank on every node (exports, .deepspeed_env); never the secret
  std::string cwd;                   // working directory of every rank (the launcher's)
  std::string log_dir;               // --enable_each_rank_log DIR ("" = relay output with [rank N] prefixes)
  bool bind_cores = false;           // --bind_cores_to_rank
  std::string bind_core_list;        // --bind_core_list ("" = the CPUs the node's agent may use)
  WorldLayout layout;
  bool cpu_ranks = false;            // slots are CPU workers: CUDA_VISIBLE_DEVICES is left alone
  std::string master_addr;
  int master_port = 29500;
  int grace_ms = 3000;               // SIGTERM -> SIGKILL when stopping ranks
  bool choose_socket_ifname = false; // multi-node: set NCCL/GLOO_SOCKET_IFNAME per node when unset
};

Json job_to_json(const JobSpec& spec);
// Validates as it reads (the agent gets it over the network): errors name the field.
JobSpec job_from_json(const Json& j);
// The layout alone, to check that nodes started by hand (--no_ssh) agree on it.
Json layout_to_json(const WorldLayout& w);

struct NodePlan {
  std::vector<RankSpec> ranks;
  std::vector<std::string> notes;  // what the node decided on its own (e.g. the socket interface), to print
};

// The ranks of node `node`: environment = `base` (the process's own) < spec.env < the contract variables
// (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_SIZE, CROSS_RANK, CROSS_SIZE, MASTER_ADDR, MASTER_PORT,
// ZEROTUNE_JOB_SECRET, ZEROTUNE_HOST, CUDA_VISIBLE_DEVICES unless CPU ranks, OMP_NUM_THREADS when binding cores).
NodePlan plan_node(const JobSpec& spec, int node, const EnvMap& base, const std::string& secret_hex);

}  // namespace zt::launch
