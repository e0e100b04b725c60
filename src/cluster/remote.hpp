// Running commands on the hosts of a hostfile for the cluster tools: child processes (mostly ssh) started in parallel
// with their output captured and a deadline, one kept running while others act, and the ssh command lines they use.
#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "launch/env.hpp"
#include "launch/net.hpp"
#include "launch/process.hpp"

namespace zt::cluster {

struct ProcSpec {
  ProcSpec() = default;
  ProcSpec(std::vector<std::string> args, std::string input = {}) : argv(std::move(args)), stdin_data(std::move(input)) {}
  std::vector<std::string> argv;  // argv[0] looked up in PATH
  std::string stdin_data;         // written to its stdin, which is then closed (unless keep_stdin_open)
  bool keep_stdin_open = false;   // RunningProc: stdin stays open until close_stdin() (a remote listener's lifeline)
  bool inherit_stderr = false;    // stderr goes to ours instead of being captured (interactive ssh)
  launch::EnvMap env_set;         // variables set (or replaced) in the environment it inherits from us
  std::string cwd;                // "" = ours
};

struct ProcResult {
  int status = -1;        // raw wait status; -1 when it could not start
  bool timed_out = false; // killed at the deadline
  std::string out, err;   // everything it wrote (err empty with inherit_stderr)
  double seconds = 0;     // from start to exit
  std::string start_error;  // why it could not start

  bool ok() const { return status == 0 && !timed_out && start_error.empty(); }
  int exit_code() const;  // 0..255, 128+N for a signal, -1 when it did not start
  // What went wrong: zerotune's "...: error: ..." line when there is one, else the last non-empty line of stderr
  // (what ssh says), else of stdout, else how it ended.
  std::string last_error_line() const;
};

// One child with its stdout/stderr read into memory as it runs; the destructor kills its process group and reaps it.
class RunningProc {
 public:
  explicit RunningProc(const ProcSpec& spec);  // throws zt::Error when the program cannot be started
  ~RunningProc() = default;
  RunningProc(const RunningProc&) = delete;
  RunningProc& operator=(const RunningProc&) = delete;

  // Reads what is available and reaps the child when it ended; true while it runs or its pipes are open.
  bool pump(int timeout_ms);
  // Waits until `text` appears on stdout (true), the process ends, or the deadline passes (false).
  bool wait_for_output(const std::string& text, std::chrono::steady_clock::time_point deadline);
  void close_stdin();
  // Waits for the end until `deadline`, then kills it (timed_out); returns the result.
  ProcResult finish(std::chrono::steady_clock::time_point deadline);
  const std::string& out() const { return result_.out; }

 private:
  void read_fd(launch::Fd& fd, std::string& into);
  launch::Child child_;
  launch::Fd in_, out_, err_;
  ProcResult result_;
  std::chrono::steady_clock::time_point start_;
  bool exited_ = false;
};

// Runs every command at once and waits for all, killing those still running after `timeout_ms`. A command that
// cannot start gets start_error instead of throwing.
std::vector<ProcResult> run_parallel(const std::vector<ProcSpec>& procs, int timeout_ms);

// How the tools reach the nodes with ssh.
struct SshOptions {
  std::vector<std::string> extra_args;  // --launcher_args / --ssh_args, split like a shell
  int port = -1;                        // -1: ssh's default (or the user's ssh config)
  int connect_timeout_s = 10;
  bool batch = true;                    // BatchMode=yes: never a password prompt
  std::string strict_host_keys;         // "" (ssh's/the user's setting), "yes" or "accept-new"; never "no"
  std::string identity;                 // -i KEY (added to the agent's and the default keys)
};

// ssh [options] -- host remote_command (remote_command is one /bin/sh command line).
std::vector<std::string> ssh_argv(const SshOptions& o, const std::string& host, const std::string& remote_command);

// "root@node1: Permission denied (publickey)." -> "Permission denied (publickey)"; "ssh: connect to host x port 22:
// No route to host" -> "No route to host": the reason of an ssh error line, short enough for a table cell.
std::string short_reason(const std::string& error_line);

}  // namespace zt::cluster
