// The per-node agent (`zerotune launch-agent`, or `zerotune launch --no_ssh --node_rank K`): connects to the
// launcher's coordinator, authenticates with the job secret, runs this node's ranks under a Supervisor, reports
// how they end and stops them when told to or when the launcher goes away.
#pragma once
#include <optional>
#include <string>

#include "launch/env.hpp"
#include "launch/job.hpp"

namespace zt::launch {

struct AgentOptions {
  std::string coordinator_host;
  int coordinator_port = 0;
  // Who this agent is: a node rank, or a name the coordinator looks up among the job's hosts.
  int node_rank = -1;
  std::string node_name;
  std::string secret_hex;         // the job secret
  std::optional<JobSpec> job;     // --no_ssh: the node's own job; else the coordinator sends it
  int connect_timeout_ms = 20000; // how long to keep retrying the first connection
  EnvMap base_env;                // the environment ranks start from (the agent's own)
  std::string label;              // for messages, e.g. "launch-agent"
};

// Runs the agent to the end. Returns 0 when every local rank exited 0; else the exit code of the first failure,
// 1 when the launcher was lost or refused us, 128+N when stopped by signal N.
int run_agent(const AgentOptions& o);

// The node identity from the environment of a runner that starts one agent per node with the same command line:
// "ompi" (OMPI_COMM_WORLD_RANK), "slurm" (SLURMD_NODENAME, looked up by name). Fills node_rank or node_name.
void identity_from_runner(const std::string& runner, const EnvMap& env, AgentOptions& o);

}  // namespace zt::launch
