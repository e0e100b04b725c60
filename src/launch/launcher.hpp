// Running a job: on this machine only (a Supervisor under the launcher), or across nodes (a coordinator that
// starts agents through a runner, authenticates them, relays their output, and ends the whole job on the first
// bad rank end, lost agent or interrupt, naming host, rank and how it ended in one line).
#pragma once
#include <string>
#include <vector>

#include "launch/env.hpp"
#include "launch/job.hpp"
#include "launch/runners.hpp"

namespace zt::launch {

// Runs every rank of a one-node job under this process. Returns the launcher's exit status: 0 when all ranks exit
// 0, else the first failing rank's exit code (128+N for signal N), 128+N when interrupted by signal N.
int run_local(const JobSpec& job, const std::string& secret_hex, const EnvMap& base_env);

struct CoordinatorOptions {
  JobSpec job;
  std::string secret_hex;
  RunnerContext runner;                // runner.runner == "local": only node 0's agent is started (--no_ssh)
  bool ssh_check = true;               // with the ssh runner: `ssh host true` on every node first
  bool no_ssh = false;                 // nodes 1.. run `zerotune launch --no_ssh --node_rank K` themselves
  int listen_port = 0;                 // 0 = any free port
  std::vector<std::string> dial_addrs; // per node: the address its agent dials us at (without port)
  int agent_connect_timeout_ms = 60000;
};

// Runs a multi-node job to its end; returns the launcher's exit status as run_local does.
int run_coordinator(const CoordinatorOptions& o);

}  // namespace zt::launch
