// GPU and NCCL facts read at run time: NVML (libnvidia-ml.so.1) and NCCL (libnccl.so.2) are loaded with dlopen, so
// zerotune runs, and says why, on hosts without a driver. Also the CUDA/architecture facts of this build.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace zt::cluster {

struct GpuInfo {
  int index = 0;
  std::string name;  // "NVIDIA H100 80GB HBM3"
  std::string uuid;
  int cc_major = 0, cc_minor = 0;  // compute capability
  uint64_t memory_total = 0;       // bytes
  uint64_t memory_used = 0;        // bytes (other processes' allocations show up here)
};

struct NvmlFacts {
  bool loaded = false;      // the library loaded and nvmlInit succeeded
  std::string error;        // why not (dlopen or nvmlInit message)
  std::string library;      // the file dlopen found
  std::string driver_version;   // "570.86.15"
  int cuda_driver_version = 0;  // newest CUDA the driver supports, 12080 = 12.8 (0: unknown)
  std::vector<GpuInfo> gpus;
};

// Loads `library` (a soname or path), initialises NVML and reads every GPU; never throws for a missing driver.
NvmlFacts probe_nvml(const std::string& library = "libnvidia-ml.so.1");

struct NcclFacts {
  bool found = false;
  std::string error;    // dlopen / symbol / ncclGetVersion failure
  std::string library;  // the file dlopen found
  int version = 0;      // NCCL_VERSION_CODE: 22105 = 2.21.5 (older than 2.9: 2708 = 2.7.8)
};
NcclFacts probe_nccl(const std::string& library = "libnccl.so.2");

// This binary: the CUDA runtime it was compiled against and the GPU architectures it carries code for.
struct BuildInfo {
  int cuda_version = 0;             // CUDART_VERSION (12080), 0 for a CPU build
  std::string cuda_architectures;   // CMAKE_CUDA_ARCHITECTURES as configured, comma-separated: "80,90"
};
BuildInfo this_build();

std::string cuda_version_text(int code);  // 12080 -> "12.8", 13000 -> "13.0"
std::string nccl_version_text(int code);  // 22105 -> "2.21.5", 2708 -> "2.7.8"
const char* gpu_arch_name(int cc_major, int cc_minor);  // "Pascal" .. "Blackwell", "pre-Pascal"

// Whether code built for `architectures` (CMake's list, ';' or ',' separated: "80;90", "80-real,90-virtual", "90a")
// runs on a GPU of compute capability major.minor: SASS of the same major and a minor not above it, or PTX of a
// version not above it (JIT). 1 or 0; -1 when the list cannot be read ("native", "all", empty).
int build_runs_on(const std::string& architectures, int cc_major, int cc_minor);

}  // namespace zt::cluster
