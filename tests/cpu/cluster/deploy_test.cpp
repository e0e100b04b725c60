// zerotune cluster init: node lists (hostfile, nodes.json), address allocation and its errors, and every generated
// file parsed back: compose.yaml with Debian's PyYAML, JSON with nlohmann, the hostfile with the launch layer's
// parser, ds_config.json with our trainer's reader (no warnings).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <set>
#include <fstream>
#include <sstream>

#include "cluster/deploy.hpp"
#include "core/error.hpp"
#include "launch/hostfile.hpp"
#include "cpu/test_process.hpp"
#include "train/ds_config.hpp"

using namespace zt;
using namespace zt::cluster;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("zt_deploy_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string read(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return std::string(e.what()) + " | " + e.hint();
  }
  return "";
}

// Parses YAML with a real parser (Debian's python3-yaml) and hands it back as JSON.
Json yaml_as_json(const fs::path& file) {
  int rc = 0;
  std::string out = test::run_capture(
      "/usr/bin/python3 -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' '" +
          file.string() + "'",
      rc);
  EXPECT_EQ(rc, 0) << "PyYAML could not parse " << file;
  return parse_json(out, file.string());
}

std::vector<NodeSpec> three_nodes() {
  return nodes_from_json(parse_json(R"({"nodes": [
      {"name": "gpu1", "host": "192.168.1.11", "gpus": 8},
      {"name": "gpu2", "host": "admin@192.168.1.12", "gpus": 8, "address": "10.88.0.2"},
      {"name": "cpu1", "gpus": 0, "slots": 2}]})", "nodes.json"),
                         "nodes.json");
}

}  // namespace

TEST(Plan, AllocatesInOrderAroundFixedAddresses) {
  DeployPlan p = plan_deployment(three_nodes(), DeployOptions{});
  ASSERT_EQ(p.nodes.size(), 3u);
  EXPECT_EQ(p.nodes[0].container, "zt-gpu1");
  EXPECT_EQ(p.nodes[0].address, "10.88.0.3");  // .2 was asked for by gpu2
  EXPECT_EQ(p.nodes[1].address, "10.88.0.2");
  EXPECT_EQ(p.nodes[2].address, "10.88.0.4");
  EXPECT_EQ(p.nodes[2].spec.slots, 2);
  EXPECT_EQ(p.nodes[1].spec.host, "admin@192.168.1.12");
  EXPECT_EQ(p.world_size, 18);
  EXPECT_EQ(p.gateway, "10.88.0.1");
  EXPECT_EQ(p.ip_range, "10.88.0.128/25");
  // Deterministic: the same input gives the same plan.
  DeployPlan again = plan_deployment(three_nodes(), DeployOptions{});
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(again.nodes[i].address, p.nodes[i].address);
}

TEST(Plan, ErrorsNameTheInput) {
  DeployOptions o;
  o.subnet = "10.88.0.0/29";  // lower half .0-.3: room for .2 and .3 only
  EXPECT_NE(error_of([&] { plan_deployment(three_nodes(), o); }).find("--subnet 10.88.0.0/29 has room for 2 fixed addresses"),
            std::string::npos);
  o.subnet = "10.88.0.5/24";
  EXPECT_NE(error_of([&] { plan_deployment(three_nodes(), o); }).find("did you mean 10.88.0.0/24"), std::string::npos);
  o.subnet = "10.88.0.0/24";
  auto nodes = three_nodes();
  nodes[2].name = "gpu1";
  EXPECT_NE(error_of([&] { plan_deployment(nodes, o); }).find("nodes.json nodes[2] (cpu1): node 'gpu1' is listed twice"),
            std::string::npos);
  nodes = three_nodes();
  nodes[2].name = "GPU_1";  // "gpu.1" and "GPU_1" both become container zt-gpu-1
  nodes[0].name = "gpu.1";
  EXPECT_NE(error_of([&] { plan_deployment(nodes, o); }).find("container name 'zt-gpu-1'"), std::string::npos);
  nodes = three_nodes();
  nodes[0].address = "10.88.0.200";  // Docker's dynamic half
  EXPECT_NE(error_of([&] { plan_deployment(nodes, o); }).find("outside 10.88.0.2-10.88.0.127"), std::string::npos);
  nodes[0].address = "10.88.0.2";
  EXPECT_NE(error_of([&] { plan_deployment(nodes, o); }).find("address 10.88.0.2 is used by another node"),
            std::string::npos);
  nodes = three_nodes();
  nodes[0].name = "../etc";
  EXPECT_NE(error_of([&] { plan_deployment(nodes, o); }).find("cannot name a folder"), std::string::npos);
  nodes[0].name = "localhost";
  EXPECT_NE(error_of([&] { plan_deployment(nodes, o); }).find("not a cluster node"), std::string::npos);
  EXPECT_NE(error_of([] { nodes_from_json(parse_json(R"({"nodes": [{"name": "a", "gpu": 8}]})", "n.json"), "n.json"); })
                .find("n.json nodes[0]: unknown key 'gpu'"),
            std::string::npos);
  EXPECT_NE(error_of([] { nodes_from_json(parse_json(R"({"nodes": [{"name": "a"}]})", "n.json"), "n.json"); }).find("gpus"),
            std::string::npos);
  EXPECT_NE(error_of([] { nodes_from_json(parse_json(R"({"nodes": []})", "n.json"), "n.json"); }).find("non-empty"),
            std::string::npos);
}

