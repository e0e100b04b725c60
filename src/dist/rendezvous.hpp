// Who this process is in the job (RankInfo from the launcher's environment: DeepSpeed-style, OpenMPI or Slurm)
// and init_comm(), which meets the other ranks at rank 0's store and builds the Comm for the device.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/tensor.hpp"
#include "dist/comm.hpp"

namespace zt::dist {

struct RankInfo {
  int rank = 0;            // global rank, 0..world_size-1
  int world_size = 1;      // number of processes in the job
  int local_rank = 0;      // rank on this node (selects the GPU)
  int local_size = 1;      // processes on this node
  int node_rank = 0;       // this node's index, 0..num_nodes-1
  int num_nodes = 1;
  std::string master_addr = "127.0.0.1";  // rank 0's host: where the rendezvous store listens
  int master_port = 29500;
  std::string source = "single";           // "env" (RANK/WORLD_SIZE...), "openmpi", "slurm" or "single"

  std::string str() const;  // "rank 3/8 (local 3/4, node 0/2) via env, rendezvous 10.0.1.10:29500"
};

// Environment lookup: the value of a variable, or nullopt when unset. Tests pass a map-backed one.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();  // getenv

// Reads the rank identity, first found wins:
//   1. RANK + WORLD_SIZE (+ LOCAL_RANK, LOCAL_SIZE or LOCAL_WORLD_SIZE, CROSS_RANK, CROSS_SIZE): zerotune's and
//      DeepSpeed's launchers (torchrun's names too). LOCAL_RANK is required when WORLD_SIZE > 1.
//   2. OMPI_COMM_WORLD_RANK/_SIZE/_LOCAL_RANK/_LOCAL_SIZE (mpirun). Nodes are assumed to hold consecutive ranks.
//   3. SLURM_PROCID + SLURM_STEP_NUM_TASKS (inside an srun step; SLURM_NTASKS when the step count is absent but
//      SLURM_STEP_ID is set), SLURM_LOCALID, SLURM_NODEID, SLURM_STEP_NUM_NODES, SLURM_STEP_TASKS_PER_NODE
//      ("4(x2),3"). Only the allocation's variables (an sbatch script without srun) mean a single process.
//   4. otherwise a single process.
// MASTER_ADDR (default 127.0.0.1 only for one process or one node; under Slurm the first host of
// SLURM_STEP_NODELIST/SLURM_JOB_NODELIST) and MASTER_PORT (default 29500). Missing or inconsistent values
// are zt::Errors naming the variable.
RankInfo rank_info_from_env();
RankInfo rank_info_from_env(const EnvLookup& env);

// First host of a Slurm node list: "gpu[07-09,12],cpu1" -> "gpu07".
std::string slurm_first_host(const std::string& nodelist);
// Tasks on node `node` from a Slurm tasks-per-node list: "4(x2),3" -> {4, 4, 3}[node].
int slurm_tasks_on_node(const std::string& tasks_per_node, int node, const std::string& var);

struct CommOptions {
  std::string secret;                                 // raw bytes of ZEROTUNE_JOB_SECRET (empty = none)
  bool allow_insecure = false;                        // ZEROTUNE_ALLOW_INSECURE_RDZV=1: run without a secret
  std::chrono::milliseconds rdzv_timeout{300'000};    // ZEROTUNE_RDZV_TIMEOUT (s): reaching the store, arrival
  std::chrono::milliseconds comm_timeout{600'000};    // ZEROTUNE_COMM_TIMEOUT (s): one collective
  std::string gloo_ifname;                            // GLOO_SOCKET_IFNAME: Gloo's interface (else the route to master)
  int comm_sms = 0;  // ZEROTUNE_COMM_SMS: NCCL's CTAs are capped at this many and GEMMs leave as many SMs free (0: NCCL's choice)
  bool copy_engine = true;  // ZEROTUNE_COMM_CE (1, the default): NCCL gathers on the copy engines (zero-CTA policy,
                            // registered buffers) where it can; 0: every collective on SMs
  bool trace = false;       // ZEROTUNE_COMM_TRACE=1: each rank reports how long compute waited for collectives
};
// Reads the options above from the environment; fails when a multi-rank job has no secret and no opt-in.
CommOptions comm_options_from_env(const RankInfo& info);
CommOptions comm_options_from_env(const RankInfo& info, const EnvLookup& env);

// Meets every rank and returns this rank's Comm for tensors on `device`:
//   world size 1 -> make_single_comm() (no network);
//   CPU -> Gloo over TCP; CUDA -> NCCL on device.index (the caller picks it, normally LOCAL_RANK).
// Rank 0 serves the rendezvous store at master_addr:master_port (bound to that address, or every interface when it
// is not local); every rank connects (retrying up to rdzv_timeout), announces itself, and waits until all ranks
// arrived — the error names the missing ranks. After the backend is up, a second store barrier makes sure every
// rank finished initialising. The returned Comm keeps the store (and rank 0's server) alive. One per process.
std::unique_ptr<Comm> init_comm(const RankInfo& info, Device device);
std::unique_ptr<Comm> init_comm(const RankInfo& info, Device device, const CommOptions& options);

}  // namespace zt::dist
