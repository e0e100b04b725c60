// Helpers for the launcher suites: a command running in the background with its output in a file (so a test
// can signal or kill things while it runs), and parsing the `REPORT k=v ...` lines that test ranks print.
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace zt::test {

inline std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// `/bin/sh -c cmd` with stdout+stderr to a file. Write `exec prog ...` to make the pid the program's.
class Background {
 public:
  Background(const std::string& cmd, std::string out_path) : out_(std::move(out_path)) {
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      int devnull = ::open("/dev/null", O_RDONLY);
      ::dup2(devnull, 0);
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), (char*)nullptr);
      ::_exit(127);
    }
  }
  ~Background() {
    if (pid_ > 0 && !done_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  // Waits up to timeout_ms; returns the exit code (128+N for signal N), or -1 on timeout (the process is left).
  int wait(int timeout_ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      int st = 0;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        done_ = true;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      if (std::chrono::steady_clock::now() > end) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::string output() const { return read_text(out_); }

 private:
  pid_t pid_ = -1;
  bool done_ = false;
  std::string out_;
};

// Waits up to timeout_ms for `pred` to become true.
template <class F>
bool eventually(F&& pred, int timeout_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// Lines `[rank N] REPORT k=v k=v ...` -> one map per report (with "prefix" = N from the line prefix).
inline std::vector<std::map<std::string, std::string>> reports(const std::string& out) {
  std::vector<std::map<std::string, std::string>> r;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("[rank ", 0) != 0) continue;
    size_t close = line.find("] ");
    if (close == std::string::npos || line.compare(close + 2, 7, "REPORT ") != 0) continue;
    std::map<std::string, std::string> m;
    m["prefix"] = line.substr(6, close - 6);
    std::istringstream words(line.substr(close + 9));
    for (std::string w; words >> w;)
      if (auto eq = w.find('='); eq != std::string::npos) m[w.substr(0, eq)] = w.substr(eq + 1);
    r.push_back(std::move(m));
  }
  return r;
}

// A rank command that prints one REPORT line with the launch contract (dash-compatible).
inline std::string report_command() {
  return "-- sh -c 'echo REPORT prefix_check=1 rank=$RANK local=$LOCAL_RANK world=$WORLD_SIZE local_size=$LOCAL_SIZE "
         "cross=$CROSS_RANK cross_size=$CROSS_SIZE master=$MASTER_ADDR:$MASTER_PORT cvd=${CUDA_VISIBLE_DEVICES-unset} "
         "secret_len=${#ZEROTUNE_JOB_SECRET} host=$ZEROTUNE_HOST net=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d \" \" | grep -v ^lo$ | tr \"\\n\" +) "
         "nccl_if=${NCCL_SOCKET_IFNAME-unset} gloo_if=${GLOO_SOCKET_IFNAME-unset} nccl_debug=${NCCL_DEBUG-unset} "
         "ds_env=${ZT_TEST_DS_ENV-unset} cwd=$(pwd) args=$*' sh";
}

}  // namespace zt::test