TEST(Plan, FromHostfile) {
  auto d = temp_dir("hostfile");
  std::ofstream(d / "servers") << "# our servers\nroot@gpu-a slots=8\n\ngpu-b slots=4 # the small one\n";
  auto nodes = nodes_from_hostfile((d / "servers").string(), false);
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].name, "gpu-a");
  EXPECT_EQ(nodes[0].host, "root@gpu-a");
  EXPECT_EQ(nodes[0].gpus, 8);
  EXPECT_EQ(nodes[1].slots, 4);
  EXPECT_EQ(nodes[1].origin, (d / "servers").string() + " line 4");
  EXPECT_EQ(nodes_from_hostfile((d / "servers").string(), true)[0].gpus, 0);
  std::ofstream(d / "dup") << "gpu-a slots=8\ngpu-a slots=8\n";
  EXPECT_NE(error_of([&] { nodes_from_hostfile((d / "dup").string(), false); }).find("line 2"), std::string::npos);
  fs::remove_all(d);
}

TEST(Deploy, EveryFileParsesBack) {
  auto d = temp_dir("out");
  DeployOptions o;
  o.data_dir = "/mnt/data";
  DeployPlan p = plan_deployment(three_nodes(), o);
  auto written = write_deployment(d.string(), p, o, ZT_EXE);
  for (auto& f : written) EXPECT_TRUE(fs::exists(f)) << f;

  // compose.yaml of gpu1, through a real YAML parser
  Json c = yaml_as_json(d / "gpu1" / "compose.yaml");
  ASSERT_TRUE(c["services"].contains("zt-gpu1")) << c.dump(2);
  Json s = c["services"]["zt-gpu1"];
  EXPECT_EQ(c["name"], "zt-gpu1");
  EXPECT_EQ(s["image"], "zerotune:latest");
  EXPECT_EQ(s["container_name"], "zt-gpu1");
  EXPECT_EQ(s["hostname"], "zt-gpu1");
  EXPECT_EQ(s["networks"]["llm-net"]["ipv4_address"], "10.88.0.3");
  EXPECT_EQ(c["networks"]["llm-net"]["external"], true);
  EXPECT_EQ(s["shm_size"], "32gb");
  EXPECT_EQ(s["ulimits"]["memlock"]["soft"], -1);
  EXPECT_EQ(s["ulimits"]["memlock"]["hard"], -1);
  EXPECT_EQ(s["ulimits"]["stack"]["soft"], 67108864);
  Json dev = s["deploy"]["resources"]["reservations"]["devices"][0];
  EXPECT_EQ(dev["driver"], "nvidia");
  EXPECT_EQ(dev["count"], 8);
  EXPECT_EQ(dev["capabilities"], Json::array({"gpu"}));
  EXPECT_EQ(s["extra_hosts"], Json::array({"zt-gpu1:10.88.0.3", "zt-gpu2:10.88.0.2", "zt-cpu1:10.88.0.4"}));
  std::set<std::string> volumes;
  for (auto& v : s["volumes"]) volumes.insert(v.get<std::string>());
  for (auto v : {"/mnt/data:/data", "../hostfile:/job/hostfile:ro", "../ds_config.json:/job/ds_config.json:ro",
                 "../.deepspeed_env:/root/.deepspeed_env:ro"})
    EXPECT_TRUE(volumes.count(v)) << v;
  EXPECT_EQ(s["environment"]["NCCL_SOCKET_IFNAME"], "eth0");
  // The CPU node reserves no GPU.
  Json cpu = yaml_as_json(d / "cpu1" / "compose.yaml")["services"]["zt-cpu1"];
  EXPECT_FALSE(cpu.contains("deploy"));
  EXPECT_EQ(cpu["networks"]["llm-net"]["ipv4_address"], "10.88.0.4");

  // hostfile, through the launch layer's parser
  launch::Hostfile hf = launch::parse_hostfile(read(d / "hostfile"), "hostfile");
  ASSERT_EQ(hf.hosts.size(), 3u);
  EXPECT_EQ(hf.hosts[0].name, "zt-gpu1");
  EXPECT_EQ(hf.hosts[0].slots, 8);
  EXPECT_EQ(hf.hosts[2].name, "zt-cpu1");
  EXPECT_EQ(hf.hosts[2].slots, 2);

  // ds_config.json: DeepSpeed-Chat's step-1 config, ZeRO-3 bf16, read by our trainer without a warning
  Json ds = load_json_file((d / "ds_config.json").string());
  train::DsConfig cfg = train::parse_ds_config(ds, "ds_config.json");
  EXPECT_TRUE(cfg.warnings.empty()) << cfg.warnings.front();
  EXPECT_EQ(ds["zero_optimization"]["stage"], 3);
  EXPECT_EQ(ds["bfloat16"]["enabled"], true);
  EXPECT_EQ(ds["train_batch_size"], 16 * 18);
  EXPECT_EQ(ds["train_micro_batch_size_per_gpu"], 16);
  EXPECT_EQ(ds["gradient_clipping"], 1.0);
  EXPECT_EQ(ds["zero_optimization"]["stage3_param_persistence_threshold"], 10000);

  // .deepspeed_env: DeepSpeed's reader does `key, val = line.split('=', 1)` on every line
  std::istringstream env(read(d / ".deepspeed_env"));
  std::set<std::string> keys;
  for (std::string line; std::getline(env, line);) {
    auto eq = line.find('=');
    ASSERT_NE(eq, std::string::npos) << "not KEY=VALUE: '" << line << "'";
    ASSERT_GT(eq, 0u);
    keys.insert(line.substr(0, eq));
  }
  for (auto k : {"NCCL_SOCKET_IFNAME", "NCCL_NVLS_ENABLE", "NCCL_IB_DISABLE", "GLOO_SOCKET_IFNAME"})
    EXPECT_TRUE(keys.count(k)) << k;

  // Dockerfile: CUDA base, packages, sshd, the binary; the binary and lib/ are in the build context
  std::string df = read(d / "Dockerfile");
  EXPECT_NE(df.find("ARG BASE_IMAGE=nvidia/cuda:"), std::string::npos);
  EXPECT_NE(df.find("-runtime-ubuntu24.04"), std::string::npos);
  EXPECT_NE(df.find("FROM ${BASE_IMAGE}"), std::string::npos);
  EXPECT_NE(df.find("openssh-server"), std::string::npos);
  EXPECT_NE(df.find("libopenblas0-openmp"), std::string::npos);
  EXPECT_NE(df.find("COPY zerotune /usr/local/bin/zerotune"), std::string::npos);
  EXPECT_TRUE(fs::exists(d / "zerotune"));
  EXPECT_EQ(access((d / "zerotune").c_str(), X_OK), 0);
  EXPECT_TRUE(fs::exists(d / "lib" / "BUNDLED.txt"));
  for (auto& lib : libraries_to_bundle(ZT_EXE)) {
    EXPECT_TRUE(fs::exists(d / "lib" / lib.soname)) << lib.soname;
    EXPECT_EQ(lib.soname.rfind("libc.so", 0), std::string::npos);
  }

  // README: the commands, in order
  std::string readme = read(d / "README.md");
  size_t at = 0;
  for (auto step : {"docker build -t zerotune:latest .", "docker save zerotune:latest", "docker load -i",
                    "docker swarm init --advertise-addr 192.168.1.11", "docker swarm join --token <TOKEN> 192.168.1.11:2377",
                    "docker network create -d overlay --attachable --subnet 10.88.0.0/24 --gateway 10.88.0.1 --ip-range "
                    "10.88.0.128/25 llm-net",
                    "docker run -d --name llm-net-anchor", "cd ~/zerotune-cluster/gpu1 && docker compose up -d",
                    "zerotune cluster ssh-setup", "ssh -o BatchMode=yes zt-gpu2 hostname",
                    "docker exec zt-gpu2 zerotune doctor --master_addr zt-gpu1 --expect_gpus 8",
                    "zerotune launch --hostfile /job/hostfile train", "--deepspeed_config /job/ds_config.json"}) {
    size_t pos = readme.find(step, at);
    EXPECT_NE(pos, std::string::npos) << "missing or out of order: " << step;
    if (pos != std::string::npos) at = pos;
  }
  EXPECT_EQ(readme.find("StrictHostKeyChecking"), std::string::npos);
  fs::remove_all(d);
}

