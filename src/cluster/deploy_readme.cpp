// The README.md of a `cluster init` folder: the exact commands, in order, from bare servers to a training run on the
// planned containers (driver and Docker, image and its offline route, swarm and overlay, containers, ssh, doctor).
#include <sstream>

#include "cluster/deploy.hpp"
#include "core/dtype.hpp"

namespace zt::cluster {

namespace {

std::string server_address(const NodeSpec& n) {
  auto at = n.host.find('@');
  return at == std::string::npos ? n.host : n.host.substr(at + 1);
}

}  // namespace

std::string readme_text(const DeployPlan& plan, const DeployOptions& o, bool have_binary) {
  const PlannedNode& master = plan.nodes.front();
  std::string manager = server_address(master.spec);
  bool manager_is_ip = parse_ipv4(manager).has_value();
  std::string advertise = manager_is_ip ? manager : "<" + manager + "'s LAN address>";
  std::ostringstream r;
  r << "# zerotune cluster: " << plan.nodes.size() << " node" << (plan.nodes.size() == 1 ? "" : "s") << ", "
    << plan.world_size << " rank" << (plan.world_size == 1 ? "" : "s") << "\n\n"
    << "Written by `zerotune cluster init`. One container per server on the attachable overlay network `" << o.network
    << "` (subnet " << plan.subnet.text() << ", gateway " << plan.gateway << "): fixed addresses come from the lower half, "
    << "Docker's own (load balancers, helper containers) from the upper half, `--ip-range " << plan.ip_range << "`.\n\n"
    << "| node | server (ssh, swarm) | container | address | GPUs | slots |\n|---|---|---|---|---|---|\n";
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    auto& n = plan.nodes[i];
    r << "| " << n.spec.name << (i == 0 ? " (master)" : "") << " | " << n.spec.host << " | " << n.container << " | "
      << n.address << " | " << n.spec.gpus << " | " << n.spec.slots << " |\n";
  }
  r << "\n## Files\n"
    << "- `<node>/compose.yaml`: that server's container: fixed address, `shm_size: " << o.shm_size
    << "`, ulimits memlock -1 and stack " << o.stack_bytes << ", the GPU reservation, `" << o.data_dir
    << "` mounted at `/data`, and the files below mounted under `/job` and `/root`.\n"
    << "- `Dockerfile`" << (have_binary ? ", `zerotune`, `lib/`" : "")
    << ": the image `" << o.image << "`: a CUDA runtime base (cuBLAS, NCCL), zerotune's run-time libraries, openssh-server"
    << (have_binary ? ", this zerotune binary and the libraries it needs that Ubuntu lacks (`lib/BUNDLED.txt`)" : "") << ".\n"
    << "- `hostfile` (`/job/hostfile`, DeepSpeed's default path): the containers with their slots.\n"
    << "- `ds_config.json` (`/job/ds_config.json`): DeepSpeed-Chat's step-1 config: ZeRO stage " << o.zero_stage << ", "
    << dtype_name(o.dtype) << ", micro-batch " << o.per_device_train_batch_size << " x " << o.gradient_accumulation_steps
    << " accumulation x " << plan.world_size << " ranks = train_batch_size "
    << o.per_device_train_batch_size * o.gradient_accumulation_steps * plan.world_size
    << " (launch on fewer ranks and train_batch_size no longer matches: edit it).\n"
    << "- `.deepspeed_env` (`/root/.deepspeed_env`): exported to every rank on every node. Only `KEY=VALUE` lines: "
    << "DeepSpeed's reader cannot skip comments, so they are explained here:\n"
    << "  - `NCCL_SOCKET_IFNAME=" << o.socket_ifname << "`, `GLOO_SOCKET_IFNAME=" << o.socket_ifname
    << "`: the overlay's interface in the containers. Containers on an overlay also get an interface on "
       "`docker_gwbridge` (the way out to the internet) that other nodes cannot reach; NCCL must not pick it. "
       "`zerotune doctor --master_addr " << master.container << "` (step 7) shows the interface that really reaches the "
       "master; if it is not " << o.socket_ifname << ", rerun `cluster init --socket_ifname IF`.\n"
    << "  - `NCCL_NVLS_ENABLE=0`: NVLink SHARP needs the fabric manager's multicast support, which containers usually "
       "lack; NCCL then fails at start instead of falling back.\n";
  if (!o.infiniband)
    r << "  - `NCCL_IB_DISABLE=1`: no InfiniBand/RoCE passed into the containers (`cluster init --infiniband` passes "
         "`/dev/infiniband` and IPC_LOCK through and drops this line).\n";
  r << "  - `NCCL_DEBUG=WARN`: NCCL says why when it fails.\n"
    << "\n## 1. Every server: driver, Docker, NVIDIA Container Toolkit\n"
    << "1. The NVIDIA driver (on Ubuntu: `sudo ubuntu-drivers install`, reboot); `nvidia-smi` lists the GPUs. Its "
       "\"CUDA Version\" is the newest CUDA the driver supports and must be at least the image's CUDA (`"
    << (o.base_image.empty() ? default_base_image() : o.base_image)
    << "`); containers show the host's driver, so the number is the same inside them.\n"
    << "2. Docker Engine with the compose plugin (Docker's apt repository: `docker-ce`, `docker-compose-plugin`), and "
       "the NVIDIA Container Toolkit (`nvidia-container-toolkit` from NVIDIA's repository), then:\n"
    << "   ```sh\n   sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker\n"
    << "   sudo usermod -aG docker $USER   # then log in again; never chmod 666 /var/run/docker.sock\n   ```\n"
    << "3. Between the servers, open 2377/tcp (to the manager), 7946/tcp+udp and 4789/udp (overlay traffic).\n"
    << "\n## 2. The image\nOn a machine with Docker and internet access, in this folder"
    << (have_binary ? "" : " (copy the zerotune binary here first, as `zerotune`, and create an empty `lib/`)") << ":\n"
    << "```sh\ndocker build -t " << o.image << " .   # behind a proxy: --build-arg http_proxy=... --build-arg https_proxy=...\n"
    << "```\nThe servers need no internet access: save the image, copy it, load it.\n"
    << "```sh\ndocker save " << o.image << " | gzip > zerotune-image.tar.gz\n";
  for (auto& n : plan.nodes) r << "scp zerotune-image.tar.gz " << n.spec.host << ":\n";
  r << "# then on every server:\ndocker load -i zerotune-image.tar.gz\n"
    << "docker run --rm --gpus all " << o.image << " nvidia-smi   # the GPUs, seen from a container\n```\n"
    << "\n## 3. Swarm and the overlay network\nOn " << manager << " (the manager):\n"
    << "```sh\ndocker swarm init --advertise-addr " << advertise << "\n"
    << "docker swarm join-token worker   # prints the join command with its token\n```\n";
  if (plan.nodes.size() > 1) {
    r << "On every other server (";
    for (size_t i = 1; i < plan.nodes.size(); ++i) r << (i > 1 ? ", " : "") << plan.nodes[i].spec.host;
    r << "):\n```sh\ndocker swarm join --token <TOKEN> " << advertise << ":2377\n```\n";
  }
  r << "Then on the manager, once:\n```sh\ndocker network create -d overlay --attachable --subnet " << plan.subnet.text()
    << " --gateway " << plan.gateway << " --ip-range " << plan.ip_range << " " << o.network << "\n```\n"
    << "\n## 4. This folder on every server\n```sh\n";
  for (auto& n : plan.nodes) r << "scp -r . " << n.spec.host << ":zerotune-cluster\n";
  r << "```\nPut the model and the datasets under `" << o.data_dir << "` on every server (it is `/data` in the containers).\n"
    << "\n## 5. The containers\n";
  if (plan.nodes.size() > 1)
    r << "A worker sees an attachable overlay network only once a container of it uses the network, and `docker compose` "
         "refuses an external network it cannot see (docker/compose#11894). So on every server but the manager, first:\n"
      << "```sh\ndocker run -d --name " << o.network << "-anchor --network " << o.network << " --restart unless-stopped "
      << o.image << " sleep infinity\n```\n";
  r << "Then on each server, its own folder:\n```sh\n";
  for (auto& n : plan.nodes)
    r << "cd ~/zerotune-cluster/" << n.spec.name << " && docker compose up -d   # on " << n.spec.host << "\n";
  r << "```\n"
    << "\n## 6. SSH trust between the containers\n"
    << "At first the only way into a container is `docker exec` on its server: use it once to give every container the "
       "master container's key, then `zerotune cluster ssh-setup` does the rest from the master container: it records "
       "each container's host key (printing its fingerprint; host-key checking stays on), gives every container its "
       "own key, authorizes every key on every container and proves ssh from every container to every container.\n"
    << "On " << manager << ":\n```sh\n"
    << "docker exec " << master.container
    << " sh -c 'test -f /root/.ssh/id_ed25519 || ssh-keygen -q -t ed25519 -N \"\" -f /root/.ssh/id_ed25519'\n"
    << "docker exec " << master.container << " cat /root/.ssh/id_ed25519.pub > master.pub   # copy it to every server\n"
    << "```\nOn each server, for its container (`zt-...` below is that server's):\n```sh\n";
  for (auto& n : plan.nodes)
    r << "docker exec -i " << n.container
      << " sh -c 'mkdir -p -m 700 /root/.ssh && cat >> /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys'"
         " < master.pub\n";
  r << "```\nThen on " << manager << ":\n```sh\n"
    << "docker exec -it " << master.container << " zerotune cluster ssh-setup --hostfile /job/hostfile\n"
    << "```\nIt ends with the matrix (rows: from, columns: to), every cell `ok`. To compare a fingerprint it printed "
       "with the container's own: `docker exec zt-... ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`. By hand:\n```sh\n";
  for (auto& n : plan.nodes)
    r << "docker exec " << master.container << " ssh -o BatchMode=yes " << n.container << " hostname\n";
  r << "```\n"
    << "\n## 7. Check every node\nFrom the master container, every container at once (each one's checks, the master "
       "port from every node, one zerotune and NCCL everywhere, and an all_reduce over every rank with its bus "
       "bandwidth):\n```sh\n"
    << "docker exec " << master.container << " zerotune doctor --hostfile /job/hostfile\n"
    << "```\nOr one container at a time:\n```sh\n";
  for (auto& n : plan.nodes)
    r << "docker exec " << n.container << " zerotune doctor --master_addr " << master.container
      << (n.spec.gpus > 0 ? " --expect_gpus " + std::to_string(n.spec.gpus) : "") << "   # on " << n.spec.host << "\n";
  r << "```\nEvery row should be ok or info; it exits non-zero when something blocks training, with the fix beside it.\n"
    << "\n## 8. Train\nFrom the master container (`docker exec -it " << master.container
    << " bash`), with the hostfile and ds_config above, e.g. Llama 3 8B Instruct with LoRA on rm-static:\n```sh\n"
    << "zerotune launch --hostfile /job/hostfile train \\\n"
    << "  --model_name_or_path /data/Meta-Llama-3-8B-Instruct --data_path /data/rm-static \\\n"
    << "  --deepspeed_config /job/ds_config.json --lora_dim 128 --lora_module_name model.layers. --only_optimize_lora \\\n"
    << "  --gradient_checkpointing --data_output_path /data/cache --output_dir /data/out\n```\n"
    << "Flags left at their defaults take the ds_config's values (ZeRO stage, dtype, batch sizes); a flag that "
       "contradicts it is an error.\n"
    << "\n## Tearing down\n```sh\ndocker compose down          # each server, in its folder\n"
    << "docker rm -f " << o.network << "-anchor   # the workers\n"
    << "docker network rm " << o.network << "       # the manager, after every container is gone\n"
    << "docker swarm leave            # workers; the manager: docker swarm leave --force\n```\n";
  return r.str();
}

}  // namespace zt::cluster
