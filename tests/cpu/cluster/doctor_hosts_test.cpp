// zerotune doctor --hostfile: the cross-host judgements on made-up reports, the collective test's numbers (comm-bench
// under zerotune launch on this machine, bus bandwidth = algbw * 2(n-1)/n, the sums checked), the port probe on
// loopback, and the whole command on three network-namespace hosts (netns_rig.hpp): every host in the table, the
// master port from every node, Gloo bandwidth rows; an unreachable host and a master port in use are blocking rows.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "cluster/comm_bench.hpp"
#include "cluster/fleet.hpp"
#include "cluster/port_probe.hpp"
#include "cpu/launch/launch_test_util.hpp"
#include "cpu/launch/netns_rig.hpp"
#include "cpu/test_process.hpp"
#include "launch/net.hpp"

using namespace zt;
using namespace zt::cluster;
using namespace zt::test;

namespace {

const std::string exe = ZT_EXE;

DoctorReport host_report(const std::string& host, int cuda, const std::string& sha, int gpus, int nccl_version,
                         const std::string& driver = "") {
  DoctorReport r;
  r.host = host;
  r.facts = Json::object();
  r.facts["build"] = {{"cuda_version", cuda}, {"cuda_architectures", cuda ? "80,90" : ""}, {"exe_sha256", sha}};
  Json g = Json::array();
  for (int i = 0; i < gpus; ++i) g.push_back({{"index", i}, {"name", "NVIDIA H100"}});
  r.facts["nvml"] = {{"loaded", gpus > 0}, {"driver_version", driver}, {"gpus", g}};
  r.facts["nccl"] = {{"found", nccl_version > 0}, {"version", nccl_version}};
  r.checks.push_back({"zerotune", Status::info, "", ""});
  return r;
}

const Check* find(const std::vector<Check>& cs, const std::string& name) {
  for (auto& c : cs)
    if (c.name == name) return &c;
  return nullptr;
}

const Check* find(const Json& report, const std::string& name, DoctorReport& holder) {
  holder = report_from_json(report, "test");
  return find(holder.checks, name);
}

}  // namespace

TEST(DoctorHosts, ConsistencyAcrossHosts) {
  // CPU hosts, one binary: fine, and the ranks are the slots
  auto cs = consistency_checks({host_report("a", 0, "abc", 0, 0), host_report("b", 0, "abc", 0, 0)}, {2, 1});
  ASSERT_NE(find(cs, "zerotune build"), nullptr);
  EXPECT_EQ(find(cs, "zerotune build")->status, Status::ok);
  EXPECT_NE(find(cs, "zerotune build")->detail.find("CPU build, sha256 abc on all 2 hosts"), std::string::npos);
  EXPECT_EQ(find(cs, "gpus")->status, Status::info);
  EXPECT_NE(find(cs, "gpus")->detail.find("3 CPU ranks"), std::string::npos);
  // a CUDA build beside a CPU build blocks; two binaries of one kind warn
  cs = consistency_checks({host_report("a", 12080, "abc", 8, 22105), host_report("b", 0, "def", 8, 22105)}, {8, 8});
  EXPECT_EQ(find(cs, "zerotune build")->status, Status::fail);
  EXPECT_NE(find(cs, "zerotune build")->detail.find("a: CUDA 12.8 build"), std::string::npos) << find(cs, "zerotune build")->detail;
  cs = consistency_checks({host_report("a", 12080, "abc", 8, 22105), host_report("b", 12080, "def", 8, 22105)}, {8, 8});
  EXPECT_EQ(find(cs, "zerotune build")->status, Status::warn);
  EXPECT_EQ(find(cs, "nccl versions")->status, Status::ok);
  EXPECT_EQ(find(cs, "gpus")->status, Status::ok);
  // NCCL versions differ on GPU hosts; fewer GPUs than slots; a host without GPUs among GPU hosts
  cs = consistency_checks({host_report("a", 12080, "x", 8, 22105, "570.1"), host_report("b", 12080, "x", 4, 21903, "575.2")},
                          {8, 8});
  EXPECT_EQ(find(cs, "nccl versions")->status, Status::fail);
  EXPECT_NE(find(cs, "nccl versions")->detail.find("a: 2.21.5"), std::string::npos) << find(cs, "nccl versions")->detail;
  EXPECT_EQ(find(cs, "gpus")->status, Status::fail);
  EXPECT_NE(find(cs, "gpus")->detail.find("b (slots=8, 4 GPUs)"), std::string::npos);
  EXPECT_EQ(find(cs, "driver versions")->status, Status::warn);
  cs = consistency_checks({host_report("a", 12080, "x", 8, 22105), host_report("b", 12080, "x", 0, 0)}, {8, 8});
  EXPECT_EQ(find(cs, "gpus")->status, Status::fail);
  EXPECT_NE(find(cs, "gpus")->detail.find("no GPU on b"), std::string::npos);
  EXPECT_EQ(find(cs, "nccl versions")->status, Status::fail);  // NCCL missing on b
  // a host without facts (unreachable) is left out
  DoctorReport down = unreachable_report("c", 255, "ssh: connect to host c port 22: No route to host", "hosts");
  EXPECT_TRUE(down.blocking());
  EXPECT_NE(down.checks[0].fix.find("reachable from here"), std::string::npos);
  cs = consistency_checks({host_report("a", 0, "abc", 0, 0), down}, {1, 1});
  EXPECT_NE(find(cs, "zerotune build")->detail.find("on all 1 host that answered"), std::string::npos);
  EXPECT_NE(unreachable_report("c", 255, "root@c: Permission denied (publickey).", "hosts").checks[0].fix.find(
                "zerotune cluster ssh-setup --hostfile hosts"),
            std::string::npos);
}

