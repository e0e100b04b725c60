// NVML and NCCL through dlopen with the few prototypes we call (no nvml.h or nccl.h at build time), and the
// architecture arithmetic that decides whether this build has code for a GPU.
#include "cluster/gpu_probe.hpp"

#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <sstream>

#ifdef ZT_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace zt::cluster {

namespace {

// A dlopen handle, closed on scope exit.
class DlLibrary {
 public:
  explicit DlLibrary(const std::string& name) {
    h_ = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h_) {
      const char* e = dlerror();
      error_ = e ? e : ("cannot load " + name);
    }
  }
  DlLibrary(const DlLibrary&) = delete;
  DlLibrary& operator=(const DlLibrary&) = delete;
  ~DlLibrary() {
    if (h_) dlclose(h_);
  }
  bool ok() const { return h_ != nullptr; }
  const std::string& error() const { return error_; }
  // The file the loader picked (for "found /usr/lib/x86_64-linux-gnu/libnccl.so.2").
  std::string path() const {
    link_map* lm = nullptr;
    if (h_ && dlinfo(h_, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name) return lm->l_name;
    return {};
  }
  template <class Fn>
  Fn sym(const char* name) const {
    return h_ ? reinterpret_cast<Fn>(dlsym(h_, name)) : nullptr;
  }

 private:
  void* h_ = nullptr;
  std::string error_;
};

// NVML's C interface, as far as we use it. nvmlReturn_t is an int enum (0 = NVML_SUCCESS); nvmlDevice_t is opaque.
using NvmlDevice = void*;
struct NvmlMemory {
  unsigned long long total, free, used;  // nvmlMemory_t (v1)
};
using NvmlInit = int (*)();
using NvmlShutdown = int (*)();
using NvmlErrorString = const char* (*)(int);
using NvmlSystemGetDriverVersion = int (*)(char*, unsigned);
using NvmlSystemGetCudaDriverVersion = int (*)(int*);
using NvmlDeviceGetCount = int (*)(unsigned*);
using NvmlDeviceGetHandleByIndex = int (*)(unsigned, NvmlDevice*);
using NvmlDeviceGetString = int (*)(NvmlDevice, char*, unsigned);
using NvmlDeviceGetCudaComputeCapability = int (*)(NvmlDevice, int*, int*);
using NvmlDeviceGetMemoryInfo = int (*)(NvmlDevice, NvmlMemory*);

using NcclGetVersion = int (*)(int*);  // ncclResult_t ncclGetVersion(int*), 0 = ncclSuccess

// nvmlShutdown on scope exit once nvmlInit succeeded.
struct NvmlSession {
  NvmlShutdown shutdown = nullptr;
  ~NvmlSession() {
    if (shutdown) shutdown();
  }
};

}  // namespace

NvmlFacts probe_nvml(const std::string& library) {
  NvmlFacts f;
  DlLibrary lib(library);
  if (!lib.ok()) {
    f.error = lib.error();
    return f;
  }
  f.library = lib.path();
  auto init = lib.sym<NvmlInit>("nvmlInit_v2");
  if (!init) init = lib.sym<NvmlInit>("nvmlInit");
  auto err = lib.sym<NvmlErrorString>("nvmlErrorString");
  auto what = [&](int rc) { return err ? std::string(err(rc)) : "NVML error " + std::to_string(rc); };
  if (!init) {
    f.error = library + " has no nvmlInit: not NVIDIA's management library?";
    return f;
  }
  if (int rc = init(); rc != 0) {
    f.error = "nvmlInit: " + what(rc);
    return f;
  }
  NvmlSession session{lib.sym<NvmlShutdown>("nvmlShutdown")};
  f.loaded = true;
  char buf[256] = {0};
  if (auto dv = lib.sym<NvmlSystemGetDriverVersion>("nvmlSystemGetDriverVersion"); dv && dv(buf, sizeof buf) == 0)
    f.driver_version = buf;
  auto cv = lib.sym<NvmlSystemGetCudaDriverVersion>("nvmlSystemGetCudaDriverVersion_v2");
  if (!cv) cv = lib.sym<NvmlSystemGetCudaDriverVersion>("nvmlSystemGetCudaDriverVersion");
  if (int v = 0; cv && cv(&v) == 0) f.cuda_driver_version = v;
  auto count = lib.sym<NvmlDeviceGetCount>("nvmlDeviceGetCount_v2");
  if (!count) count = lib.sym<NvmlDeviceGetCount>("nvmlDeviceGetCount");
  auto handle = lib.sym<NvmlDeviceGetHandleByIndex>("nvmlDeviceGetHandleByIndex_v2");
  if (!handle) handle = lib.sym<NvmlDeviceGetHandleByIndex>("nvmlDeviceGetHandleByIndex");
  auto name = lib.sym<NvmlDeviceGetString>("nvmlDeviceGetName");
  auto uuid = lib.sym<NvmlDeviceGetString>("nvmlDeviceGetUUID");
  auto cc = lib.sym<NvmlDeviceGetCudaComputeCapability>("nvmlDeviceGetCudaComputeCapability");
  auto mem = lib.sym<NvmlDeviceGetMemoryInfo>("nvmlDeviceGetMemoryInfo");
  unsigned n = 0;
  if (!count || !handle) {
    f.error = library + " lacks nvmlDeviceGetCount/nvmlDeviceGetHandleByIndex";
    return f;
  }
  if (int rc = count(&n); rc != 0) {
    f.error = "nvmlDeviceGetCount: " + what(rc);
    return f;
  }
  for (unsigned i = 0; i < n; ++i) {
    GpuInfo g;
    g.index = int(i);
    NvmlDevice d = nullptr;
    if (int rc = handle(i, &d); rc != 0) {
      // A GPU the driver lists but cannot open (fallen off the bus, no permission) is still worth reporting.
      g.name = "unavailable (" + what(rc) + ")";
      f.gpus.push_back(g);
      continue;
    }
    char s[256] = {0};
    if (name && name(d, s, sizeof s) == 0) g.name = s;
    char u[256] = {0};
    if (uuid && uuid(d, u, sizeof u) == 0) g.uuid = u;
    if (cc) cc(d, &g.cc_major, &g.cc_minor);
    NvmlMemory m{};
    if (mem && mem(d, &m) == 0) g.memory_total = m.total, g.memory_used = m.used;
    f.gpus.push_back(g);
  }
  return f;
}

