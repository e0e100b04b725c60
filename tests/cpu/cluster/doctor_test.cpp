// zerotune doctor: the NCCL_SOCKET_IFNAME matcher, CIDR and version parsing, each check on made-up facts, route lookup
// on loopback, the docker-socket check on a socket we create, the no-driver path of this machine, and the JSON report.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>
#include <fstream>

#include "cluster/doctor.hpp"
#include "core/error.hpp"
#include "cpu/test_process.hpp"

using namespace zt;
using namespace zt::cluster;

namespace {

std::filesystem::path temp_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("zt_doctor_" + name + "_" + std::to_string(getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

NetInterface itf(const std::string& name, bool loopback = false) { return {name, {"10.0.0.1"}, true, loopback}; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return std::string(e.what()) + " | " + e.hint();
  }
  return "";
}

GpuInfo gpu(const std::string& name, int major, int minor, uint64_t gib) {
  GpuInfo g;
  g.name = name;
  g.cc_major = major;
  g.cc_minor = minor;
  g.memory_total = gib << 30;
  return g;
}

}  // namespace

TEST(IfnameFilter, PrefixExcludeExactAndPorts) {
  auto f = parse_ifname_filter("eth,ib");
  EXPECT_TRUE(ifname_matches(f, "eth0"));
  EXPECT_TRUE(ifname_matches(f, "ib1"));
  EXPECT_FALSE(ifname_matches(f, "lo"));
  EXPECT_FALSE(ifname_matches(f, "ens3"));

  f = parse_ifname_filter("^docker,lo");
  EXPECT_TRUE(f.exclude);
  EXPECT_FALSE(ifname_matches(f, "docker0"));
  EXPECT_FALSE(ifname_matches(f, "lo"));
  EXPECT_TRUE(ifname_matches(f, "eth0"));

  f = parse_ifname_filter("=eth0");
  EXPECT_TRUE(f.exact);
  EXPECT_TRUE(ifname_matches(f, "eth0"));
  EXPECT_FALSE(ifname_matches(f, "eth01"));

  f = parse_ifname_filter("^=eth1");
  EXPECT_TRUE(f.exclude && f.exact);
  EXPECT_FALSE(ifname_matches(f, "eth1"));
  EXPECT_TRUE(ifname_matches(f, "eth10"));

  f = parse_ifname_filter("eth0:5000,ib0");
  ASSERT_EQ(f.names.size(), 2u);
  EXPECT_EQ(f.names[0], "eth0");
  EXPECT_TRUE(ifname_matches(f, "eth0"));
}

TEST(IfnameFilter, NcclDefaultOrderAndUserChoice) {
  std::vector<NetInterface> all = {itf("lo", true), itf("docker0"), itf("eth0"), itf("ib0")};
  EXPECT_EQ(nccl_interfaces(std::nullopt, all), std::vector<std::string>{"ib0"});  // ib first
  all.pop_back();
  EXPECT_EQ(nccl_interfaces(std::nullopt, all), std::vector<std::string>{"eth0"});  // then not docker/lo
  std::vector<NetInterface> only = {itf("lo", true), itf("docker0")};
  EXPECT_EQ(nccl_interfaces(std::nullopt, only), std::vector<std::string>{"docker0"});  // then docker, then lo
  only.pop_back();
  EXPECT_EQ(nccl_interfaces(std::nullopt, only), std::vector<std::string>{"lo"});
  EXPECT_EQ(nccl_interfaces(std::string("docker"), all), std::vector<std::string>{"docker0"});
  EXPECT_TRUE(nccl_interfaces(std::string("ens"), all).empty());
  // A value of one character is ignored by NCCL (strlen > 1), as if unset.
  EXPECT_EQ(nccl_interfaces(std::string("e"), all), std::vector<std::string>{"eth0"});
  // Interfaces that are down or have no address are never chosen.
  std::vector<NetInterface> down = {itf("lo", true), {"eth0", {}, true, false}, {"eth1", {"10.1.1.1"}, false, false}};
  EXPECT_EQ(nccl_interfaces(std::nullopt, down), std::vector<std::string>{"lo"});
}

TEST(Cidr, ParsesAndExplains) {
  EXPECT_EQ(parse_ipv4("10.88.0.2"), 0x0A580002u);
  EXPECT_FALSE(parse_ipv4("10.88.0").has_value());
  EXPECT_FALSE(parse_ipv4("10.88.0.256").has_value());
  EXPECT_FALSE(parse_ipv4("10.088.0.1").has_value());
  EXPECT_FALSE(parse_ipv4("10.88.0.1 ").has_value());
  Ipv4Cidr c = parse_cidr("10.88.0.0/24", "--subnet");
  EXPECT_EQ(c.prefix, 24);
  EXPECT_EQ(c.size(), 256u);
  EXPECT_TRUE(c.contains(*parse_ipv4("10.88.0.200")));
  EXPECT_FALSE(c.contains(*parse_ipv4("10.88.1.1")));
  EXPECT_EQ(c.text(), "10.88.0.0/24");
  EXPECT_NE(error_of([] { parse_cidr("10.88.0.1/24", "--subnet"); }).find("did you mean 10.88.0.0/24"), std::string::npos);
  EXPECT_NE(error_of([] { parse_cidr("10.88.0.0", "--subnet"); }).find("--subnet: '10.88.0.0' is not a CIDR"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_cidr("10.88.0.0/33", "--subnet"); }).find("prefix"), std::string::npos);
  EXPECT_NE(error_of([] { parse_cidr("llm-net/24", "--subnet"); }).find("IPv4"), std::string::npos);
}

