// `zerotune doctor`: checks this host for what training needs (GPUs, driver/CUDA, NCCL, shm, ulimits, RDMA, the route
// to the master, disk, docker socket) and prints one table or, with --json, the report a multi-host run collects.
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cluster/doctor.hpp"
#include "core/error.hpp"
#include "core/error.hpp"

namespace zt::cli {

namespace {

// The table wraps to the terminal; piped output gets $COLUMNS or 160.
int terminal_width() {
  winsize w{};
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col >= 60) return w.ws_col;
  if (const char* c = std::getenv("COLUMNS"); c && std::atoi(c) >= 60) return std::atoi(c);
  return 160;
}

}  // namespace

int cmd_doctor(const std::vector<std::string>& argv) {
  Args a("doctor",
         "Checks this host for what training needs and prints one table: check, status (ok/info/warn/fail), what was\n"
         "found and how to fix it. Exits 1 when something blocks training (a 'fail' row), else 0.\n"
         "GPU facts come from NVML, loaded at run time: on a host without the NVIDIA driver doctor still runs and says so.\n"
         "NCCL_SOCKET_IFNAME is read from the environment, as the ranks will see it.\n\n"
         "examples:\n"
         "  zerotune doctor                                   # this host\n"
         "  zerotune doctor --master_addr 10.88.0.2 --expect_gpus 8\n"
         "                                                    # a GPU node of a cluster: 8 GPUs must be there, and the\n"
         "                                                    # interface that reaches the master must be NCCL's\n"
         "  docker exec zt-gpu1 zerotune doctor --master_addr zt-gpu1   # inside a container from cluster init\n"
         "  zerotune doctor --json > doctor-$(hostname).json  # the machine-readable report",
         {{"json", FlagKind::boolean, "", "print the report as JSON (host, blocking, checks, raw facts)", false, {}},
          {"master_addr", FlagKind::string, "", "the master's address: which interface routes to it, and does NCCL agree "
                                                "(default: $MASTER_ADDR; no address, no check)", false, {}},
          {"master_port", FlagKind::integer, "29500", "the master's port (only used to pick the route)", false, {}},
          {"data_dir", FlagKind::string, "/tmp/data_files/", "the data cache directory whose free space is checked "
                                                             "(zerotune train's --data_output_path)", false, {}},
          {"expect_gpus", FlagKind::integer, "0", "GPUs this host must have; fewer, or no driver, blocks training", false, {}}});
  if (!a.parse(argv)) return 0;
  cluster::DoctorOptions o;
  if (a.given("master_addr")) o.master_addr = a.str("master_addr");
  else if (const char* m = std::getenv("MASTER_ADDR"); m && *m) o.master_addr = m;
  int64_t port = a.integer("master_port");
  check(port > 0 && port < 65536, "zerotune doctor: --master_port must be 1..65535, got " + std::to_string(port));
  o.master_port = int(port);
  o.data_dir = a.str("data_dir");
  int64_t expect = a.integer("expect_gpus");
  check(expect >= 0, "zerotune doctor: --expect_gpus must be >= 0, got " + std::to_string(expect));
  o.expect_gpus = int(expect);
  if (const char* s = std::getenv("NCCL_SOCKET_IFNAME")) o.nccl_socket_ifname = s;
  cluster::DoctorReport r = cluster::run_doctor(o);
  if (a.flag("json")) std::cout << cluster::report_json(r).dump(2) << "\n";
  else std::cout << cluster::format_table({r}, terminal_width());
  return cluster::doctor_exit_status({r});
}

}  // namespace zt::cli
