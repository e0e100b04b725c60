// `zerotune cluster init`: from a hostfile (or nodes.json) to a deployment folder — one compose.yaml per node on an
// attachable overlay network with fixed addresses, a Dockerfile, the containers' hostfile, ds_config.json,
// .deepspeed_env and a README with the commands in order. Planning (names, addresses) is separate from rendering.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cluster/net.hpp"
#include "core/dtype.hpp"
#include "core/json.hpp"

namespace zt::cluster {

// One server of the cluster as the user described it.
struct NodeSpec {
  std::string name;                    // the server's name: DIR/<name>/ and (with a prefix) its container's name
  std::string host;                    // how ssh and docker swarm reach the server (hostfile entry, maybe user@host)
  int gpus = 0;                        // GPUs the node's container reserves (0: a CPU node)
  int slots = 1;                       // ranks it runs = slots in the containers' hostfile (its GPUs, usually)
  std::optional<std::string> address;  // a fixed container IPv4 asked for (nodes.json); allocated when absent
  std::string origin;                  // "hostfile line 3" / "nodes.json nodes[2]", for messages
};

// The servers of a DeepSpeed hostfile (the launch layer's parser): name = host without user@, slots = gpus = its
// slots (gpus 0 with `cpu_only`: the slots are CPU ranks and no GPU is reserved).
std::vector<NodeSpec> nodes_from_hostfile(const std::string& path, bool cpu_only);
// {"nodes": [{"name": "gpu1", "host": "192.168.1.11", "gpus": 8, "address": "10.88.0.2", "slots": 8}, ...]} or the
// bare array; name and gpus required, host defaults to the name, slots to max(gpus, 1), address is allocated.
// Errors name `source` and the entry.
std::vector<NodeSpec> nodes_from_json(const Json& j, const std::string& source);

struct DeployOptions {
  std::string subnet = "10.88.0.0/24";        // the overlay network's subnet
  std::string network = "llm-net";            // its name
  std::string image = "zerotune:latest";      // the image the Dockerfile builds and compose runs
  std::string base_image;                     // CUDA base image (default: nvidia/cuda for this build's CUDA)
  std::string data_dir = "/data";             // host directory mounted at /data in every container
  std::string shm_size = "32gb";              // /dev/shm of each container
  int64_t stack_bytes = 67108864;             // ulimit -s of each container (the seed's 64 MiB)
  std::string container_prefix = "zt-";       // container name = prefix + node name
  std::string socket_ifname = "eth0";         // the overlay's interface inside the containers (NCCL/Gloo)
  bool infiniband = false;                    // pass /dev/infiniband and IPC_LOCK through; NCCL uses IB
  // ds_config.json: DeepSpeed-Chat step 1's config for these values
  int64_t zero_stage = 3;
  DType dtype = DType::bf16;
  int64_t per_device_train_batch_size = 16;
  int64_t gradient_accumulation_steps = 1;
  bool offload = false;
};

// The default base image for this build: nvidia/cuda:<its CUDA>.0-runtime-ubuntu24.04 (13.0 for a CPU build).
std::string default_base_image();

struct PlannedNode {
  NodeSpec spec;
  std::string container;  // its container and host name, also the name in the containers' hostfile
  std::string address;    // fixed IPv4 on the overlay
};

struct DeployPlan {
  Ipv4Cidr subnet;
  std::string gateway;   // the subnet's first address (Docker's gateway)
  std::string ip_range;  // the upper half, left to Docker for dynamic addresses (load balancers, helpers)
  std::vector<PlannedNode> nodes;
  int world_size = 0;
};

// Validates names (safe as folder, container and host names; unique), the subnet (a network address, room for every
// node) and any fixed addresses (inside the static lower half, unique), then allocates the rest in order from
// the first address after the gateway. Errors name the node's origin or the flag.
DeployPlan plan_deployment(const std::vector<NodeSpec>& nodes, const DeployOptions& o);

// The files, as text (tests parse them back).
std::string compose_yaml(const DeployPlan& plan, const DeployOptions& o, size_t node);
struct BundledLib {
  std::string soname;  // the name the loader looks for: "libgloo.so"
  std::string path;    // the file on this machine it resolves to
};
std::string dockerfile_text(const DeployOptions& o, const std::vector<BundledLib>& bundled);
std::string hostfile_text(const DeployPlan& plan);
Json deploy_ds_config(const DeployPlan& plan, const DeployOptions& o);
std::string deepspeed_env_text(const DeployOptions& o);
std::string readme_text(const DeployPlan& plan, const DeployOptions& o, bool have_binary);

// Shared libraries `binary` loads that the image's packages do not provide under the same soname (resolved by ldd:
// everything except glibc, the C++ runtime, CUDA/NCCL/driver libraries and those the Dockerfile installs).
std::vector<BundledLib> libraries_to_bundle(const std::string& binary);

// Writes the folder: <out>/<node>/compose.yaml, Dockerfile, hostfile, ds_config.json, .deepspeed_env, README.md and,
// when `binary` is not empty, <out>/zerotune plus <out>/lib/ with libraries_to_bundle(binary). Each file is written
// atomically. Returns the paths written.
std::vector<std::string> write_deployment(const std::string& out, const DeployPlan& plan, const DeployOptions& o,
                                          const std::string& binary);

}  // namespace zt::cluster
