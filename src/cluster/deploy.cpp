// The files of a `cluster init` folder rendered from a DeployPlan (compose.yaml per node, Dockerfile, hostfile,
// ds_config.json, .deepspeed_env; the README is in deploy_readme.cpp) and the writer that puts them on disk.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "cluster/deploy.hpp"
#include "core/error.hpp"
#include "core/mmap.hpp"
#include "train/ds_config.hpp"

namespace zt::cluster {

namespace {

// A YAML double-quoted scalar: JSON's string escaping is valid YAML.
std::string q(const std::string& s) { return Json(s).dump(); }

// Ubuntu 24.04 packages that provide zerotune's run-time libraries, and the sonames they cover (libraries_to_bundle
// leaves these to the packages). The base image brings glibc, the C++ runtime, CUDA's libraries and NCCL.
const char* const kRuntimePackages =
    "libopenblas0-openmp libgomp1 libgfortran5 libquadmath0 libsnappy1v5 libzstd1 zlib1g libssl3t64";
const char* const kProvidedSonames[] = {
    // glibc, the dynamic loader and the C++ runtime (the image's are newer than any we build on)
    "linux-vdso.so", "ld-linux", "libc.so", "libm.so", "libdl.so", "libpthread.so", "librt.so", "libresolv.so",
    "libstdc++.so", "libgcc_s.so",
    // the Dockerfile's packages
    "libopenblas.so", "libgomp.so", "libgfortran.so", "libquadmath.so", "libsnappy.so", "libzstd.so", "libz.so",
    "libcrypto.so", "libssl.so",
    // the CUDA base image and the driver
    "libcudart.so", "libcublas.so", "libcublasLt.so", "libnccl.so", "libcuda.so", "libnvidia-ml.so"};

bool provided(const std::string& soname) {
  for (const char* p : kProvidedSonames)
    if (soname.rfind(p, 0) == 0) return true;
  return false;
}

// pclose on scope exit.
struct Pipe {
  FILE* f = nullptr;
  explicit Pipe(const std::string& cmd) : f(popen(cmd.c_str(), "r")) {}
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  int close() {
    int st = f ? pclose(f) : -1;
    f = nullptr;
    return st;
  }
  ~Pipe() {
    if (f) pclose(f);
  }
};

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string compose_yaml(const DeployPlan& plan, const DeployOptions& o, size_t i) {
  const PlannedNode& n = plan.nodes.at(i);
  std::ostringstream y;
  y << "# zerotune cluster init: the container of node " << n.spec.name << " (node " << i << " of " << plan.nodes.size()
    << (i == 0 ? ", the master" : "") << ").\n"
    << "# On " << n.spec.host << ", from this folder: docker compose up -d   (see ../README.md for the steps before)\n"
    << "name: " << q(n.container) << "\n"
    << "services:\n"
    << "  " << n.container << ":\n"
    << "    image: " << q(o.image) << "\n"
    << "    container_name: " << q(n.container) << "\n"
    << "    hostname: " << q(n.container) << "\n"
    << "    restart: unless-stopped\n"
    << "    networks:\n"
    << "      " << o.network << ":\n"
    << "        ipv4_address: " << q(n.address) << "\n"
    << "    # every container's name, so ssh and the launcher resolve them without relying on Docker's DNS\n"
    << "    extra_hosts:\n";
  for (auto& m : plan.nodes) y << "      - " << q(m.container + ":" + m.address) << "\n";
  y << "    # NCCL's shared-memory transport between this node's GPUs needs far more than Docker's 64 MiB\n"
    << "    shm_size: " << q(o.shm_size) << "\n"
    << "    ulimits:\n"
    << "      memlock:   # unlimited: pinned host memory and RDMA registration\n"
    << "        soft: -1\n"
    << "        hard: -1\n"
    << "      stack:\n"
    << "        soft: " << o.stack_bytes << "\n"
    << "        hard: " << o.stack_bytes << "\n"
    << "    environment:\n"
    << "      NCCL_SOCKET_IFNAME: " << q(o.socket_ifname) << "\n"
    << "      GLOO_SOCKET_IFNAME: " << q(o.socket_ifname) << "\n"
    << "      NCCL_NVLS_ENABLE: \"0\"\n";
  if (!o.infiniband) y << "      NCCL_IB_DISABLE: \"1\"\n";
  y << "    volumes:\n"
    << "      - " << q(o.data_dir + ":/data") << "   # models, datasets, outputs\n"
    << "      - \"../hostfile:/job/hostfile:ro\"   # DeepSpeed's default hostfile path\n"
    << "      - \"../ds_config.json:/job/ds_config.json:ro\"\n"
    << "      - \"../.deepspeed_env:/root/.deepspeed_env:ro\"\n"
    << "      - \"ssh-host-keys:/etc/ssh\"   # this container's sshd keys survive re-creation\n"
    << "      - \"root-ssh:/root/.ssh\"      # and so does root's ssh trust\n";
  if (o.infiniband)
    y << "    devices:\n"
      << "      - \"/dev/infiniband:/dev/infiniband\"\n"
      << "    cap_add:\n"
      << "      - IPC_LOCK\n";
  if (n.spec.gpus > 0)
    y << "    deploy:\n"
      << "      resources:\n"
      << "        reservations:\n"
      << "          devices:\n"
      << "            - driver: nvidia\n"
      << "              count: " << n.spec.gpus << "\n"
      << "              capabilities: [gpu]\n";
  y << "networks:\n"
    << "  " << o.network << ":\n"
    << "    external: true   # created once on the swarm manager: docker network create -d overlay --attachable ...\n"
    << "volumes:\n"
    << "  ssh-host-keys: {}\n"
    << "  root-ssh: {}\n";
  return y.str();
}

std::string dockerfile_text(const DeployOptions& o, const std::vector<BundledLib>& bundled) {
  std::string base = o.base_image.empty() ? default_base_image() : o.base_image;
  std::ostringstream d;
  d << "# zerotune cluster init: the image every node runs: the CUDA runtime (cuBLAS, NCCL), zerotune and sshd.\n"
    << "# Build it from this folder, which holds the zerotune binary and lib/:  docker build -t " << o.image << " .\n"
    << "# (behind a proxy add --build-arg http_proxy=... --build-arg https_proxy=...; offline: README.md, step 2)\n"
    << "ARG BASE_IMAGE=" << base << "\n"
    << "FROM ${BASE_IMAGE}\n"
    << "ENV DEBIAN_FRONTEND=noninteractive\n"
    << "# zerotune's run-time libraries (Ubuntu 24.04 names), ssh for the launcher, iproute2 for looking at the network.\n"
    << "# The package's sshd host keys are removed: each container makes its own at first start.\n"
    << "RUN apt-get update \\\n"
    << " && apt-get install -y --no-install-recommends " << kRuntimePackages << " \\\n"
    << "      openssh-server openssh-client iproute2 ca-certificates \\\n"
    << " && rm -rf /var/lib/apt/lists/* /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub \\\n"
    << " && mkdir -p /run/sshd /job /data\n"
    << "# Libraries zerotune was linked with that Ubuntu does not ship under the same name";
  if (bundled.empty()) d << " (none for this build)";
  else {
    d << ":";
    for (auto& b : bundled) d << " " << b.soname;
  }
  d << "\n"
    << "COPY lib/ /opt/zerotune/lib/\n"
    << "RUN echo /opt/zerotune/lib > /etc/ld.so.conf.d/zerotune.conf && ldconfig\n"
    << "COPY zerotune /usr/local/bin/zerotune\n"
    << "RUN zerotune version\n"
    << "EXPOSE 22\n"
    << "CMD [\"/bin/sh\", \"-c\", \"ssh-keygen -A && exec /usr/sbin/sshd -D -e\"]\n";
  return d.str();
}

std::string hostfile_text(const DeployPlan& plan) {
  std::ostringstream h;
  h << "# zerotune cluster init: the containers, one per node (DeepSpeed hostfile syntax); the first is the master.\n"
    << "# Names resolve in every container through its /etc/hosts (compose extra_hosts).\n";
  for (auto& n : plan.nodes) h << n.container << " slots=" << n.spec.slots << "\n";
  return h.str();
}

Json deploy_ds_config(const DeployPlan& plan, const DeployOptions& o) {
  train::TrainConfig c;
  c.zero_stage = o.zero_stage;
  c.dtype = o.dtype;
  c.per_device_train_batch_size = o.per_device_train_batch_size;
  c.gradient_accumulation_steps = o.gradient_accumulation_steps;
  c.offload = o.offload;
  return train::dschat_step1_ds_config(c, plan.world_size);
}

std::string deepspeed_env_text(const DeployOptions& o) {
  // DeepSpeed's runner splits every line at '=' with no comment or blank-line handling, so this file can carry
  // nothing but KEY=VALUE lines; README.md explains each.
  std::string s = "NCCL_SOCKET_IFNAME=" + o.socket_ifname + "\nGLOO_SOCKET_IFNAME=" + o.socket_ifname +
                  "\nNCCL_NVLS_ENABLE=0\n";
  if (!o.infiniband) s += "NCCL_IB_DISABLE=1\n";
  s += "NCCL_DEBUG=WARN\n";
  return s;
}

std::vector<BundledLib> libraries_to_bundle(const std::string& binary) {
  check(access(binary.c_str(), X_OK) == 0, "cannot read the zerotune binary " + binary, "pass --binary PATH");
  Pipe p("ldd " + shell_quote(binary) + " 2>/dev/null");
  check(p.f != nullptr, "cannot run ldd on " + binary);
  std::vector<BundledLib> out;
  char line[4096];
  while (std::fgets(line, sizeof line, p.f)) {
    // "\tlibgloo.so => /usr/lib/libgloo.so (0x...)"
    std::istringstream in(line);
    std::string soname, arrow, path;
    in >> soname >> arrow >> path;
    check(!(arrow == "=>" && path == "not"), binary + " needs " + soname + ", which ldd cannot find on this machine",
          "the image copies zerotune's libraries from here: install the missing library first");
    if (arrow != "=>" || path.empty() || path[0] != '/' || provided(soname)) continue;
    if (std::none_of(out.begin(), out.end(), [&](const BundledLib& b) { return b.soname == soname; }))
      out.push_back({soname, path});
  }
  int st = p.close();
  check(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "ldd failed on " + binary,
        "is it a dynamically linked executable of this machine's architecture?");
  return out;
}

std::vector<std::string> write_deployment(const std::string& out, const DeployPlan& plan, const DeployOptions& o,
                                          const std::string& binary) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(out, ec);
  check(!ec, "cannot create --out " + out + ": " + ec.message());
  std::vector<std::string> written;
  auto put = [&](const std::string& rel, const std::string& text) {
    fs::path p = fs::path(out) / rel;
    fs::create_directories(p.parent_path(), ec);
    check(!ec, "cannot create " + p.parent_path().string() + ": " + ec.message());
    write_file_atomic(p.string(), text);
    written.push_back(p.string());
  };
  std::vector<BundledLib> bundled;
  if (!binary.empty()) {
    bundled = libraries_to_bundle(binary);
    fs::create_directories(fs::path(out) / "lib", ec);
    check(!ec, "cannot create " + out + "/lib: " + ec.message());
    std::string listing = "# Libraries zerotune loads that the image's packages do not provide (copied by cluster init).\n";
    for (auto& lib : bundled) {
      // Named by soname, which is what the loader looks for; copy_file follows links to the real file.
      fs::path dst = fs::path(out) / "lib" / lib.soname;
      fs::copy_file(lib.path, dst, fs::copy_options::overwrite_existing, ec);
      check(!ec, "cannot copy " + lib.path + " to " + dst.string() + ": " + ec.message());
      written.push_back(dst.string());
      listing += lib.soname + "  (from " + lib.path + ")\n";
    }
    put("lib/BUNDLED.txt", listing);
    fs::path exe = fs::path(out) / "zerotune";
    fs::copy_file(binary, exe, fs::copy_options::overwrite_existing, ec);
    check(!ec, "cannot copy " + binary + " to " + exe.string() + ": " + ec.message());
    fs::permissions(exe, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                             fs::perms::others_exec, ec);
    written.push_back(exe.string());
  }
  for (size_t i = 0; i < plan.nodes.size(); ++i) put(plan.nodes[i].spec.name + "/compose.yaml", compose_yaml(plan, o, i));
  put("Dockerfile", dockerfile_text(o, bundled));
  put("hostfile", hostfile_text(plan));
  put("ds_config.json", deploy_ds_config(plan, o).dump(2) + "\n");
  put(".deepspeed_env", deepspeed_env_text(o));
  put("README.md", readme_text(plan, o, !binary.empty()));
  return written;
}

}  // namespace zt::cluster
