// The host checks of `zerotune doctor`: GPUs/driver/CUDA (NVML), NCCL, /dev/shm, ulimits, RDMA devices, the route to
// the master against NCCL_SOCKET_IFNAME, the data cache's free space and the docker socket's permissions.
#include "cluster/doctor.hpp"

#include <dirent.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include <openssl/evp.h>

#include "core/error.hpp"

namespace zt::cluster {

namespace {

constexpr uint64_t kMiB = uint64_t(1) << 20, kGiB = uint64_t(1) << 30;

// The seed's pitfall, told once: what nvidia-smi's "CUDA Version" means and what must hold.
std::string cuda_pitfall(int driver_cuda, int built) {
  std::string d = cuda_version_text(driver_cuda);
  return "nvidia-smi's \"CUDA Version\" (" + d +
         ") is the newest CUDA the installed driver supports, not a toolkit; a container shows the host's driver, so "
         "it reports the same number whatever CUDA the image carries. What must hold is driver CUDA >= the CUDA zerotune "
         "was built for (" + cuda_version_text(built) + "). Fix: upgrade the host's driver (a container cannot), or use "
         "a zerotune build and base image for CUDA <= " + d + " (cluster init --base_image nvidia/cuda:" + d +
         ".0-runtime-ubuntu24.04)";
}

std::string read_first_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ' || line.back() == '\r')) line.pop_back();
  return line;
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') out.push_back(e->d_name);
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The binary's SHA-256 (hex): hosts running different zerotune binaries show up in the multi-host report.
std::string file_sha256(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return "";
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || !EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr)) return "";
  std::vector<char> buf(size_t(1) << 20);
  while (f.read(buf.data(), std::streamsize(buf.size())) || f.gcount() > 0)
    EVP_DigestUpdate(ctx.get(), buf.data(), size_t(f.gcount()));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_DigestFinal_ex(ctx.get(), md, &len)) return "";
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) out += hex[md[i] >> 4], out += hex[md[i] & 15];
  return out;
}

std::string limit_text(rlim_t v) { return v == RLIM_INFINITY ? "unlimited" : format_bytes(uint64_t(v)); }

}  // namespace

// ---- GPUs, driver, CUDA ----