TEST(Deploy, InfinibandAndFp16) {
  DeployOptions o;
  o.infiniband = true;
  o.dtype = DType::f16;
  o.zero_stage = 2;
  DeployPlan p = plan_deployment(three_nodes(), o);
  auto d = temp_dir("ib");
  write_deployment(d.string(), p, o, "");
  Json s = yaml_as_json(d / "gpu2" / "compose.yaml")["services"]["zt-gpu2"];
  EXPECT_EQ(s["devices"], Json::array({"/dev/infiniband:/dev/infiniband"}));
  EXPECT_EQ(s["cap_add"], Json::array({"IPC_LOCK"}));
  EXPECT_FALSE(s["environment"].contains("NCCL_IB_DISABLE"));
  EXPECT_EQ(read(d / ".deepspeed_env").find("NCCL_IB_DISABLE"), std::string::npos);
  Json ds = load_json_file((d / "ds_config.json").string());
  EXPECT_EQ(ds["fp16"]["enabled"], true);
  EXPECT_EQ(ds["zero_optimization"]["stage"], 2);
  EXPECT_TRUE(train::parse_ds_config(ds, "ds_config.json").warnings.empty());
  EXPECT_FALSE(fs::exists(d / "zerotune"));  // no binary asked for
  fs::remove_all(d);
}

