// `zerotune cluster`: cluster bring-up. `init` writes the deployment folder (compose per node, Dockerfile, hostfile,
// ds_config.json, .deepspeed_env, README with the commands in order) from a hostfile or a nodes.json.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cluster/deploy.hpp"
#include "cluster/ssh_setup.hpp"
#include "launch/env.hpp"
#include "core/error.hpp"
#include "core/json.hpp"

namespace zt::cli {

namespace {

const char* kUsage =
    "usage: zerotune cluster <subcommand> [flags]   (zerotune cluster <subcommand> --help lists its flags)\n\n"
    "subcommands:\n"
    "  init       write a deployment folder: one compose.yaml per server on an attachable overlay network, the\n"
    "             Dockerfile, the containers' hostfile, ds_config.json, .deepspeed_env and a README with every\n"
    "             command in order\n"
    "  ssh-setup  passwordless ssh from every node to every node: a key, verified host keys in known_hosts,\n"
    "             every node's key authorized everywhere; prints the node-to-node matrix\n\n"
    "then `zerotune doctor --hostfile H` checks every host, the network between them and a collective over all ranks.\n\n"
    "examples:\n"
    "  zerotune cluster init --hostfile servers.txt --out cluster/ --subnet 10.88.0.0/24\n"
    "  zerotune cluster ssh-setup --hostfile /job/hostfile\n";

int run_init(const std::vector<std::string>& argv) {
  Args a("cluster init",
         "Writes a deployment folder for the servers of --hostfile (DeepSpeed syntax, `NAME slots=N`: one container per\n"
         "server, N GPUs) or --nodes (JSON: {\"nodes\": [{\"name\", \"host\", \"gpus\", \"slots\", \"address\"}]}):\n"
         "  OUT/<node>/compose.yaml  the node's container: external overlay network, fixed IPv4, shm, ulimits, GPUs, data\n"
         "  OUT/Dockerfile, OUT/zerotune, OUT/lib/   the image (CUDA runtime base, runtime packages, sshd, this binary)\n"
         "  OUT/hostfile             the containers with their slots (mounted at /job/hostfile)\n"
         "  OUT/ds_config.json       DeepSpeed-Chat's step-1 config (ZeRO-3 by default) for the cluster's world size\n"
         "  OUT/.deepspeed_env       NCCL settings exported to every rank\n"
         "  OUT/README.md            the commands, in order: image (and the offline route), swarm, network, containers,\n"
         "                           ssh trust, doctor, train\n"
         "Container addresses are allocated in node order from the subnet's lower half (after the gateway); the upper\n"
         "half is left to Docker. The first server is the master and the swarm manager.\n\n"
         "examples:\n"
         "  zerotune cluster init --hostfile servers.txt --out cluster/\n"
         "  zerotune cluster init --nodes nodes.json --out cluster/ --subnet 10.20.0.0/24 --data_dir /mnt/nvme/data\n"
         "  zerotune cluster init --hostfile servers.txt --out cluster/ --infiniband --dtype fp16   # V100s over IB",
         {{"hostfile", FlagKind::string, "", "the servers, DeepSpeed hostfile syntax (user@host allowed)", false, {}},
          {"nodes", FlagKind::string, "", "the servers as JSON, instead of --hostfile", false, {}},
          {"out", FlagKind::string, "", "the folder to write (created; files in it are replaced)", true, {}},
          {"subnet", FlagKind::string, "10.88.0.0/24", "the overlay network's IPv4 subnet", false, {}},
          {"network", FlagKind::string, "llm-net", "the overlay network's name", false, {}},
          {"image", FlagKind::string, "zerotune:latest", "the image name the Dockerfile builds and compose runs", false, {}},
          {"base_image", FlagKind::string, "",
           "the CUDA base image (default: nvidia/cuda:<this build's CUDA>.0-runtime-ubuntu24.04)", false, {}},
          {"data_dir", FlagKind::string, "/data", "host directory mounted at /data in every container", false, {}},
          {"shm_size", FlagKind::string, "32gb", "/dev/shm size of each container", false, {}},
          {"stack", FlagKind::integer, "67108864", "ulimit -s of each container, in bytes", false, {}},
          {"container_prefix", FlagKind::string, "zt-", "container name = prefix + node name", false, {}},
          {"socket_ifname", FlagKind::string, "eth0", "the overlay's interface in the containers (NCCL_SOCKET_IFNAME)", false, {}},
          {"infiniband", FlagKind::boolean, "", "pass /dev/infiniband and IPC_LOCK into the containers, let NCCL use IB",
           false, {}},
          {"cpu_only", FlagKind::boolean, "", "no GPU reservation: the hostfile's slots are CPU ranks", false, {}},
          {"zero_stage", FlagKind::integer, "3", "ds_config.json: zero_optimization.stage", false, {}},
          {"dtype", FlagKind::string, "bf16", "ds_config.json: bf16 (Ampere or newer) or fp16", false, {"bf16", "fp16"}},
          {"per_device_train_batch_size", FlagKind::integer, "16", "ds_config.json: micro-batch per rank", false, {}},
          {"gradient_accumulation_steps", FlagKind::integer, "1", "ds_config.json: accumulation steps", false, {}},
          {"offload", FlagKind::boolean, "", "ds_config.json: optimizer state (and stage-3 parameters) on the host", false, {}},
          {"binary", FlagKind::string, "", "the zerotune binary to put in the image (default: this one)", false, {}},
          {"no_binary", FlagKind::boolean, "", "do not copy a binary (put OUT/zerotune and OUT/lib/ there yourself)", false,
           {}}});
  if (!a.parse(argv)) return 0;
  check(a.given("hostfile") != a.given("nodes"), "zerotune cluster init: give exactly one of --hostfile and --nodes",
        "--hostfile servers.txt (NAME slots=N lines) or --nodes nodes.json");
  std::vector<cluster::NodeSpec> nodes;
  if (a.given("hostfile")) nodes = cluster::nodes_from_hostfile(a.str("hostfile"), a.flag("cpu_only"));
  else {
    nodes = cluster::nodes_from_json(load_json_file(a.str("nodes")), a.str("nodes"));
    if (a.flag("cpu_only"))
      for (auto& n : nodes) n.gpus = 0;
  }
  cluster::DeployOptions o;
  o.subnet = a.str("subnet");
  o.network = a.str("network");
  o.image = a.str("image");
  o.base_image = a.opt_str("base_image").value_or("");
  o.data_dir = a.str("data_dir");
  o.shm_size = a.str("shm_size");
  o.stack_bytes = a.integer("stack");
  check(o.stack_bytes >= 1 << 20, "zerotune cluster init: --stack must be at least 1048576 bytes");
  o.container_prefix = a.opt_str("container_prefix").value_or("");
  o.socket_ifname = a.str("socket_ifname");
  o.infiniband = a.flag("infiniband");
  o.zero_stage = a.integer("zero_stage");
  check(o.zero_stage >= 0 && o.zero_stage <= 3, "zerotune cluster init: --zero_stage must be 0..3");
  o.dtype = a.str("dtype") == "fp16" ? DType::f16 : DType::bf16;
  o.per_device_train_batch_size = a.integer("per_device_train_batch_size");
  o.gradient_accumulation_steps = a.integer("gradient_accumulation_steps");
  check(o.per_device_train_batch_size > 0 && o.gradient_accumulation_steps > 0,
        "zerotune cluster init: batch sizes and accumulation steps must be > 0");
  o.offload = a.flag("offload");
  check(o.data_dir.size() > 1 && o.data_dir[0] == '/', "zerotune cluster init: --data_dir must be an absolute path",
        "it is a directory on every server, e.g. /data");
  cluster::DeployPlan plan = cluster::plan_deployment(nodes, o);
  std::string binary;
  if (!a.flag("no_binary"))
    binary = a.given("binary") ? a.str("binary") : std::filesystem::read_symlink("/proc/self/exe").string();
  auto written = cluster::write_deployment(a.str("out"), plan, o, binary);
  std::printf("cluster init: %zu nodes, %d ranks, network %s %s; wrote %zu files under %s\n", plan.nodes.size(),
              plan.world_size, o.network.c_str(), plan.subnet.text().c_str(), written.size(), a.str("out").c_str());
  for (auto& n : plan.nodes)
    std::printf("  %-20s %-16s %s  gpus %d  slots %d\n", n.spec.name.c_str(), n.address.c_str(), n.container.c_str(),
                n.spec.gpus, n.spec.slots);
  std::printf("next: %s/README.md, step 1\n", a.str("out").c_str());
  return 0;
}

int run_ssh_setup(const std::vector<std::string>& argv) {
  Args a("cluster ssh-setup",
         "Makes ssh among the nodes of --hostfile passwordless, as DeepSpeed's pdsh/ssh launchers and \"all containers\n"
         "trust each other\" need, without ever turning host-key checking off:\n"
         "  1. a key here (--key, default ~/.ssh/id_ed25519; made with ssh-keygen -t ed25519 when missing)\n"
         "  2. each node's host key scanned (ssh-keyscan), compared with known_hosts (a changed key stops that node),\n"
         "     recorded on first contact with its fingerprint printed; every later ssh runs with StrictHostKeyChecking=yes\n"
         "  3. this key installed on every node with whatever access works once: a key or agent ssh already has, else\n"
         "     ssh's own password prompt (one login per node); each node gets its own ~/.ssh/id_ed25519 when missing\n"
         "  4. every node's public key authorized on every node, and every node's verified host key in every node's\n"
         "     ~/.ssh/known_hosts (no private key leaves a machine)\n"
         "  5. the proof: from each node (through ssh from here) ssh to every node with BatchMode=yes and no agent;\n"
         "     the matrix (rows: from, columns: to) says ok or the error, and each problem gets its fix.\n"
         "Exits 0 when every node reaches every node, else 1. Idempotent: run it again after adding a node.\n\n"
         "examples:\n"
         "  zerotune cluster ssh-setup --hostfile /job/hostfile            # as root in the cluster init containers\n"
         "  zerotune cluster ssh-setup --hostfile servers.txt --user ubuntu --ssh_port 2222\n"
         "  zerotune cluster ssh-setup --hostfile servers.txt --check       # only prove it and print the matrix\n"
         "  zerotune cluster ssh-setup --hostfile servers.txt --ssh_args \"-J bastion.example.com\"",
         {{"hostfile", FlagKind::string, "", "the nodes, DeepSpeed hostfile syntax (user@host allowed)", true, {}},
          {"user", FlagKind::string, "", "login user for hosts written without user@ (default: ssh's)", false, {}},
          {"ssh_port", FlagKind::integer, "-1", "the nodes' ssh port (also used node to node)", false, {}},
          {"key", FlagKind::string, "", "this machine's key (default ~/.ssh/id_ed25519; created when missing)", false, {}},
          {"ssh_args", FlagKind::string, "", "extra arguments for ssh from here, split like a shell (e.g. \"-J bastion\")", false, {}},
          {"check", FlagKind::boolean, "", "change nothing: only prove node-to-node ssh and print the matrix", false, {}},
          {"no_prompt", FlagKind::boolean, "", "never ask for a password: a node that accepts none of our keys is an error",
           false, {}},
          {"connect_timeout", FlagKind::integer, "10", "ssh ConnectTimeout in seconds", false, {}}});
  if (!a.parse(argv)) return 0;
  cluster::SshSetupOptions o;
  o.hostfile = a.str("hostfile");
  o.user = a.opt_str("user").value_or("");
  o.ssh.port = int(a.integer("ssh_port"));
  check(o.ssh.port == -1 || (o.ssh.port > 0 && o.ssh.port < 65536), "--ssh_port must be 1..65535");
  o.ssh.extra_args = launch::shell_split(a.opt_str("ssh_args").value_or(""), "--ssh_args");
  o.ssh.connect_timeout_s = int(a.integer("connect_timeout"));
  check(o.ssh.connect_timeout_s > 0, "--connect_timeout must be at least 1 second");
  o.matrix_timeout_s = std::min(o.ssh.connect_timeout_s, 5);
  o.key = a.opt_str("key").value_or("");
  o.check_only = a.flag("check");
  o.allow_prompt = !a.flag("no_prompt");
  return cluster::run_ssh_setup(o, std::cout);
}

}  // namespace

int cmd_cluster(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "-h" || argv[0] == "help") {
    std::fputs(kUsage, stdout);
    return argv.empty() ? 2 : 0;
  }
  std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (argv[0] == "init") return run_init(rest);
  if (argv[0] == "ssh-setup") return run_ssh_setup(rest);
  fail("zerotune cluster: unknown subcommand '" + argv[0] + "'", "see zerotune cluster --help");
}

}  // namespace zt::cli