TEST(Versions, TextForms) {
  EXPECT_EQ(cuda_version_text(12080), "12.8");
  EXPECT_EQ(cuda_version_text(13000), "13.0");
  EXPECT_EQ(nccl_version_text(22105), "2.21.5");
  EXPECT_EQ(nccl_version_text(2708), "2.7.8");
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(64ull << 20), "64.0 MiB");
  EXPECT_EQ(format_bytes(3ull << 29), "1.5 GiB");
  EXPECT_STREQ(gpu_arch_name(6, 1), "Pascal");
  EXPECT_STREQ(gpu_arch_name(7, 0), "Volta");
  EXPECT_STREQ(gpu_arch_name(7, 5), "Turing");
  EXPECT_STREQ(gpu_arch_name(8, 9), "Ada Lovelace");
  EXPECT_STREQ(gpu_arch_name(9, 0), "Hopper");
  EXPECT_STREQ(gpu_arch_name(5, 2), "pre-Pascal");
}

TEST(Versions, BuildArchitectures) {
  EXPECT_EQ(build_runs_on("80;90", 8, 6), 1);   // sm_80 SASS runs on 8.6
  EXPECT_EQ(build_runs_on("80;90", 7, 0), 0);   // nothing for Volta
  EXPECT_EQ(build_runs_on("80;90", 12, 0), 1);  // compute_90 PTX is JIT-compiled
  EXPECT_EQ(build_runs_on("80-real", 9, 0), 0);  // SASS only, other major
  EXPECT_EQ(build_runs_on("90a", 9, 0), 1);
  EXPECT_EQ(build_runs_on("90a", 10, 0), 0);
  EXPECT_EQ(build_runs_on("native", 9, 0), -1);
  EXPECT_EQ(build_runs_on("", 9, 0), -1);
}

TEST(GpuChecks, NoDriver) {
  NvmlFacts none;
  none.error = "libnvidia-ml.so.1: cannot open shared object file";
  auto rows = gpu_checks(none, BuildInfo{}, 0);
  ASSERT_GE(rows.size(), 1u);
  EXPECT_EQ(rows[0].name, "gpus");
  EXPECT_EQ(rows[0].status, Status::info);
  EXPECT_NE(rows[0].detail.find("no NVIDIA driver"), std::string::npos);
  rows = gpu_checks(none, BuildInfo{}, 8);
  EXPECT_EQ(rows[0].status, Status::fail);
  EXPECT_NE(rows[0].fix.find("nvidia-ctk"), std::string::npos);
}