TEST(ClusterCli, InitAndErrors) {
  auto d = temp_dir("cli");
  std::ofstream(d / "servers") << "10.0.0.5 slots=4\n10.0.0.6 slots=4\n";
  std::string exe = ZT_EXE;
  int rc = 0;
  std::string out = test::run_capture(exe + " cluster init --hostfile " + (d / "servers").string() + " --out " +
                                          (d / "cluster").string() + " --no_binary 2>&1",
                                      rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("2 nodes, 8 ranks"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(d / "cluster" / "10.0.0.5" / "compose.yaml"));
  Json c = yaml_as_json(d / "cluster" / "10.0.0.6" / "compose.yaml");
  EXPECT_TRUE(c["services"].contains("zt-10-0-0-6")) << c.dump();
  EXPECT_NE(read(d / "cluster" / "README.md").find("docker swarm init --advertise-addr 10.0.0.5"), std::string::npos);

  out = test::run_capture(exe + " cluster init --hostfile " + (d / "servers").string() + " --out " +
                              (d / "c2").string() + " --subnet 10.9.0.1/16 2>&1",
                          rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("did you mean 10.9.0.0/16"), std::string::npos) << out;
  out = test::run_capture(exe + " cluster init --out " + (d / "c3").string() + " 2>&1", rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("exactly one of --hostfile and --nodes"), std::string::npos) << out;
  out = test::run_capture(exe + " cluster init --help", rc);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("examples:"), std::string::npos);
  out = test::run_capture(exe + " cluster --help", rc);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("init"), std::string::npos);
  fs::remove_all(d);
}
