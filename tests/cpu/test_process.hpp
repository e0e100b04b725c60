// Test helpers shared across suites: the repository root and running a shell command with its stdout captured.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace zt::test {

inline std::string repo() { return ZT_SOURCE_DIR; }

// Runs `cmd` with /bin/sh; returns its stdout and sets rc to its exit status (-1 if it did not exit normally).
inline std::string run_capture(const std::string& cmd, int& rc) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) {
    rc = -1;
    return out;
  }
  char buf[65536];
  for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  int st = pclose(f);
  rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

}  // namespace zt::test