TEST(GpuChecks, ArchitecturesBf16AndBuild) {
  NvmlFacts nv;
  nv.loaded = true;
  nv.driver_version = "570.86.15";
  nv.cuda_driver_version = 12080;
  nv.gpus = {gpu("NVIDIA H100 80GB HBM3", 9, 0, 80), gpu("NVIDIA H100 80GB HBM3", 9, 0, 80)};
  BuildInfo cuda{12080, "80;90"};
  auto rows = gpu_checks(nv, cuda, 2);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].status, Status::ok) << rows[0].detail;
  EXPECT_NE(rows[0].detail.find("2x NVIDIA H100 80GB HBM3 (Hopper, compute 9.0, 80.0 GiB; bf16 ok)"), std::string::npos)
      << rows[0].detail;
  EXPECT_EQ(rows[1].name, "driver");
  EXPECT_EQ(rows[2].name, "cuda");
  EXPECT_EQ(rows[2].status, Status::ok);
  // More GPUs expected than present.
  EXPECT_EQ(gpu_checks(nv, cuda, 8)[0].status, Status::fail);
  // A CPU build on a GPU host: the GPUs go unused.
  rows = gpu_checks(nv, BuildInfo{}, 0);
  EXPECT_EQ(rows[0].status, Status::warn);
  EXPECT_EQ(rows[2].status, Status::info);
  // Volta: no bf16 (warn) in a build that carries code for it; no code at all in an sm_80/sm_90 build (fail).
  nv.gpus = {gpu("Tesla V100-SXM2-32GB", 7, 0, 32)};
  rows = gpu_checks(nv, BuildInfo{12080, "70;80;90"}, 0);
  EXPECT_EQ(rows[0].status, Status::warn);
  EXPECT_NE(rows[0].detail.find("no bf16 (needs Ampere"), std::string::npos);
  EXPECT_NE(rows[0].fix.find("--dtype fp16"), std::string::npos);
  rows = gpu_checks(nv, cuda, 0);
  EXPECT_EQ(rows[0].status, Status::fail);
  EXPECT_NE(rows[0].fix.find("CMAKE_CUDA_ARCHITECTURES"), std::string::npos);
  // Older than Pascal.
  nv.gpus = {gpu("Tesla M40", 5, 2, 12)};
  EXPECT_EQ(gpu_checks(nv, BuildInfo{}, 0)[0].status, Status::fail);
}

TEST(GpuChecks, DriverCudaAgainstBuild) {
  NvmlFacts nv;
  nv.loaded = true;
  nv.gpus = {gpu("NVIDIA A100-SXM4-80GB", 8, 0, 80)};
  nv.cuda_driver_version = 12040;
  Check c = gpu_checks(nv, BuildInfo{12080, "80;90"}, 0)[2];
  EXPECT_EQ(c.status, Status::warn);  // same major: minor-version compatibility
  EXPECT_NE(c.fix.find("a container shows the host's driver"), std::string::npos) << c.fix;
  c = gpu_checks(nv, BuildInfo{13000, "80;90"}, 0)[2];
  EXPECT_EQ(c.status, Status::fail);
  EXPECT_NE(c.detail.find("built for CUDA 13.0 but the driver supports only 12.4"), std::string::npos) << c.detail;
  EXPECT_NE(c.fix.find("nvidia/cuda:12.4.0-runtime-ubuntu24.04"), std::string::npos);
  nv.cuda_driver_version = 13000;
  EXPECT_EQ(gpu_checks(nv, BuildInfo{12080, "80;90"}, 0)[2].status, Status::ok);
}

TEST(NcclCheck, FoundMissingCpu) {
  NcclFacts f;
  f.found = true;
  f.version = 22105;
  f.library = "/usr/lib/libnccl.so.2";
  EXPECT_EQ(nccl_check(f, BuildInfo{12080, "80;90"}, 8, 8).detail, "NCCL 2.21.5 (/usr/lib/libnccl.so.2)");
  NcclFacts missing;
  missing.error = "libnccl.so.2: cannot open";
  EXPECT_EQ(nccl_check(missing, BuildInfo{}, 0, 0).status, Status::info);
  EXPECT_EQ(nccl_check(missing, BuildInfo{12080, "80;90"}, 1, 0).status, Status::warn);
  EXPECT_EQ(nccl_check(missing, BuildInfo{12080, "80;90"}, 8, 8).status, Status::fail);
}