std::vector<Check> gpu_checks(const NvmlFacts& nv, const BuildInfo& b, int expect) {
  std::vector<Check> out;
  const std::string driver_fix =
      "install the NVIDIA driver on the host (nvidia-smi must list the GPUs); in a container, start it with the GPUs: "
      "the NVIDIA Container Toolkit (nvidia-ctk runtime configure --runtime=docker) and docker run --gpus all, or the "
      "compose GPU reservation that zerotune cluster init writes";
  if (!nv.loaded || nv.gpus.empty()) {
    std::string why = !nv.loaded ? "no NVIDIA driver (" + nv.error + ")" : "the NVIDIA driver lists no GPU";
    if (expect > 0) out.push_back({"gpus", Status::fail, why + "; " + std::to_string(expect) + " GPUs expected", driver_fix});
    else out.push_back({"gpus", Status::info, why + ": training runs on the CPU", ""});
    out.push_back({"cuda", Status::info,
                   b.cuda_version ? "zerotune built for CUDA " + cuda_version_text(b.cuda_version) + "; no driver to run it"
                                  : "CPU build of zerotune",
                   ""});
    return out;
  }
  // GPUs of one model, grouped: "8x NVIDIA H100 80GB HBM3 (Hopper, compute 9.0, 79.6 GiB)".
  std::map<std::string, std::vector<const GpuInfo*>> groups;
  std::vector<std::string> order;
  for (auto& g : nv.gpus) {
    std::string key = g.name + "|" + std::to_string(g.cc_major) + "." + std::to_string(g.cc_minor) + "|" +
                      std::to_string(g.memory_total);
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(&g);
  }
  Check gpus{"gpus", Status::ok, std::to_string(nv.gpus.size()) + " GPU" + (nv.gpus.size() == 1 ? "" : "s") + ":", ""};
  std::vector<std::string> fixes;
  auto raise = [&](Status s, const std::string& fix) {
    gpus.status = std::max(gpus.status, s);
    if (!fix.empty() && std::find(fixes.begin(), fixes.end(), fix) == fixes.end()) fixes.push_back(fix);
  };
  for (auto& key : order) {
    const GpuInfo& g = *groups[key].front();
    std::string cc = std::to_string(g.cc_major) + "." + std::to_string(g.cc_minor);
    std::string note = " " + std::to_string(groups[key].size()) + "x " + g.name + " (" +
                       gpu_arch_name(g.cc_major, g.cc_minor) + ", compute " + cc + ", " + format_bytes(g.memory_total);
    if (g.cc_major < 6) {
      note += "; older than Pascal: unsupported";
      raise(Status::fail, "use Pascal (compute 6.0) or newer GPUs; leave this host out of the hostfile");
    } else if (b.cuda_version && build_runs_on(b.cuda_architectures, g.cc_major, g.cc_minor) == 0) {
      note += "; this zerotune has no code for it (built for " + b.cuda_architectures + ")";
      raise(Status::fail, "add " + std::to_string(g.cc_major * 10 + g.cc_minor) +
                              " to CMAKE_CUDA_ARCHITECTURES in CMakeLists.txt and rebuild");
    } else if (g.cc_major < 8) {
      note += "; no bf16 (needs Ampere, compute 8.0+)";
      raise(Status::warn, "train with --dtype fp16 (DeepSpeed-Chat's default) on these GPUs");
    } else {
      note += "; bf16 ok";
    }
    gpus.detail += note + ")";
    if (&key != &order.back()) gpus.detail += ",";
  }
  if (!b.cuda_version) {
    gpus.detail += "; this zerotune is a CPU build and will not use them";
    raise(expect > 0 ? Status::fail : Status::warn,
          "build zerotune with CUDA (nvcc on PATH or /usr/local/cuda; cmake -DZT_CUDA=ON)");
  }
  if (expect > 0 && int(nv.gpus.size()) < expect) {
    gpus.detail += "; " + std::to_string(expect) + " expected";
    raise(Status::fail, "check nvidia-smi on the host and the container's GPU reservation (count or device_ids)");
  }
  for (auto& f : fixes) gpus.fix += (gpus.fix.empty() ? "" : "; ") + f;
  out.push_back(gpus);

  out.push_back({"driver", nv.driver_version.empty() ? Status::warn : Status::ok,
                 "NVIDIA driver " + (nv.driver_version.empty() ? std::string("version unknown") : nv.driver_version) +
                     ", supports CUDA up to " + cuda_version_text(nv.cuda_driver_version),
                 ""});

  Check cuda{"cuda", Status::ok, "", ""};
  int drv = nv.cuda_driver_version, built = b.cuda_version;
  if (!built) {
    cuda.status = Status::info;
    cuda.detail = "CPU build of zerotune; the driver supports CUDA up to " + cuda_version_text(drv);
  } else if (drv <= 0) {
    cuda.status = Status::warn;
    cuda.detail = "built for CUDA " + cuda_version_text(built) + "; the driver did not say which CUDA it supports";
    cuda.fix = "update the NVIDIA driver (nvmlSystemGetCudaDriverVersion failed)";
  } else if (drv >= built) {
    cuda.detail = "built for CUDA " + cuda_version_text(built) + "; the driver supports up to " + cuda_version_text(drv);
  } else if (drv / 1000 == built / 1000) {
    cuda.status = Status::warn;
    cuda.detail = "built for CUDA " + cuda_version_text(built) + " but the driver supports only " + cuda_version_text(drv) +
                  ": runs under CUDA minor-version compatibility, without PTX JIT or features of newer drivers";
    cuda.fix = cuda_pitfall(drv, built);
  } else {
    cuda.status = Status::fail;
    cuda.detail = "built for CUDA " + cuda_version_text(built) + " but the driver supports only " + cuda_version_text(drv);
    cuda.fix = cuda_pitfall(drv, built);
  }
  out.push_back(cuda);
  return out;
}

Check nccl_check(const NcclFacts& n, const BuildInfo& b, int gpus, int expect) {
  if (n.found)
    return {"nccl", Status::ok, "NCCL " + nccl_version_text(n.version) + " (" + n.library + ")", ""};
  const std::string fix =
      "install NCCL (apt install libnccl2 from NVIDIA's CUDA repository; the nvidia/cuda *-runtime images carry it) "
      "or add its directory to LD_LIBRARY_PATH";
  if (!b.cuda_version || (gpus == 0 && expect == 0))
    return {"nccl", Status::info, "NCCL not found (" + n.error + "): CPU training communicates through Gloo", ""};
  if (expect > 1) return {"nccl", Status::fail, "NCCL not found (" + n.error + "); " + std::to_string(expect) +
                                                    " GPUs expected, which need it", fix};
  return {"nccl", Status::warn, "NCCL not found (" + n.error + "): training on more than one GPU needs it", fix};
}

