// Child processes for launches: spawning (own process group, death signal, affinity, exec errors reported to
// the parent), an owned child that is killed and reaped on destruction, signals as a pollable fd, line relays.
#pragma once
#include <sys/types.h>

#include <csignal>
#include <string>
#include <vector>

#include "launch/net.hpp"

namespace zt::launch {

// Blocks `signals` in this thread and delivers them through a signalfd; restores the mask on destruction.
// Children spawned with spawn() start with an empty mask and default dispositions.
class SignalWatch {
 public:
  explicit SignalWatch(std::vector<int> signals);
  ~SignalWatch();
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;
  int fd() const { return fd_.get(); }
  // The pending signals (drains the fd); empty when none.
  std::vector<int> take();

 private:
  Fd fd_;
  sigset_t old_{};
};

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in the PATH of `env` when it has no '/'
  std::vector<std::string> env;   // KEY=VALUE
  std::string cwd;                // "" = inherit
  int stdin_fd = -1;              // -1 = /dev/null
  int stdout_fd = -1;             // -1 = inherit
  int stderr_fd = -1;             // -1 = inherit
  bool new_process_group = true;  // the child leads its own group (signals reach its whole tree)
  int death_signal = SIGKILL;     // sent to the child when the spawning thread dies (0 = none)
  std::vector<int> cpus;          // CPU affinity; empty = inherit
};

// Finds `name` in the PATH of `env` (or checks it when it contains '/'); "" when not found.
std::string find_executable(const std::string& name, const std::vector<std::string>& env);

// An owned child process: the destructor SIGKILLs its process group (or itself) if still running and reaps it.
class Child {
 public:
  Child() = default;
  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  // Starts the process; throws zt::Error naming the program when it cannot be found or executed.
  static Child spawn(const SpawnOptions& o);

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !reaped_; }
  // Non-blocking reap; true once the child has ended (status() is then valid).
  bool poll_exit();
  // Blocking reap.
  void wait();
  int status() const { return status_; }  // raw wait status
  // Sends sig to the child's process group (or the child when it has none); false when it is gone.
  bool signal(int sig) const;

 private:
  pid_t pid_ = -1;
  bool group_ = false;
  bool reaped_ = false;
  int status_ = 0;
};

// "exited with code 3", "was killed by SIGKILL".
std::string describe_wait_status(int status);
// The shell-style exit code for a wait status: the code, or 128 + signal.
int exit_code_of(int status);
// "SIGTERM" for 15.
std::string signal_name(int sig);

// Writes all of `data` to fd (retrying on EINTR/EAGAIN); false on a closed or failing fd.
bool write_all(int fd, const std::string& data);

// Splits a byte stream into lines and writes each as `prefix + line + "\n"`; a line longer than 64 KiB is cut.
class LineRelay {
 public:
  LineRelay(std::string prefix, int out_fd) : prefix_(std::move(prefix)), out_(out_fd) {}
  void feed(const char* data, size_t n);
  void finish();  // flushes a partial last line (with a newline)
  // The last non-empty, non-indented line seen (without prefix), for error messages about a runner that failed.
  const std::string& last_line() const { return last_; }

 private:
  void emit(std::string& out, const std::string& line);
  std::string prefix_, buf_, last_;
  int out_;
};

}  // namespace zt::launch