TEST(Probes, NoDriverOnThisMachine) {
  // This machine (and CI's) has no NVIDIA driver: NVML must fail to load without throwing, and NCCL likewise.
  NvmlFacts nv = probe_nvml("libnvidia-ml.so.1");
  if (nv.loaded) GTEST_SKIP() << "this machine has an NVIDIA driver";
  EXPECT_FALSE(nv.error.empty());
  NvmlFacts bogus = probe_nvml("/nonexistent/libnvidia-ml.so.1");
  EXPECT_FALSE(bogus.loaded);
  EXPECT_NE(bogus.error.find("/nonexistent/libnvidia-ml.so.1"), std::string::npos) << bogus.error;
  // Where the loader finds NCCL (this machine carries the CUDA toolkit's), its version reads back.
  if (NcclFacts real = probe_nccl("libnccl.so.2"); real.found) {
    EXPECT_GE(real.version, 2000);
    EXPECT_FALSE(real.library.empty());
    std::string v = nccl_version_text(real.version);
    EXPECT_EQ(std::count(v.begin(), v.end(), '.'), 2) << v;
  }
  NcclFacts nc = probe_nccl("/nonexistent/libnccl.so.2");
  EXPECT_FALSE(nc.found);
  // A library without NVML's symbols: loads, then says so.
  NvmlFacts wrong = probe_nvml("libz.so.1");
  EXPECT_FALSE(wrong.loaded);
  EXPECT_NE(wrong.error.find("no nvmlInit"), std::string::npos) << wrong.error;
}

TEST(Limits, ShmMemlockStack) {
  EXPECT_EQ(shm_size_check("/dev/shm", 64ull << 20).status, Status::warn);
  EXPECT_NE(shm_size_check("/dev/shm", 64ull << 20).detail.find("64.0 MiB"), std::string::npos);
  EXPECT_EQ(shm_size_check("/dev/shm", 32ull << 30).status, Status::ok);
  EXPECT_EQ(shm_check("/nonexistent/shm").status, Status::warn);
  EXPECT_EQ(memlock_check(RLIM_INFINITY, true).status, Status::ok);
  EXPECT_EQ(memlock_check(8ull << 20, false).status, Status::warn);
  EXPECT_EQ(memlock_check(8ull << 20, true).status, Status::fail);
  EXPECT_NE(memlock_check(8ull << 20, false).fix.find("memlock=-1"), std::string::npos);
  EXPECT_EQ(stack_check(8ull << 20).status, Status::ok);
  EXPECT_EQ(stack_check(RLIM_INFINITY).status, Status::ok);
  EXPECT_EQ(stack_check(1ull << 20).status, Status::warn);
}

TEST(Rdma, ReadsSysfsTree) {
  auto d = temp_dir("ib");
  EXPECT_EQ(infiniband_check(read_rdma_ports((d / "none").string())).status, Status::info);
  write(d / "mlx5_0/ports/1/state", "4: ACTIVE\n");
  write(d / "mlx5_0/ports/1/link_layer", "InfiniBand\n");
  write(d / "mlx5_0/ports/1/rate", "400 Gb/sec (4X NDR)\n");
  write(d / "mlx5_1/ports/1/state", "1: DOWN\n");
  write(d / "mlx5_1/ports/1/link_layer", "Ethernet\n");
  auto ports = read_rdma_ports(d.string());
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_EQ(ports[0].state, "ACTIVE");
  EXPECT_EQ(ports[0].port, 1);
  EXPECT_EQ(ports[1].state, "DOWN");
  Check c = infiniband_check(ports);
  EXPECT_EQ(c.status, Status::ok);
  EXPECT_EQ(c.detail, "mlx5_0/1 ACTIVE InfiniBand 400 Gb/sec (4X NDR), mlx5_1/1 DOWN RoCE");
  EXPECT_EQ(infiniband_check({ports[1]}).status, Status::warn);
  std::filesystem::remove_all(d);
}

