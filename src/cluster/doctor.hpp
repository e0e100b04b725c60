// `zerotune doctor` on one host: each check yields a row (status, detail, fix); a host's rows plus its raw facts form
// a DoctorReport that round-trips through JSON, so a multi-host driver can collect `doctor --json` over ssh and merge.
#pragma once
#include <sys/resource.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cluster/gpu_probe.hpp"
#include "cluster/net.hpp"
#include "core/json.hpp"

namespace zt::cluster {

// ok: fine; info: a fact, nothing to do; warn: works but slower, fragile or unsafe; fail: blocks training.
enum class Status { ok, info, warn, fail };
const char* status_name(Status s);
Status parse_status(const std::string& name, const std::string& where);

struct Check {
  std::string name;    // short key: "gpus", "cuda", "nccl", "shm", ...
  Status status = Status::ok;
  std::string detail;  // what was found
  std::string fix;     // what to do (empty when nothing)
};

struct DoctorReport {
  std::string host;           // this host's name (gethostname)
  std::vector<Check> checks;  // in a fixed order
  Json facts;                 // raw values for cross-host comparison (gpus, driver, nccl, route, limits...)
  bool blocking() const;      // any check failed
};

struct DoctorOptions {
  std::optional<std::string> master_addr;    // skip the route check when absent
  int master_port = 29500;
  std::string data_dir = "/tmp/data_files/";  // zerotune train's --data_output_path default
  int expect_gpus = 0;                        // > 0: fewer GPUs (or no driver) blocks training
  std::optional<std::string> nccl_socket_ifname;  // NCCL_SOCKET_IFNAME as the ranks will see it
  // Where the probes look; tests point them at their own files.
  std::string nvml_library = "libnvidia-ml.so.1";
  std::string nccl_library = "libnccl.so.2";
  std::string shm_dir = "/dev/shm";
  std::string infiniband_dir = "/sys/class/infiniband";
  std::string docker_socket = "/var/run/docker.sock";
};

// Runs every check on this host. Never throws for a missing driver, device or file: those are rows.
DoctorReport run_doctor(const DoctorOptions& o);

// ---- the checks, separately (pure where they can be, for tests and the multi-host driver) ----
std::vector<Check> gpu_checks(const NvmlFacts& nvml, const BuildInfo& build, int expect_gpus);
Check nccl_check(const NcclFacts& nccl, const BuildInfo& build, int gpus, int expect_gpus);
Check shm_check(const std::string& dir);
Check shm_size_check(const std::string& dir, uint64_t bytes);
Check memlock_check(rlim_t soft, bool rdma_present);
Check stack_check(rlim_t soft);

struct RdmaPort {
  std::string device;      // "mlx5_0"
  int port = 0;
  std::string state;       // "ACTIVE", "DOWN", ...
  std::string link_layer;  // "InfiniBand" or "Ethernet" (RoCE)
  std::string rate;        // "400 Gb/sec (4X NDR)"
};
std::vector<RdmaPort> read_rdma_ports(const std::string& sysfs_dir);  // /sys/class/infiniband/<dev>/ports/<n>/...
Check infiniband_check(const std::vector<RdmaPort>& ports);

// Which interface routes to the master (route_to) and whether NCCL, with NCCL_SOCKET_IFNAME as given, would
// bootstrap through it; facts (when given) receive "route" and "nccl_interfaces".
Check master_route_check(const std::string& master, int port, const std::optional<std::string>& socket_ifname,
                         const std::vector<NetInterface>& interfaces, Json* facts = nullptr);
// The same judgement for a route already looked up.
Check route_agreement_check(const std::string& master, const Route& route, const std::optional<std::string>& socket_ifname,
                            const std::vector<NetInterface>& interfaces);
Check data_dir_check(const std::string& dir);
Check docker_socket_check(const std::string& path);

// ---- output ----
Json report_json(const DoctorReport& r);  // {"host", "blocking", "checks": [{check, status, detail, fix}], "facts"}
DoctorReport report_from_json(const Json& j, const std::string& source);  // errors name `source`
// One table; with several reports a HOST column comes first. `width` is the terminal width to wrap to.
std::string format_table(const std::vector<DoctorReport>& reports, int width = 160);
// 0 when nothing fails on any host, 1 otherwise.
int doctor_exit_status(const std::vector<DoctorReport>& reports);

std::string format_bytes(uint64_t bytes);  // "64.0 MiB", "1.5 GiB", "512 B"

}  // namespace zt::cluster