NcclFacts probe_nccl(const std::string& library) {
  NcclFacts f;
  DlLibrary lib(library);
  if (!lib.ok()) {
    f.error = lib.error();
    return f;
  }
  f.library = lib.path();
  auto get = lib.sym<NcclGetVersion>("ncclGetVersion");
  if (!get) {
    f.error = library + " has no ncclGetVersion";
    return f;
  }
  int v = 0;
  if (int rc = get(&v); rc != 0) {
    f.error = "ncclGetVersion returned " + std::to_string(rc);
    return f;
  }
  f.found = true;
  f.version = v;
  return f;
}

BuildInfo this_build() {
  BuildInfo b;
#ifdef ZT_HAVE_CUDA
  b.cuda_version = CUDART_VERSION;
#endif
#ifdef ZT_CUDA_ARCHS
  b.cuda_architectures = ZT_CUDA_ARCHS;
#endif
  return b;
}

std::string cuda_version_text(int code) {
  if (code <= 0) return "unknown";
  return std::to_string(code / 1000) + "." + std::to_string((code % 1000) / 10);
}

std::string nccl_version_text(int code) {
  if (code <= 0) return "unknown";
  // NCCL_VERSION(X,Y,Z): X*1000 + Y*100 + Z up to 2.8, X*10000 + Y*100 + Z from 2.9 on.
  int x, y, z;
  if (code >= 10000) x = code / 10000, y = (code % 10000) / 100, z = code % 100;
  else x = code / 1000, y = (code % 1000) / 100, z = code % 100;
  return std::to_string(x) + "." + std::to_string(y) + "." + std::to_string(z);
}

const char* gpu_arch_name(int major, int minor) {
  switch (major) {
    case 6: return "Pascal";
    case 7: return minor >= 5 ? "Turing" : "Volta";
    case 8: return minor == 9 ? "Ada Lovelace" : "Ampere";
    case 9: return "Hopper";
    case 10:
    case 11:
    case 12: return "Blackwell";
    default: return major < 6 ? "pre-Pascal" : "newer than Blackwell";
  }
}

int build_runs_on(const std::string& architectures, int major, int minor) {
  std::string list = architectures;
  std::replace(list.begin(), list.end(), ',', ';');  // the build passes "80,90"
  std::stringstream ss(list);
  std::string item;
  bool any = false, runs = false;
  int gpu = major * 10 + minor;
  while (std::getline(ss, item, ';')) {
    if (item.empty()) continue;
    bool real = true, virt = true;
    if (auto dash = item.find('-'); dash != std::string::npos) {
      std::string kind = item.substr(dash + 1);
      item.resize(dash);
      if (kind == "real") virt = false;
      else if (kind == "virtual") real = false;
      else return -1;
    }
    // sm_90a runs on 9.0 only; sm_100f on the 10.x family from 10.0 up.
    char suffix = !item.empty() && (item.back() == 'a' || item.back() == 'f') ? item.back() : 0;
    if (suffix) item.pop_back();
    if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos) return -1;
    int arch = std::stoi(item);
    any = true;
    if (suffix == 'a') runs = runs || arch == gpu;
    else if (suffix == 'f') runs = runs || (arch / 10 == major && arch % 10 <= minor);
    else if (real && arch / 10 == major && arch % 10 <= minor) runs = true;
    else if (virt && arch <= gpu) runs = true;
  }
  return any ? int(runs) : -1;
}

}  // namespace zt::cluster
