// `zerotune doctor --hostfile`: every host's own doctor report collected over ssh in parallel, plus what only the
// cluster as a whole can show: ssh reachability, the master port from every node, one build everywhere, and a
// collective test over all ranks through `zerotune launch` (latency and bus bandwidth, nccl-tests style).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "cluster/comm_bench.hpp"
#include "cluster/doctor.hpp"
#include "cluster/remote.hpp"

namespace zt::cluster {

struct FleetOptions {
  std::string hostfile;                           // DeepSpeed syntax; the first host is the master
  SshOptions ssh;                                 // how this machine reaches the hosts (extra args, port)
  std::string launcher_args;                      // the same extra ssh arguments as one string, for zerotune launch
  int master_port = 29500;                        // the rendezvous port the ranks will use
  std::string data_dir = "/tmp/data_files/";      // passed to each host's doctor
  std::optional<std::string> nccl_socket_ifname;  // exported to each host's doctor and to the ranks (as launch does)
  launch::EnvMap rank_env;                        // extra variables for the collective test's ranks (.deepspeed_env)
  std::string zerotune;                           // the zerotune binary, at the same path on every host
  bool collective = true;                         // run the collective test
  std::vector<int64_t> bench_sizes;               // bytes; empty = comm-bench's defaults for the device
  int collective_timeout_s = 180;                 // the whole collective test, start-up included
};

struct FleetReport {
  std::vector<DoctorReport> hosts;  // one per hostfile host, in order; each starts with its "ssh" row
  DoctorReport cluster;             // the cross-host rows, host "cluster"
  std::vector<BenchRow> bench;      // the collective test, when it ran
  int bench_ranks = 0;
  std::string bench_backend;
  std::string collective_output;    // the launch's output when the test failed (for the user to read)
};

// Runs it all; never throws for an unreachable host or a failed test (those are rows).
FleetReport run_fleet_doctor(const FleetOptions& o);

// ---- the pieces, pure where they can be (tests) ----
// The report of a host that ssh could not run the doctor on (rc: ssh's exit code; err: its last error line).
DoctorReport unreachable_report(const std::string& host, int rc, const std::string& err, const std::string& hostfile);
// Cross-host consistency from the hosts' facts: one zerotune build, one NCCL version, drivers, GPUs vs slots.
// `slots` are the hostfile's, per report; unreachable hosts (no facts) are skipped.
std::vector<Check> consistency_checks(const std::vector<DoctorReport>& reports, const std::vector<int>& slots);
// The collective test's rows from what `zerotune launch ... comm-bench` printed (rank 0's COMMBENCH lines).
std::vector<Check> collective_checks(const std::vector<BenchRow>& rows, int ranks, const std::string& backend, int hosts);

// {"hosts": [report...], "cluster": report, "collective": {...}, "blocking": bool}
Json fleet_json(const FleetReport& r);
// One table (HOST column) and, when the collective test ran, its nccl-tests table.
std::string format_fleet(const FleetReport& r, int width);
int fleet_exit_status(const FleetReport& r);

}  // namespace zt::cluster