TEST(DoctorHosts, BenchLinesAndRows) {
  EXPECT_DOUBLE_EQ(allreduce_bus_factor(1), 1.0);
  EXPECT_DOUBLE_EQ(allreduce_bus_factor(2), 1.0);
  EXPECT_DOUBLE_EQ(allreduce_bus_factor(4), 1.5);
  BenchRow r{4096, 1024, 20, 12.5, 0.32768, 0.49152, 0};
  auto b = parse_bench_line("[rank 0] " + bench_line(r, 4, "gloo"));
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->ranks, 4);
  EXPECT_EQ(b->backend, "gloo");
  EXPECT_EQ(b->row.bytes, 4096);
  EXPECT_EQ(b->row.iters, 20);
  EXPECT_DOUBLE_EQ(b->row.time_us, 12.5);
  EXPECT_FALSE(parse_bench_line("[rank 0] COMMBENCH op=all_reduce ranks=4").has_value());
  auto cs = collective_checks({r, BenchRow{int64_t(4) << 20, int64_t(1) << 20, 5, 1000, 4.194, 6.291, 0}}, 4, "gloo", 3);
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_EQ(cs[0].status, Status::ok);
  EXPECT_EQ(cs[0].detail, "all_reduce over 4 ranks on 3 hosts (gloo): latency 12.5 us at 4 KiB, bus bandwidth 6.291 GB/s at 4 MiB");
  EXPECT_EQ(cs[1].name, "all_reduce 4 KiB");
  EXPECT_EQ(cs[2].name, "all_reduce 4 MiB");
  r.wrong = 3;
  EXPECT_EQ(collective_checks({r}, 4, "gloo", 3)[0].status, Status::fail);
}

TEST(DoctorHosts, CommBenchUnderLaunchChecksSumsAndBusBandwidth) {
  int port = 0;
  launch::listen_tcp(0, port);  // a port free a moment ago, for the ranks' store on loopback
  int rc = 0;
  std::string out = run_capture("ZEROTUNE_RDZV_TIMEOUT=60 " + exe + " launch --num_gpus 3 --master_port " + std::to_string(port) +
                                    " --no_local_rank -- " +
                                    exe + " comm-bench --sizes 4096 65536 --seconds_per_size 0.05 2>&1",
                                rc);
  ASSERT_EQ(rc, 0) << out;
  std::vector<BenchLine> lines;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);)
    if (auto b = parse_bench_line(l)) {
      EXPECT_EQ(l.rfind("[rank 0] ", 0), 0u) << "only rank 0 reports: " << l;
      lines.push_back(*b);
    }
  ASSERT_EQ(lines.size(), 2u) << out;
  for (auto& b : lines) {
    EXPECT_EQ(b.ranks, 3);
    EXPECT_EQ(b.backend, "gloo");
    EXPECT_EQ(b.row.wrong, 0) << "every element must be 1+2+3";
    EXPECT_GE(b.row.iters, 3);
    EXPECT_GT(b.row.time_us, 0);
    EXPECT_NEAR(b.row.algbw_gbs, b.row.bytes / (b.row.time_us * 1e-6) / 1e9, 1e-3 * b.row.algbw_gbs + 1e-6);
    EXPECT_NEAR(b.row.busbw_gbs, b.row.algbw_gbs * 4.0 / 3.0, 1e-3 * b.row.busbw_gbs + 1e-6);
  }
  EXPECT_EQ(lines[0].row.bytes, 4096);
  EXPECT_EQ(lines[1].row.count, 16384);
  EXPECT_NE(out.find("[rank 0] #       size        count   type  redop     time(us)  algbw(GB/s)  busbw(GB/s)"), std::string::npos)
      << out;
}