// ---- memory and limits ----

Check shm_check(const std::string& dir) {
  struct statvfs s {};
  if (statvfs(dir.c_str(), &s) != 0)
    return {"shm", Status::warn, dir + " is missing (" + std::strerror(errno) + ")",
            "NCCL passes data between GPUs of one host through shared memory: mount a tmpfs on " + dir};
  return shm_size_check(dir, uint64_t(s.f_blocks) * s.f_frsize);
}

Check shm_size_check(const std::string& dir, uint64_t bytes) {
  std::string detail = dir + " is " + format_bytes(bytes);
  if (bytes >= kGiB) return {"shm", Status::ok, detail, ""};
  return {"shm", Status::warn,
          detail + ": too small for NCCL's shared-memory transport between the GPUs of a host (Docker's default is 64 MiB)",
          "containers: docker run --shm-size=32g, or shm_size: 32gb in compose (cluster init writes it); a host: "
          "mount -o remount,size=32G " + dir};
}

Check memlock_check(rlim_t soft, bool rdma) {
  if (soft == RLIM_INFINITY) return {"memlock", Status::ok, "ulimit -l unlimited", ""};
  return {"memlock", rdma ? Status::fail : Status::warn,
          "ulimit -l is " + limit_text(soft) + (rdma ? ": RDMA memory registration (NCCL over InfiniBand/RoCE) fails"
                                                     : ": pinned and RDMA-registered memory need it unlimited"),
          "containers: docker run --ulimit memlock=-1 (compose ulimits memlock: -1, as cluster init writes); a host: "
          "'* - memlock unlimited' in /etc/security/limits.conf, then log in again"};
}

Check stack_check(rlim_t soft) {
  if (soft == RLIM_INFINITY || soft >= 8 * kMiB) return {"stack", Status::ok, "ulimit -s " + limit_text(soft), ""};
  return {"stack", Status::warn, "ulimit -s is " + limit_text(soft) + " (below the usual 8 MiB)",
          "containers: --ulimit stack=67108864 (compose ulimits stack, as cluster init writes); a host: ulimit -s 65536"};
}

// ---- RDMA ----

std::vector<RdmaPort> read_rdma_ports(const std::string& sysfs) {
  std::vector<RdmaPort> out;
  for (auto& dev : list_dir(sysfs))
    for (auto& port : list_dir(sysfs + "/" + dev + "/ports")) {
      std::string base = sysfs + "/" + dev + "/ports/" + port + "/";
      RdmaPort p;
      p.device = dev;
      p.port = std::atoi(port.c_str());
      p.state = read_first_line(base + "state");  // "4: ACTIVE"
      if (auto colon = p.state.find(": "); colon != std::string::npos) p.state = p.state.substr(colon + 2);
      p.link_layer = read_first_line(base + "link_layer");
      p.rate = read_first_line(base + "rate");
      out.push_back(p);
    }
  return out;
}

Check infiniband_check(const std::vector<RdmaPort>& ports) {
  if (ports.empty())
    return {"rdma", Status::info, "no InfiniBand/RoCE devices: NCCL uses TCP sockets between hosts", ""};
  Check c{"rdma", Status::warn, "", ""};
  for (auto& p : ports) {
    if (p.state == "ACTIVE") c.status = Status::ok;
    std::string layer = p.link_layer == "Ethernet" ? "RoCE" : p.link_layer.empty() ? "?" : p.link_layer;
    c.detail += (c.detail.empty() ? "" : ", ") + p.device + "/" + std::to_string(p.port) + " " + p.state + " " + layer +
                (p.rate.empty() ? "" : " " + p.rate);
  }
  if (c.status == Status::warn)
    c.fix = "no port is ACTIVE: check cables and the subnet manager (ibstat), or set NCCL_IB_DISABLE=1 to use sockets";
  return c;
}

// ---- network ----

Check master_route_check(const std::string& master, int port, const std::optional<std::string>& ifname,
                         const std::vector<NetInterface>& interfaces, Json* facts) {
  Route r;
  try {
    r = route_to(master, port);
  } catch (const Error& e) {
    return {"master route", Status::fail, e.what(), e.hint()};
  }
  if (facts) {
    (*facts)["route"] = {{"master", master}, {"target", r.target}, {"source", r.source}, {"interface", r.interface}};
    (*facts)["nccl_interfaces"] = nccl_interfaces(ifname, interfaces);
  }
  return route_agreement_check(master, r, ifname, interfaces);
}

