// The local supervisor: starts this node's ranks (one process group each), relays their output with a
// `[rank N] ` prefix or into per-rank log files, and stops them all when one ends badly or when asked.
#pragma once
#include <poll.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "launch/process.hpp"

namespace zt::launch {

struct RankSpec {
  int rank = 0;        // global
  int local_rank = 0;
  std::vector<std::string> argv;
  std::vector<std::string> env;  // complete environment, KEY=VALUE
  std::vector<int> cpus;         // affinity; empty = inherit
};

struct SupervisorOptions {
  std::string host;               // this node's name, for messages
  std::vector<RankSpec> ranks;
  std::string cwd;                // "" = inherit
  std::string log_dir;            // --enable_each_rank_log: output to <dir>/<time>_rank<N>.log instead of relaying
  int grace_ms = 3000;            // SIGTERM -> SIGKILL
  int out_fd = 1, err_fd = 2;     // where relayed stdout/stderr lines go
};

// How one rank ended.
struct RankEnd {
  int rank = 0, local_rank = 0;
  int status = 0;          // wait status
  bool expected = false;   // it ended after the job was being stopped
  bool ok() const;         // exited with code 0
  std::string how() const;  // "exited with code 3" / "was killed by SIGKILL"
};

class Supervisor {
 public:
  explicit Supervisor(SupervisorOptions o);
  ~Supervisor();  // kills and reaps whatever still runs
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Spawns every rank. Throws (after killing the ranks already started) when one cannot be started.
  void start();

  // Event-loop integration: add the output pipes to a poll set, then hand the poll results back.
  void add_pollfds(std::vector<pollfd>& fds) const;
  void on_poll(const std::vector<pollfd>& fds);
  // Reaps ended ranks (call on SIGCHLD and on every loop turn); the first bad end stops the others.
  void reap();
  // Escalates to SIGKILL once the grace period is over; returns the ms until the next deadline (-1 = none).
  int tick();

  // Sends `sig` to every rank's process group and SIGKILLs what is left after the grace period.
  void stop(int sig);
  // SIGKILL to everything now.
  void kill_all();

  bool stopping() const { return stopping_; }
  // Every rank reaped and every output pipe closed (or given up on after the ranks were gone).
  bool finished() const;
  // The first rank that ended badly while the job was not being stopped.
  const std::optional<RankEnd>& first_failure() const { return first_failure_; }
  // Rank ends not yet taken (for reporting them to a launcher).
  std::vector<RankEnd> take_ended();
  int running() const;
  const std::string& host() const { return o_.host; }
  // The log file of each rank with --enable_each_rank_log.
  const std::vector<std::string>& log_files() const { return log_files_; }

 private:
  struct Slot {
    const RankSpec* spec = nullptr;
    Child child;
    Fd out, err;
    std::optional<LineRelay> out_relay, err_relay;
    bool ended = false;
  };
  void drain(Slot& s, Fd& fd, std::optional<LineRelay>& relay);
  void close_pipes_after_exit();

  SupervisorOptions o_;
  std::vector<Slot> slots_;
  std::vector<std::string> log_files_;
  std::optional<RankEnd> first_failure_;
  std::vector<RankEnd> ended_;
  bool stopping_ = false;
  std::optional<std::chrono::steady_clock::time_point> kill_at_, pipes_deadline_;
};

}  // namespace zt::launch