TEST(Route, LoopbackGivesLo) {
  Route r = route_to("127.0.0.1", 29500);
  EXPECT_EQ(r.interface, "lo");
  EXPECT_EQ(r.source, "127.0.0.1");
  EXPECT_EQ(r.target, "127.0.0.1");
  auto itfs = list_interfaces();
  Json facts;
  Check c = master_route_check("127.0.0.1", 29500, std::nullopt, itfs, &facts);
  EXPECT_EQ(c.status, Status::ok) << c.detail;
  EXPECT_EQ(facts["route"]["interface"], "lo");
  c = master_route_check("127.0.0.1", 29500, std::string("lo"), itfs);
  EXPECT_EQ(c.status, Status::ok);
  EXPECT_NE(c.detail.find("NCCL_SOCKET_IFNAME=lo agrees"), std::string::npos) << c.detail;
  c = master_route_check("127.0.0.1", 29500, std::string("zz_no_such_if"), itfs);
  EXPECT_EQ(c.status, Status::fail);
  EXPECT_NE(c.detail.find("matches no running interface"), std::string::npos) << c.detail;
  EXPECT_NE(c.fix.find("NCCL_SOCKET_IFNAME=lo"), std::string::npos) << c.fix;
  // A name that does not resolve is a failing row, not an exception.
  c = master_route_check("no-such-host.invalid", 29500, std::nullopt, itfs);
  EXPECT_EQ(c.status, Status::fail);
  EXPECT_NE(c.detail.find("no-such-host.invalid"), std::string::npos);
}

TEST(Route, NcclMustBootstrapThroughTheRoute) {
  // A container on an overlay: eth0 on llm-net reaches the master, eth1 (docker_gwbridge) does not.
  Route r{"10.88.0.2", "10.88.0.3", "eth0"};
  std::vector<NetInterface> itfs = {itf("lo", true), {"eth0", {"10.88.0.3"}, true, false}, {"eth1", {"172.18.0.3"}, true, false}};
  Check c = route_agreement_check("zt-gpu1", r, std::nullopt, itfs);
  EXPECT_EQ(c.status, Status::ok) << c.detail;
  EXPECT_NE(c.detail.find("NCCL's default choice agrees"), std::string::npos) << c.detail;
  c = route_agreement_check("zt-gpu1", r, std::string("eth"), itfs);
  EXPECT_EQ(c.status, Status::ok) << c.detail;  // eth0 comes first
  c = route_agreement_check("zt-gpu1", r, std::string("eth1"), itfs);
  EXPECT_EQ(c.status, Status::warn);
  EXPECT_NE(c.detail.find("NCCL would use eth1"), std::string::npos) << c.detail;
  EXPECT_NE(c.fix.find("NCCL_SOCKET_IFNAME=eth0"), std::string::npos) << c.fix;
  // Unset, and the gateway bridge listed first: NCCL's own order picks the wrong one.
  std::swap(itfs[1], itfs[2]);
  c = route_agreement_check("zt-gpu1", r, std::nullopt, itfs);
  EXPECT_EQ(c.status, Status::warn);
  EXPECT_NE(c.detail.find("its default order"), std::string::npos) << c.detail;
  EXPECT_EQ(route_agreement_check("zt-gpu1", r, std::string("=eth0"), itfs).status, Status::ok);
  EXPECT_EQ(route_agreement_check("zt-gpu1", r, std::string("ib"), itfs).status, Status::fail);
}

TEST(DockerSocket, WorldWritableIsASecurityWarning) {
  auto d = temp_dir("docker");
  std::string path = (d / "docker.sock").string();
  EXPECT_EQ(docker_socket_check(path).status, Status::info);  // absent
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(chmod(path.c_str(), 0666), 0);
  Check c = docker_socket_check(path);
  EXPECT_EQ(c.status, Status::warn);
  EXPECT_NE(c.detail.find("SECURITY"), std::string::npos) << c.detail;
  EXPECT_NE(c.detail.find("mode 0666"), std::string::npos) << c.detail;
  EXPECT_NE(c.fix.find("usermod -aG docker"), std::string::npos) << c.fix;
  EXPECT_NE(c.fix.find("chmod 0660"), std::string::npos) << c.fix;
  ASSERT_EQ(chmod(path.c_str(), 0660), 0);
  c = docker_socket_check(path);
  EXPECT_NE(c.status, Status::warn) << c.detail;
  EXPECT_EQ(c.detail.find("SECURITY"), std::string::npos);
  close(fd);
  std::filesystem::remove_all(d);
}

TEST(DataDir, FreeSpaceAndCreation) {
  auto d = temp_dir("data");
  Check c = data_dir_check(d.string());
  EXPECT_NE(c.status, Status::fail) << c.detail;
  EXPECT_NE(c.detail.find("free"), std::string::npos);
  c = data_dir_check((d / "a/b/cache/").string());
  EXPECT_NE(c.detail.find("to be created under " + d.string()), std::string::npos) << c.detail;
  std::filesystem::remove_all(d);
}