Check route_agreement_check(const std::string& master, const Route& r, const std::optional<std::string>& ifname,
                            const std::vector<NetInterface>& interfaces) {
  std::vector<std::string> nccl = nccl_interfaces(ifname, interfaces);
  std::string have;
  for (auto& i : interfaces)
    if (i.up && !i.addresses.empty()) have += (have.empty() ? "" : ", ") + i.name;
  std::string detail = master + (master == r.target ? "" : " (" + r.target + ")") + " is reached through " + r.interface +
                       " from " + r.source;
  bool set = ifname && ifname->size() > 1;
  std::string fix = "export NCCL_SOCKET_IFNAME=" + r.interface + " on every host (prefix match; =" + r.interface +
                    " for an exact name; put it in .deepspeed_env)";
  auto is_local = [&] {
    for (auto& i : interfaces)
      if (i.loopback && i.name == r.interface) return true;
    return r.source == r.target;
  };
  if (set && nccl.empty())
    return {"master route", Status::fail, detail + "; NCCL_SOCKET_IFNAME=" + *ifname + " matches no running interface here (" +
                                              have + ")", fix};
  // NCCL bootstraps through the first interface it selects (and spreads socket traffic over all of them).
  if (!nccl.empty() && nccl.front() == r.interface)
    return {"master route", Status::ok,
            detail + (set ? "; NCCL_SOCKET_IFNAME=" + *ifname + " agrees" : "; NCCL's default choice agrees"), ""};
  if (is_local())
    return {"master route", Status::ok, detail + ": the master is this host", ""};
  if (nccl.empty())
    return {"master route", Status::warn, detail + "; NCCL finds no usable interface here", fix};
  return {"master route", Status::warn,
          detail + "; but NCCL would use " + nccl.front() +
              (set ? " (NCCL_SOCKET_IFNAME=" + *ifname + ")" : " (its default order: ib*, then any but docker/lo/virbr)") +
              ": ranks on other hosts may not reach it and the job hangs at start",
          fix};
}

// ---- storage and docker ----

Check data_dir_check(const std::string& dir) {
  // The directory may not exist yet: measure the nearest existing ancestor, where it will be created.
  std::filesystem::path p = std::filesystem::path(dir).lexically_normal();
  std::error_code ec;
  while (!p.empty() && !std::filesystem::exists(p, ec) && p.has_parent_path() && p.parent_path() != p) p = p.parent_path();
  std::string at = p.empty() || !std::filesystem::exists(p, ec) ? "." : p.string();
  if (at.size() > 1 && at.back() == '/') at.pop_back();
  std::string want = dir.size() > 1 && dir.back() == '/' ? dir.substr(0, dir.size() - 1) : dir;
  struct statvfs s {};
  if (statvfs(at.c_str(), &s) != 0)
    return {"data dir", Status::fail, dir + ": cannot read free space (" + std::strerror(errno) + ")",
            "pass --data_dir with a writable directory"};
  uint64_t free_bytes = uint64_t(s.f_bavail) * s.f_frsize;
  std::string where = dir + (at == want ? "" : " (to be created under " + at + ")");
  if (access(at.c_str(), W_OK) != 0)
    return {"data dir", Status::fail, where + " is not writable by this user",
            "choose another --data_output_path or fix its owner"};
  std::string detail = where + ": " + format_bytes(free_bytes) + " free";
  if (free_bytes < kGiB)
    return {"data dir", Status::fail, detail, "free space, or point --data_output_path at a larger disk"};
  if (free_bytes < 10 * kGiB)
    return {"data dir", Status::warn, detail + " (tokenised caches and checkpoints need more)",
            "free space, or point --data_output_path at a larger disk"};
  return {"data dir", Status::ok, detail, ""};
}

Check docker_socket_check(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0)
    return {"docker socket", Status::info, "no " + path + " (not a Docker host, or inside a container)", ""};
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
  std::string group_name = std::to_string(st.st_gid);
  if (struct group* g = getgrgid(st.st_gid)) group_name = g->gr_name;
  std::string detail = path + " mode " + mode + ", group " + group_name;
  if (st.st_mode & S_IWOTH)
    return {"docker socket", Status::warn,
            "SECURITY: " + detail + " is world-writable: any local user, and any container that mounts it, can run "
            "docker and so become root",
            "sudo chmod 0660 " + path + " && sudo chown root:docker " + path +
                " (restarting docker recreates it so); give access by group instead: sudo usermod -aG docker $USER, "
                "then log in again"};
  if (access(path.c_str(), R_OK | W_OK) == 0) return {"docker socket", Status::ok, detail + "; this user can use docker", ""};
  return {"docker socket", Status::info, detail + "; this user cannot use docker without sudo",
          "sudo usermod -aG docker $USER, then log in again (never chmod 666 the socket)"};
}