TEST(DoctorHosts, PortProbeOnLoopback) {
  // a port nothing listens on: refused
  int bound = 0;
  int free_port;
  {
    launch::Fd s = launch::listen_tcp(0, bound);
    free_port = bound;
  }
  double ms = 0;
  std::string err = port_probe_connect("127.0.0.1", free_port, 2000, ms);
  EXPECT_NE(err.find("cannot connect to 127.0.0.1:" + std::to_string(free_port) + ": Connection refused"), std::string::npos) << err;
  // a listener that is not the probe's: connected, but not answered
  launch::Fd other = launch::listen_tcp(0, bound);
  err = port_probe_connect("127.0.0.1", bound, 300, ms);
  EXPECT_NE(err.find("did not answer: another program"), std::string::npos) << err;
  other.reset();
  // the probe's own listener, in a child process, answers; it ends when its stdin closes
  Background listener("sleep 2 | exec " + exe + " port-probe --listen " + std::to_string(bound) + " --timeout_s 20",
                      std::filesystem::temp_directory_path().string() + "/zt_port_probe_" + std::to_string(getpid()));
  ASSERT_TRUE(eventually([&] { return listener.output().find("ZT-LISTENING") != std::string::npos; }, 10000))
      << listener.output();
  err = port_probe_connect("127.0.0.1", bound, 2000, ms);
  EXPECT_EQ(err, "");
  EXPECT_GE(ms, 0);
  ASSERT_TRUE(eventually([&] { return listener.output().find("ZT-ACCEPTED 127.0.0.1 ") != std::string::npos; }, 5000))
      << listener.output();
  // the port is in use while it listens: a second listener says so
  int rc = 0;
  std::string out = run_capture(exe + " port-probe --listen " + std::to_string(bound) + " --timeout_s 1 2>&1", rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("Address already in use"), std::string::npos) << out;
  EXPECT_EQ(listener.wait(10000), 0) << listener.output();
}

// ---- on network-namespace hosts ----

class DoctorHostsNetns : public NetnsSuite<DoctorHostsNetns, 3> {
 protected:
  // `zerotune doctor --hostfile` started in host 0 with the rig's ssh config.
  static std::string doctor(const std::string& args, int& rc) {
    return run_capture(rig_->in(0, "exec " + exe + " doctor --launcher_args \"-F " + rig_->ssh_config() + "\" " + args) + " 2>&1",
                       rc);
  }
};

