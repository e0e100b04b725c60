// Paths for the CUDA tests that run the zerotune binary: the staged GPU run (scripts/gpu-run.sh) ships zerotune next
// to the test binary and runs from the repository root; a local build uses the compile-time paths.
#pragma once
#include <filesystem>
#include <string>

namespace zt::cudatest {

inline std::string exe() {
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe").parent_path() / "zerotune";
  return std::filesystem::exists(self) ? self.string() : std::string(ZT_EXE);
}

inline std::string fixture() {
  std::filesystem::path p = std::filesystem::path(ZT_SOURCE_DIR) / "tests/fixtures/dschat";
  return std::filesystem::exists(p) ? p.string() : (std::filesystem::current_path() / "tests/fixtures/dschat").string();
}

}  // namespace zt::cudatest
