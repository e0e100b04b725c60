// Runners start one agent per node: ssh (OpenSSH client, one process per node), pdsh, openmpi (mpirun) and
// slurm (srun) with one process for all nodes, and `local` (this machine, for --no_ssh node 0). This file only
// builds their command lines and checks the programs exist; the coordinator runs and watches them.
#pragma once
#include <string>
#include <vector>

#include "launch/env.hpp"
#include "launch/hostfile.hpp"

namespace zt::launch {

// The runners `--launcher` accepts, and DeepSpeed's that zerotune refuses (with the reason).
bool is_supported_runner(const std::string& name);
std::string unsupported_runner_reason(const std::string& name);  // "" when supported or unknown

struct RunnerContext {
  std::string runner;                      // ssh | pdsh | openmpi | slurm | local
  std::vector<std::string> launcher_args;  // --launcher_args, split into words
  int ssh_port = -1;                       // --ssh_port (-1 = ssh's default)
  int ssh_connect_timeout_s = 10;
  std::string self_exe;                    // the zerotune binary (same path on every node)
  std::string cwd;                         // ranks' working directory
  std::string secret_hex;
  EnvMap launcher_env;                     // environment runner programs start with
  bool as_root = false;                    // mpirun refuses root without --allow-run-as-root
};

// One process to start. For ssh there is one per node; the others start every node with one command.
struct RunnerCommand {
  std::vector<std::string> argv;
  EnvMap env;               // complete environment of the runner process
  std::string stdin_data;   // written to its stdin, then closed (the secret for ssh)
  std::vector<int> nodes;   // node ranks whose agent it starts
  std::string label;        // "ssh node1", "pdsh", "mpirun" ... for messages
};

// `coordinator` is "addr:port" as the agents should dial it (one per node; runners with one command for all
// nodes use the first entry).
std::vector<RunnerCommand> runner_commands(const RunnerContext& ctx, const WorldLayout& layout,
                                           const std::vector<std::string>& coordinator);

// The program a runner needs ("ssh", "pdsh", "mpirun", "srun") and the Debian package that has it.
std::string runner_program(const std::string& runner);
std::string runner_package(const std::string& runner);
// Throws a zt::Error naming the Debian package when the runner's program is not in PATH.
void check_runner_available(const RunnerContext& ctx);

// `ssh ... host true` for the reachability check before starting agents (DeepSpeed's ssh check).
std::vector<std::string> ssh_check_command(const RunnerContext& ctx, const std::string& host);

}  // namespace zt::launch