TEST_F(DoctorHostsNetns, EveryHostTheMasterPortAndGlooBandwidth) {
  std::string hf = rig_->write_file("hosts", "node0 slots=2\nnode1 slots=1\nnode2 slots=1\n");
  int rc = 0;
  std::string out = doctor("--hostfile " + hf + " --master_port 29641 --bench_sizes 4096 65536 --json", rc);
  Json j;
  try {
    j = Json::parse(out);
  } catch (const std::exception& e) {
    FAIL() << e.what() << "\n" << out;
  }
  ASSERT_EQ(j["hosts"].size(), 3u) << out;
  for (int i = 0; i < 3; ++i) {
    DoctorReport r;
    const Json& h = j["hosts"][size_t(i)];
    EXPECT_EQ(h["host"], "node" + std::to_string(i));
    const Check* ssh = find(h, "ssh", r);
    ASSERT_NE(ssh, nullptr) << h.dump();
    EXPECT_EQ(ssh->status, Status::ok) << ssh->detail;
    const Check* port = find(h, "master port", r);
    ASSERT_NE(port, nullptr) << h.dump();
    EXPECT_EQ(port->status, Status::ok) << port->detail;
    EXPECT_NE(port->detail.find("node0:29641 answered in"), std::string::npos) << port->detail;
    const Check* route = find(h, "master route", r);
    ASSERT_NE(route, nullptr);
    EXPECT_NE(route->detail.find("node0 (10.77.0.1) is reached through net" + std::to_string(i)), std::string::npos)
        << "each host's own doctor ran there: " << route->detail;
  }
  DoctorReport cl;
  const Check* coll = find(j["cluster"], "collective", cl);
  ASSERT_NE(coll, nullptr) << out;
  EXPECT_EQ(coll->status, Status::ok) << coll->detail;
  EXPECT_NE(coll->detail.find("all_reduce over 4 ranks on 3 hosts (gloo)"), std::string::npos) << coll->detail;
  EXPECT_EQ(find(cl.checks, "zerotune build")->status, Status::ok);
  EXPECT_NE(find(cl.checks, "gpus")->detail.find("4 CPU ranks"), std::string::npos);
  ASSERT_EQ(j["collective"]["rows"].size(), 2u) << out;
  for (auto& row : j["collective"]["rows"]) {
    EXPECT_EQ(row["wrong"], 0);
    EXPECT_NEAR(row["busbw_gbs"].get<double>(), row["algbw_gbs"].get<double>() * 1.5, 1e-3 * row["busbw_gbs"].get<double>() + 1e-6);
  }
  EXPECT_EQ(j["collective"]["backend"], "gloo");
  bool any_fail = false;
  for (auto& h : j["hosts"]) any_fail = any_fail || h["blocking"].get<bool>();
  any_fail = any_fail || j["cluster"]["blocking"].get<bool>();
  EXPECT_EQ(j["blocking"].get<bool>(), any_fail);
  EXPECT_EQ(rc, any_fail ? 1 : 0);
}

TEST_F(DoctorHostsNetns, UnreachableHostIsABlockingRow) {
  std::string hf = rig_->write_file("hosts_down", "node0 slots=1\nnode1 slots=1\nnode-down slots=1\n");
  int rc = 0;
  std::string out = doctor("--hostfile " + hf + " --master_port 29642", rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("HOST       CHECK"), std::string::npos) << out;
  for (auto h : {"node0      ssh", "node1      ssh"}) EXPECT_NE(out.find(std::string(h) + "  "), std::string::npos) << out;
  EXPECT_NE(out.find("node-down  ssh             fail    cannot run zerotune doctor there over ssh (BatchMode): ssh:"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("No route to host"), std::string::npos) << out;
  EXPECT_NE(out.find("node1      master port     ok      node0:29642 answered in"), std::string::npos) << out;
  EXPECT_NE(out.find("cluster    collective      fail    not run: 1 of 3 hosts are unreachable over ssh"), std::string::npos) << out;
  EXPECT_NE(out.find("problems block training (fail)"), std::string::npos) << out;
}

TEST_F(DoctorHostsNetns, MasterPortInUseIsABlockingRow) {
  std::string hf = rig_->write_file("hosts_busy", "node0 slots=1\nnode1 slots=1\n");
  // another program holds the master port on node0
  Background holder(rig_->in(0, "exec /usr/bin/python3 -c 'import socket,time; s=socket.socket(); "
                                 "s.bind((\"0.0.0.0\", 29643)); s.listen(); print(\"bound\", flush=True); time.sleep(60)'"),
                    rig_->dir() + "/holder.out");
  ASSERT_TRUE(eventually([&] { return holder.output().find("bound") != std::string::npos; }, 10000)) << holder.output();
  int rc = 0;
  std::string out = doctor("--hostfile " + hf + " --master_port 29643 --no_collective", rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("node0    master port     fail    cannot listen on port 29643 on the master: zerotune port-probe:"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("Address already in use"), std::string::npos) << out;
  EXPECT_NE(out.find("another program holds the port"), std::string::npos) << out;
  EXPECT_NE(out.find("node1    master port     info    not tested: nothing could listen on the master"), std::string::npos) << out;
  EXPECT_NE(out.find("cluster  collective      info    skipped (--no_collective)"), std::string::npos) << out;
}
