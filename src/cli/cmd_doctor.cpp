// `zerotune doctor`: checks this host (or, with --hostfile, every host over ssh plus the cross-host checks and a
// collective test) for what training needs and prints one table or, with --json, the report.
#include <sys/ioctl.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cluster/doctor.hpp"
#include "cluster/fleet.hpp"
#include "core/error.hpp"
#include "launch/env.hpp"

namespace zt::cli {

namespace {

// The table wraps to the terminal; piped output gets $COLUMNS or 160.
int terminal_width() {
  winsize w{};
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col >= 60) return w.ws_col;
  if (const char* c = std::getenv("COLUMNS"); c && std::atoi(c) >= 60) return std::atoi(c);
  return 160;
}

// `zerotune doctor --hostfile H`: every host over ssh, the cross-host rows and the collective test.
int run_hosts(const Args& a) {
  cluster::FleetOptions o;
  o.hostfile = a.str("hostfile");
  o.launcher_args = a.opt_str("launcher_args").value_or("");
  o.ssh.extra_args = launch::shell_split(o.launcher_args, "--launcher_args");
  o.ssh.port = int(a.integer("ssh_port"));
  int64_t port = a.integer("master_port");
  check(port > 0 && port < 65535, "zerotune doctor: --master_port must be 1..65534, got " + std::to_string(port));
  o.master_port = int(port);
  o.data_dir = a.str("data_dir");
  if (const char* s = std::getenv("NCCL_SOCKET_IFNAME")) o.nccl_socket_ifname = s;
  check(!a.given("expect_gpus"), "zerotune doctor: --expect_gpus is for one host",
        "with --hostfile each host must have at least its slots of GPUs when any host has GPUs");
  check(!a.given("master_addr"), "zerotune doctor: with --hostfile the master is the hostfile's first host",
        "put the master first in the hostfile");
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  check(n > 0, "cannot find the zerotune binary (/proc/self/exe)");
  o.zerotune = std::string(buf, size_t(n));
  o.collective = !a.flag("no_collective");
  for (auto& s : a.list("bench_sizes")) {
    try {
      o.bench_sizes.push_back(std::stoll(s));
    } catch (const std::exception&) {
      fail("zerotune doctor: --bench_sizes takes byte counts, got '" + s + "'");
    }
  }
  // NCCL settings of ./.deepspeed_env reach the collective test's ranks as they reach a training job's.
  if (std::ifstream f(".deepspeed_env"); f) {
    std::stringstream text;
    text << f.rdbuf();
    o.rank_env = launch::parse_env_file(text.str(), ".deepspeed_env");
  }
  cluster::FleetReport r = cluster::run_fleet_doctor(o);
  if (a.flag("json")) std::cout << cluster::fleet_json(r).dump(2) << "\n";
  else std::cout << cluster::format_fleet(r, terminal_width());
  return cluster::fleet_exit_status(r);
}

}  // namespace

int cmd_doctor(const std::vector<std::string>& argv) {
  Args a("doctor",
         "Checks this host for what training needs and prints one table: check, status (ok/info/warn/fail), what was\n"
         "found and how to fix it. Exits 1 when something blocks training (a 'fail' row), else 0.\n"
         "GPU facts come from NVML, loaded at run time: on a host without the NVIDIA driver doctor still runs and says so.\n"
         "NCCL_SOCKET_IFNAME is read from the environment, as the ranks will see it.\n\n"
         "With --hostfile, every host of the hostfile at once: `zerotune doctor --json --master_addr <first host>` runs on\n"
         "each over ssh (BatchMode; zerotune at this binary's path there, as zerotune launch assumes) and the reports are\n"
         "merged into one table with a HOST column, plus the rows only a cluster has: ssh reachability of each host, the\n"
         "master port reachable from every node (a short-lived listener on the master), one zerotune build and NCCL version\n"
         "everywhere, GPUs against the hostfile's slots, and a collective test over all ranks through zerotune launch\n"
         "(NCCL on GPU hosts, Gloo on CPU hosts) with latency and bus bandwidth as nccl-tests prints them\n"
         "(all_reduce busbw = 2(n-1)/n * size/time).\n\n"
         "examples:\n"
         "  zerotune doctor                                   # this host\n"
         "  zerotune doctor --master_addr 10.88.0.2 --expect_gpus 8\n"
         "                                                    # a GPU node of a cluster: 8 GPUs must be there, and the\n"
         "                                                    # interface that reaches the master must be NCCL's\n"
         "  docker exec zt-gpu1 zerotune doctor --master_addr zt-gpu1   # inside a container from cluster init\n"
         "  zerotune doctor --json > doctor-$(hostname).json  # the machine-readable report\n"
         "  zerotune doctor --hostfile /job/hostfile          # every host, cross-host checks, collective test\n"
         "  zerotune doctor --hostfile hosts --ssh_port 2222 --bench_sizes 1048576 1073741824 --json > cluster.json",
         {{"json", FlagKind::boolean, "", "print the report as JSON (host, blocking, checks, raw facts)", false, {}},
          {"master_addr", FlagKind::string, "", "the master's address: which interface routes to it, and does NCCL agree "
                                                "(default: $MASTER_ADDR; no address, no check)", false, {}},
          {"master_port", FlagKind::integer, "29500", "the master's port (the route check; with --hostfile also the port probed "
                                                  "from every node and the collective test's rendezvous)", false, {}},
          {"data_dir", FlagKind::string, "/tmp/data_files/", "the data cache directory whose free space is checked "
                                                             "(zerotune train's --data_output_path)", false, {}},
          {"expect_gpus", FlagKind::integer, "0", "GPUs this host must have; fewer, or no driver, blocks training", false, {}},
          {"hostfile", FlagKind::string, "", "check every host of this hostfile over ssh (DeepSpeed syntax; the first is the master)",
           false, {}},
          {"launcher_args", FlagKind::string, "", "--hostfile: extra ssh arguments, split like a shell (as zerotune launch's)",
           false, {}},
          {"ssh_port", FlagKind::integer, "-1", "--hostfile: the hosts' ssh port", false, {}},
          {"no_collective", FlagKind::boolean, "", "--hostfile: skip the collective test", false, {}},
          {"bench_sizes", FlagKind::list, "", "--hostfile: the collective test's message sizes in bytes (default: 4 KiB 256 KiB "
                                              "4 MiB on CPUs; 1 MiB 16 MiB 256 MiB 1 GiB on GPUs)", false, {}}});
  if (!a.parse(argv)) return 0;
  if (a.given("hostfile")) return run_hosts(a);
  for (auto f : {"launcher_args", "ssh_port", "no_collective", "bench_sizes"})
    check(!a.given(f), std::string("zerotune doctor: --") + f + " is for --hostfile", "add --hostfile, or drop it");
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
