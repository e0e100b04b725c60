// Test helpers for the network Comm backends: fork one process per rank with the launcher's environment on
// loopback, collect exit codes and reports, and check tensors inside a rank without gtest (CPU and CUDA suites).
#pragma once
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/tensor.hpp"
#include "dist/socket.hpp"

namespace zt::dist::test {

using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;
inline const char* kSecretHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct RankResult {
  int status = -1;    // exit code, or -1 when killed / not finished
  std::string report; // what the rank wrote (failures, error messages)
};

// Forks one process per rank with the launcher's environment plus `extra` (per rank), runs body(rank, report) in it
// and collects exit codes and reports. Ranks still running after `limit` are killed (reported as status -1).
inline std::vector<RankResult> run_ranks(int world, const std::function<int(int, std::string&)>& body,
                                  const std::function<Env(int)>& extra, std::chrono::seconds limit,
                                  const std::vector<int>& skip = {}) {
  int port = 0;
  { Fd probe = listen_tcp("127.0.0.1", 0, &port); }
  std::vector<pid_t> pids(size_t(world), -1);
  std::vector<int> pipes(size_t(world), -1);
  for (int r = 0; r < world; ++r) {
    if (std::find(skip.begin(), skip.end(), r) != skip.end()) continue;
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe");
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      Env env{{"RANK", std::to_string(r)},        {"WORLD_SIZE", std::to_string(world)},
              {"LOCAL_RANK", std::to_string(r)},  {"LOCAL_SIZE", std::to_string(world)},
              {"MASTER_ADDR", "127.0.0.1"},       {"MASTER_PORT", std::to_string(port)},
              {"ZEROTUNE_JOB_SECRET", kSecretHex}, {"ZEROTUNE_RDZV_TIMEOUT", "30"},
              {"ZEROTUNE_COMM_TIMEOUT", "30"}};
      for (auto& [k, v] : extra(r)) env[k] = v;
      for (auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      std::string report;
      int code = 1;
      try {
        code = body(r, report);
      } catch (const Error& e) {
        report += "zt::Error: " + e.describe();
        code = 2;
      } catch (const std::exception& e) {
        report += std::string("exception: ") + e.what();
        code = 3;
      }
      report = report.substr(0, 16000);
      (void)!::write(fds[1], report.data(), report.size());
      ::close(fds[1]);
      ::_exit(code);
    }
    ::close(fds[1]);
    pids[size_t(r)] = pid;
    pipes[size_t(r)] = fds[0];
  }
  std::vector<RankResult> out{size_t(world)};
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (int r = 0; r < world; ++r) {
    if (pids[size_t(r)] < 0) continue;
    // Drain the report while waiting so a chatty rank never blocks on a full pipe.
    std::string& rep = out[size_t(r)].report;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{pipes[size_t(r)], POLLIN, 0};
      int rc = ::poll(&p, 1, int(std::max<int64_t>(0, left.count())));
      if (rc <= 0) break;
      char buf[4096];
      ssize_t n = ::read(pipes[size_t(r)], buf, sizeof buf);
      if (n <= 0) break;
      rep.append(buf, size_t(n));
    }
    ::close(pipes[size_t(r)]);
  }
  for (int r = 0; r < world; ++r) {
    pid_t pid = pids[size_t(r)];
    if (pid < 0) continue;
    int st = 0;
    pid_t got = 0;
    while ((got = ::waitpid(pid, &st, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
    if (got == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      out[size_t(r)].status = -1;
      out[size_t(r)].report += " [killed: still running after the test's limit]";
    } else {
      out[size_t(r)].status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      if (WIFSIGNALED(st)) out[size_t(r)].report += " [ended by signal " + std::to_string(WTERMSIG(st)) + "]";
    }
  }
  return out;
}

inline Env no_extra(int) { return {}; }

// ---- expectations evaluated inside a rank (no gtest there: failures go to the report) ----
struct Checker {
  std::string& report;
  int failures = 0;
  template <class T>
  void eq(const Tensor& t, const std::function<T(int64_t)>& want, const std::string& what) {
    const T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      if (!(p[i] == want(i))) {
        report += what + ": element " + std::to_string(i) + " is " + std::to_string(double(p[i])) + ", expected " +
                  std::to_string(double(want(i))) + "\n";
        ++failures;
        return;
      }
    }
  }
  void raw_eq(const void* a, const void* b, size_t n, const std::string& what) {
    if (std::memcmp(a, b, n) != 0) {
      report += what + ": bytes differ\n";
      ++failures;
    }
  }
  void truth(bool c, const std::string& what) {
    if (!c) {
      report += what + "\n";
      ++failures;
    }
  }
};

template <class T>
inline Tensor filled(int64_t n, DType dt, const std::function<T(int64_t)>& f) {
  Tensor t = Tensor::empty({n}, dt);
  T* p = t.data<T>();
  for (int64_t i = 0; i < n; ++i) p[i] = f(i);
  return t;
}

}  // namespace zt::dist::test
