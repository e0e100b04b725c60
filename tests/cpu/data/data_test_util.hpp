// Shared helpers for the data-layer tests: running a command and capturing stdout, the repo root, temp dirs.
// NumPy oracles run with Debian's /usr/bin/python3 (python3-numpy), never a pyenv python on PATH.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "cpu/test_process.hpp"

namespace zt::test {

inline bool have_numpy() {
  int rc = 0;
  run_capture("/usr/bin/python3 -c 'import numpy' 2>/dev/null", rc);
  return rc == 0;
}

// A fresh directory under the build dir, removed first if present.
inline std::string temp_dir(const std::string& name) {
  std::string d = std::string(ZT_BINARY_DIR) + "/data_test_tmp/" + name;
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace zt::test
