// Hidden subcommands that `zerotune doctor --hostfile` runs on the nodes: `comm-bench` (every rank of a launched job
// times all_reduce through dist::init_comm) and `port-probe` (a short-lived listener on the master port, or a client).
#include <cstdio>
#include <iostream>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/rank_device.hpp"
#include "cluster/comm_bench.hpp"
#include "cluster/port_probe.hpp"
#include "core/error.hpp"
#include "dist/rendezvous.hpp"
#include "launch/net.hpp"

namespace zt::cli {

int cmd_comm_bench(const std::vector<std::string>& argv) {
  Args a("comm-bench",
         "Internal (zerotune doctor --hostfile runs it as every rank of `zerotune launch`): times all_reduce over all\n"
         "ranks (NCCL on GPUs, Gloo on CPUs) for a few sizes and prints, on rank 0, nccl-tests' table and one COMMBENCH\n"
         "line per size. By hand: zerotune launch -H hostfile -- $(which zerotune) comm-bench",
         {{"sizes", FlagKind::list, "", "message sizes in bytes (default: 4 KiB 256 KiB 4 MiB on CPUs; 1 MiB 16 MiB 256 MiB 1 GiB on GPUs)",
           false, {}},
          {"seconds_per_size", FlagKind::number, "0.2", "timed iterations per size fill about this long (3..100 of them)", false, {}}});
  if (!a.parse(argv)) return 0;
  cluster::CommBenchOptions o;
  for (auto& s : a.list("sizes")) {
    int64_t v = 0;
    try {
      v = std::stoll(s);
    } catch (const std::exception&) {
      fail("comm-bench: --sizes takes byte counts, got '" + s + "'");
    }
    o.sizes.push_back(v);
  }
  o.seconds_per_size = a.number("seconds_per_size");
  const dist::RankInfo ri = dist::rank_info_from_env();
  const Device dev = rank_device(ri.local_rank);
  std::unique_ptr<dist::Comm> comm = dist::init_comm(ri, dev);
  auto rows = cluster::run_allreduce_bench(*comm, dev, o);
  if (comm->rank() == 0) {
    std::cout << cluster::format_bench_table(rows, comm->size(), comm->backend());
    for (auto& r : rows) std::cout << cluster::bench_line(r, comm->size(), comm->backend()) << "\n";
    std::cout.flush();
  }
  comm->barrier();
  return 0;
}

int cmd_port_probe(const std::vector<std::string>& argv) {
  Args a("port-probe",
         "Internal (zerotune doctor --hostfile runs it over ssh): --listen PORT on the master until stdin closes, or\n"
         "--connect HOST:PORT from a node (prints ZT-PORT-OK <ms>, or the error and exits 1).",
         {{"listen", FlagKind::integer, "0", "listen on this TCP port", false, {}},
          {"connect", FlagKind::string, "", "HOST:PORT to connect to", false, {}},
          {"timeout_s", FlagKind::integer, "60", "--listen: give up after this long", false, {}},
          {"timeout_ms", FlagKind::integer, "5000", "--connect: connect and answer within this long", false, {}}});
  if (!a.parse(argv)) return 0;
  check(a.given("listen") != a.given("connect"), "port-probe: give exactly one of --listen PORT and --connect HOST:PORT");
  if (a.given("listen")) {
    int64_t port = a.integer("listen");
    check(port > 0 && port < 65536, "port-probe: --listen must be 1..65535");
    cluster::port_probe_listen(int(port), int(a.integer("timeout_s")), std::cout);
    return 0;
  }
  std::string host;
  int port = 0;
  check(launch::split_host_port(a.str("connect"), host, port), "port-probe: --connect must be HOST:PORT, got '" + a.str("connect") + "'");
  double ms = 0;
  std::string err = cluster::port_probe_connect(host, port, int(a.integer("timeout_ms")), ms);
  if (!err.empty()) {
    std::printf("%s\n", err.c_str());
    return 1;
  }
  std::printf("ZT-PORT-OK %.1f\n", ms);
  return 0;
}

}  // namespace zt::cli