TEST(Report, JsonRoundTripAndTable) {
  DoctorReport r;
  r.host = "gpu1";
  r.checks = {{"gpus", Status::ok, "8 GPUs", ""}, {"shm", Status::warn, "/dev/shm is 64.0 MiB", "shm_size: 32gb"},
              {"cuda", Status::fail, "built for CUDA 13.0 but the driver supports only 12.4", "upgrade the driver"}};
  r.facts = {{"shm_bytes", 67108864}};
  Json j = report_json(r);
  EXPECT_EQ(j["blocking"], true);
  DoctorReport back = report_from_json(parse_json(j.dump(), "gpu1.json"), "gpu1.json");
  ASSERT_EQ(back.checks.size(), 3u);
  EXPECT_EQ(back.host, "gpu1");
  EXPECT_EQ(back.checks[1].status, Status::warn);
  EXPECT_EQ(back.checks[2].fix, "upgrade the driver");
  EXPECT_EQ(back.facts["shm_bytes"], 67108864);
  EXPECT_TRUE(back.blocking());
  Json bad = j;
  bad["checks"][0]["status"] = "great";
  EXPECT_NE(error_of([&] { report_from_json(bad, "gpu1.json"); }).find("gpu1.json: checks[0]: unknown check status 'great'"),
            std::string::npos);
  EXPECT_NE(error_of([] { report_from_json(Json::array(), "x.json"); }).find("x.json"), std::string::npos);

  std::string one = format_table({r}, 100);
  EXPECT_NE(one.find("host: gpu1"), std::string::npos);
  EXPECT_NE(one.find("CHECK"), std::string::npos);
  EXPECT_NE(one.find("1 problem blocks training"), std::string::npos);
  for (auto& line : std::vector<std::string>{"gpus", "shm", "cuda"}) EXPECT_NE(one.find(line), std::string::npos);
  DoctorReport r2 = r;
  r2.host = "gpu2";
  r2.checks.pop_back();
  std::string two = format_table({r, r2}, 120);
  EXPECT_EQ(two.find("HOST"), 0u);
  EXPECT_NE(two.find("gpu2"), std::string::npos);
  EXPECT_EQ(doctor_exit_status({r2}), 0);
  EXPECT_EQ(doctor_exit_status({r, r2}), 1);
  // Every table line fits the width asked for.
  std::istringstream lines(format_table({r, r2}, 80));
  for (std::string l; std::getline(lines, l);) EXPECT_LE(l.size(), 80u) << l;
}

TEST(DoctorCli, JsonOnThisHost) {
  int rc = 0;
  std::string out = test::run_capture(std::string(ZT_EXE) + " doctor --json --master_addr 127.0.0.1", rc);
  Json j = parse_json(out, "doctor --json");
  EXPECT_EQ(rc, j["blocking"].get<bool>() ? 1 : 0);
  std::set<std::string> names;
  for (auto& c : j["checks"]) names.insert(c["check"].get<std::string>());
  for (auto n : {"zerotune", "gpus", "cuda", "nccl", "shm", "memlock", "stack", "rdma", "master route", "data dir",
                 "docker socket"})
    EXPECT_TRUE(names.count(n)) << n;
  DoctorReport r = report_from_json(j, "doctor --json");
  for (auto& c : r.checks) {
    if (c.name == "master route") {
      EXPECT_EQ(c.status, Status::ok) << c.detail;
    }
  }
  EXPECT_EQ(j["facts"]["route"]["interface"], "lo");
  if (!j["facts"]["nvml"]["loaded"].get<bool>()) {
    // No driver here: --expect_gpus makes that a blocker, and the table says so.
    std::string table = test::run_capture(std::string(ZT_EXE) + " doctor --expect_gpus 1", rc);
    EXPECT_EQ(rc, 1) << table;
    EXPECT_NE(table.find("no NVIDIA driver"), std::string::npos) << table;
    EXPECT_NE(table.find("blocks training (fail)"), std::string::npos) << table;
  }
  std::string help = test::run_capture(std::string(ZT_EXE) + " doctor --help", rc);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(help.find("examples:"), std::string::npos);
  EXPECT_NE(help.find("--expect_gpus"), std::string::npos);
}