// ---- all of it ----

DoctorReport run_doctor(const DoctorOptions& o) {
  DoctorReport r;
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  r.host = host;
  BuildInfo b = this_build();
  r.facts["build"] = {{"cuda_version", b.cuda_version}, {"cuda_architectures", b.cuda_architectures},
                      {"exe_sha256", file_sha256("/proc/self/exe")}};
  r.checks.push_back({"zerotune", Status::info,
                      b.cuda_version ? "CUDA " + cuda_version_text(b.cuda_version) + " build (GPU code for " +
                                           b.cuda_architectures + ")"
                                     : "CPU build (no CUDA)",
                      ""});

  NvmlFacts nv = probe_nvml(o.nvml_library);
  Json gpus = Json::array();
  for (auto& g : nv.gpus)
    gpus.push_back({{"index", g.index}, {"name", g.name}, {"uuid", g.uuid}, {"compute_capability", {g.cc_major, g.cc_minor}},
                    {"memory_total", g.memory_total}, {"memory_used", g.memory_used}});
  r.facts["nvml"] = {{"loaded", nv.loaded}, {"error", nv.error}, {"library", nv.library},
                     {"driver_version", nv.driver_version}, {"cuda_driver_version", nv.cuda_driver_version}, {"gpus", gpus}};
  for (auto& c : gpu_checks(nv, b, o.expect_gpus)) r.checks.push_back(c);

  NcclFacts nccl = probe_nccl(o.nccl_library);
  r.facts["nccl"] = {{"found", nccl.found}, {"version", nccl.version}, {"library", nccl.library}, {"error", nccl.error}};
  r.checks.push_back(nccl_check(nccl, b, int(nv.gpus.size()), o.expect_gpus));

  struct statvfs s {};
  r.facts["shm_bytes"] = statvfs(o.shm_dir.c_str(), &s) == 0 ? Json(uint64_t(s.f_blocks) * s.f_frsize) : Json(nullptr);
  r.checks.push_back(shm_check(o.shm_dir));

  std::vector<RdmaPort> ports = read_rdma_ports(o.infiniband_dir);
  bool rdma_active = std::any_of(ports.begin(), ports.end(), [](auto& p) { return p.state == "ACTIVE"; });
  rlimit memlock{}, stack{};
  getrlimit(RLIMIT_MEMLOCK, &memlock);
  getrlimit(RLIMIT_STACK, &stack);
  auto lim = [](rlim_t v) { return v == RLIM_INFINITY ? Json(-1) : Json(uint64_t(v)); };
  r.facts["ulimit"] = {{"memlock", lim(memlock.rlim_cur)}, {"stack", lim(stack.rlim_cur)}};
  r.checks.push_back(memlock_check(memlock.rlim_cur, rdma_active));
  r.checks.push_back(stack_check(stack.rlim_cur));

  Json rdma = Json::array();
  for (auto& p : ports)
    rdma.push_back({{"device", p.device}, {"port", p.port}, {"state", p.state}, {"link_layer", p.link_layer}, {"rate", p.rate}});
  r.facts["rdma"] = rdma;
  r.checks.push_back(infiniband_check(ports));

  r.facts["nccl_socket_ifname"] = o.nccl_socket_ifname ? Json(*o.nccl_socket_ifname) : Json(nullptr);
  if (o.master_addr) {
    std::vector<NetInterface> itfs;
    try {
      itfs = list_interfaces();
    } catch (const Error& e) {
      r.checks.push_back({"master route", Status::fail, e.what(), e.hint()});
    }
    if (r.checks.back().name != "master route")
      r.checks.push_back(master_route_check(*o.master_addr, o.master_port, o.nccl_socket_ifname, itfs, &r.facts));
  } else {
    r.checks.push_back({"master route", Status::info, "skipped: no --master_addr (or MASTER_ADDR) given", ""});
  }

  r.checks.push_back(data_dir_check(o.data_dir));
  r.checks.push_back(docker_socket_check(o.docker_socket));
  return r;
}

}  // namespace zt::cluster
