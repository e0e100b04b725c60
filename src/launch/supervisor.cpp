// Local rank supervision: spawn, relay output, reap, and stop everything on the first bad end.
#include "launch/supervisor.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "core/error.hpp"

namespace zt::launch {

using Clock = std::chrono::steady_clock;

bool RankEnd::ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
std::string RankEnd::how() const { return describe_wait_status(status); }

Supervisor::Supervisor(SupervisorOptions o) : o_(std::move(o)) {}

Supervisor::~Supervisor() {
  kill_all();
  for (auto& s : slots_) s.child.wait();
}

void Supervisor::start() {
  std::string stamp;
  if (!o_.log_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o_.log_dir, ec);
    check(!ec, "--enable_each_rank_log " + o_.log_dir + ": cannot create the directory: " + ec.message());
    char buf[32];
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::localtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);  // DeepSpeed's log name prefix
    stamp = buf;
  }
  slots_.reserve(o_.ranks.size());
  try {
    for (auto& r : o_.ranks) {
      Slot s;
      s.spec = &r;
      SpawnOptions so;
      so.argv = r.argv;
      so.env = r.env;
      so.cwd = o_.cwd;
      so.cpus = r.cpus;
      Fd out_w, err_w, log;
      if (!o_.log_dir.empty()) {
        std::string path = o_.log_dir + "/" + stamp + "_rank" + std::to_string(r.rank) + ".log";
        log.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        check(bool(log), "--enable_each_rank_log: cannot write " + path + ": " + std::strerror(errno));
        log_files_.push_back(path);
        so.stdout_fd = so.stderr_fd = log.get();
      } else {
        int p[2];
        check(::pipe2(p, O_CLOEXEC) == 0, std::string("pipe failed: ") + std::strerror(errno));
        s.out.reset(p[0]), out_w.reset(p[1]);
        check(::pipe2(p, O_CLOEXEC) == 0, std::string("pipe failed: ") + std::strerror(errno));
        s.err.reset(p[0]), err_w.reset(p[1]);
        ::fcntl(s.out.get(), F_SETFL, O_NONBLOCK);
        ::fcntl(s.err.get(), F_SETFL, O_NONBLOCK);
        std::string prefix = "[rank " + std::to_string(r.rank) + "] ";
        s.out_relay.emplace(prefix, o_.out_fd);
        s.err_relay.emplace(prefix, o_.err_fd);
        so.stdout_fd = out_w.get();
        so.stderr_fd = err_w.get();
      }
      s.child = Child::spawn(so);
      slots_.push_back(std::move(s));
    }
  } catch (...) {
    kill_all();
    for (auto& s : slots_) s.child.wait();
    slots_.clear();
    throw;
  }
}

void Supervisor::add_pollfds(std::vector<pollfd>& fds) const {
  for (auto& s : slots_) {
    if (s.out) fds.push_back({s.out.get(), POLLIN, 0});
    if (s.err) fds.push_back({s.err.get(), POLLIN, 0});
  }
}

void Supervisor::drain(Slot& s, Fd& fd, std::optional<LineRelay>& relay) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      relay->feed(buf, size_t(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    relay->finish();  // EOF or error: the rank (and everything it started) closed its end
    fd.reset();
    return;
  }
}

void Supervisor::on_poll(const std::vector<pollfd>& fds) {
  for (auto& p : fds) {
    if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
    for (auto& s : slots_) {
      if (s.out && s.out.get() == p.fd) drain(s, s.out, s.out_relay);
      else if (s.err && s.err.get() == p.fd) drain(s, s.err, s.err_relay);
    }
  }
}

void Supervisor::reap() {
  bool any = false;
  for (auto& s : slots_) {
    if (s.ended || !s.child.poll_exit()) continue;
    s.ended = any = true;
    RankEnd e{s.spec->rank, s.spec->local_rank, s.child.status(), stopping_};
    ended_.push_back(e);
    if (!e.ok() && !e.expected && !first_failure_) {
      first_failure_ = e;
      stop(SIGTERM);
    }
  }
  if (any && running() == 0) {
    // Whatever the ranks left behind in their process groups goes too; then give the pipes a moment to drain.
    for (auto& s : slots_) s.child.signal(SIGKILL);
    pipes_deadline_ = Clock::now() + std::chrono::milliseconds(2000);
    kill_at_.reset();
  }
}

int Supervisor::tick() {
  auto now = Clock::now();
  if (kill_at_ && now >= *kill_at_) {
    kill_all();
    kill_at_.reset();
  }
  if (pipes_deadline_ && now >= *pipes_deadline_) {
    close_pipes_after_exit();
    pipes_deadline_.reset();
  }
  std::optional<Clock::time_point> next;
  for (auto& d : {kill_at_, pipes_deadline_})
    if (d && (!next || *d < *next)) next = d;
  if (!next) return -1;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*next - now).count();
  return ms < 0 ? 0 : int(ms) + 1;
}

void Supervisor::close_pipes_after_exit() {
  for (auto& s : slots_) {
    if (s.out) drain(s, s.out, s.out_relay);
    if (s.out) s.out_relay->finish(), s.out.reset();
    if (s.err) drain(s, s.err, s.err_relay);
    if (s.err) s.err_relay->finish(), s.err.reset();
  }
}

void Supervisor::stop(int sig) {
  if (!stopping_) kill_at_ = Clock::now() + std::chrono::milliseconds(o_.grace_ms);
  stopping_ = true;
  for (auto& s : slots_)
    if (!s.ended) s.child.signal(sig);
}

void Supervisor::kill_all() {
  stopping_ = stopping_ || running() > 0;
  for (auto& s : slots_)
    if (!s.ended) s.child.signal(SIGKILL);
}

bool Supervisor::finished() const {
  for (auto& s : slots_)
    if (!s.ended || s.out || s.err) return false;
  return true;
}

std::vector<RankEnd> Supervisor::take_ended() { return std::exchange(ended_, {}); }

int Supervisor::running() const {
  int n = 0;
  for (auto& s : slots_) n += !s.ended;
  return n;
}

}  // namespace zt::launch
