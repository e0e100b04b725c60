// Child processes of the cluster tools (ssh, ssh-keyscan, zerotune launch) run in parallel with their output captured,
// and the ssh command lines: batch mode, timeouts, port, extra options and host-key policy in one place.
#include "cluster/remote.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "core/error.hpp"
#include "launch/env.hpp"

namespace zt::cluster {

using Clock = std::chrono::steady_clock;

namespace {

long ms_until(Clock::time_point t) {
  return long(std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count());
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '\t')) ++b;
  return s.substr(b);
}

std::string last_line_of(const std::string& text) {
  size_t end = text.size();
  while (end > 0) {
    size_t start = text.rfind('\n', end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    std::string line = trim(text.substr(start, end - start));
    if (!line.empty()) return line;
    if (start == 0) break;
    end = start - 1;
  }
  return "";
}

}  // namespace

int ProcResult::exit_code() const {
  if (!start_error.empty() || status < 0) return -1;
  return launch::exit_code_of(status);
}

std::string ProcResult::last_error_line() const {
  if (!start_error.empty()) return start_error;
  if (timed_out) return "timed out after " + std::to_string(int(seconds + 0.5)) + " s";
  // zerotune's own errors end with "  hint: ..." and "  at file:line" lines: the message is the "error:" line
  if (auto p = err.rfind(": error: "); p != std::string::npos) {
    size_t b = err.rfind('\n', p);
    b = b == std::string::npos ? 0 : b + 1;
    return trim(err.substr(b, err.find('\n', p) - b));
  }
  std::string l = last_line_of(err);
  if (l.empty()) l = last_line_of(out);
  return l.empty() ? launch::describe_wait_status(status) : l;
}

RunningProc::RunningProc(const ProcSpec& spec) : start_(Clock::now()) {
  int p[2];
  launch::Fd in_r, out_w, err_w;
  check(::pipe2(p, O_CLOEXEC) == 0, "pipe failed");
  in_r.reset(p[0]), in_.reset(p[1]);
  check(::pipe2(p, O_CLOEXEC) == 0, "pipe failed");
  out_.reset(p[0]), out_w.reset(p[1]);
  if (!spec.inherit_stderr) {
    check(::pipe2(p, O_CLOEXEC) == 0, "pipe failed");
    err_.reset(p[0]), err_w.reset(p[1]);
  }
  launch::SpawnOptions so;
  so.argv = spec.argv;
  launch::EnvMap env = launch::current_environment();
  for (auto& [k, v] : spec.env_set) env[k] = v;
  so.env = launch::env_strings(env);
  so.cwd = spec.cwd;
  so.stdin_fd = in_r.get();
  so.stdout_fd = out_w.get();
  so.stderr_fd = spec.inherit_stderr ? STDERR_FILENO : err_w.get();
  // A prompt (ssh asking for a password on /dev/tty) needs the terminal's foreground process group: keep ours.
  so.new_process_group = !spec.inherit_stderr;
  child_ = launch::Child::spawn(so);
  in_r.reset();
  if (!spec.stdin_data.empty()) launch::write_all(in_.get(), spec.stdin_data);
  if (!spec.keep_stdin_open) in_.reset();
  ::fcntl(out_.get(), F_SETFL, O_NONBLOCK);
  if (err_) ::fcntl(err_.get(), F_SETFL, O_NONBLOCK);
}

void RunningProc::read_fd(launch::Fd& fd, std::string& into) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      if (into.size() < (size_t(64) << 20)) into.append(buf, size_t(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    fd.reset();  // end of file or an error
    return;
  }
}

bool RunningProc::pump(int timeout_ms) {
  std::vector<pollfd> fds;
  if (out_) fds.push_back({out_.get(), POLLIN, 0});
  if (err_) fds.push_back({err_.get(), POLLIN, 0});
  if (!fds.empty()) ::poll(fds.data(), fds.size(), std::max(0, timeout_ms));
  else if (!exited_ && timeout_ms > 0) ::usleep(useconds_t(std::min(timeout_ms, 20)) * 1000);
  if (out_) read_fd(out_, result_.out);
  if (err_) read_fd(err_, result_.err);
  if (!exited_ && child_.poll_exit()) {
    exited_ = true;
    result_.status = child_.status();
    result_.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    if (out_) read_fd(out_, result_.out);  // what it wrote before exiting is in the pipes now
    if (err_) read_fd(err_, result_.err);
  }
  return !exited_;
}

bool RunningProc::wait_for_output(const std::string& text, Clock::time_point deadline) {
  while (result_.out.find(text) == std::string::npos) {
    if (ms_until(deadline) <= 0 || !pump(int(std::min(ms_until(deadline), 100L))))
      return result_.out.find(text) != std::string::npos;
  }
  return true;
}

void RunningProc::close_stdin() { in_.reset(); }

ProcResult RunningProc::finish(Clock::time_point deadline) {
  // The child's exit ends it: a grandchild that keeps the pipes open (a daemon it started) is not waited for.
  while (!exited_ && ms_until(deadline) > 0) pump(int(std::min(ms_until(deadline), 100L)));
  if (!exited_) {
    child_.signal(SIGKILL);
    child_.wait();
    exited_ = true;
    result_.timed_out = true;
    result_.status = child_.status();
    result_.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    pump(0);
  }
  out_.reset();
  err_.reset();
  in_.reset();
  return result_;
}

std::vector<ProcResult> run_parallel(const std::vector<ProcSpec>& procs, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<std::unique_ptr<RunningProc>> running(procs.size());
  std::vector<ProcResult> results(procs.size());
  for (size_t i = 0; i < procs.size(); ++i) {
    try {
      running[i] = std::make_unique<RunningProc>(procs[i]);
    } catch (const Error& e) {
      results[i].start_error = e.what();
    }
  }
  for (;;) {
    bool any = false;
    for (auto& r : running)
      if (r && r->pump(0)) any = true;
    if (!any || ms_until(deadline) <= 0) break;
    ::usleep(5000);  // every child's pipes were drained above; a 5 ms tick costs nothing measurable here
  }
  for (size_t i = 0; i < procs.size(); ++i)
    if (running[i]) results[i] = running[i]->finish(deadline);
  return results;
}

std::vector<std::string> ssh_argv(const SshOptions& o, const std::string& host, const std::string& remote_command) {
  check(o.strict_host_keys != "no" && o.strict_host_keys != "off",
        "internal: host-key checking is never turned off");
  std::vector<std::string> argv = {"ssh", "-o", std::string("BatchMode=") + (o.batch ? "yes" : "no"), "-o",
                                   "ConnectTimeout=" + std::to_string(o.connect_timeout_s)};
  if (!o.strict_host_keys.empty()) argv.insert(argv.end(), {"-o", "StrictHostKeyChecking=" + o.strict_host_keys});
  if (o.port > 0) argv.insert(argv.end(), {"-p", std::to_string(o.port)});
  if (!o.identity.empty()) argv.insert(argv.end(), {"-i", o.identity});
  for (auto& a : o.extra_args) argv.push_back(a);
  argv.insert(argv.end(), {"--", host, remote_command});
  return argv;
}

std::string short_reason(const std::string& line) {
  std::string s = trim(line);
  // the reason is what follows the last ": " (user@host: ..., ssh: connect to host h port 22: ...)
  if (auto p = s.rfind(": "); p != std::string::npos && p + 2 < s.size()) s = s.substr(p + 2);
  while (!s.empty() && s.back() == '.') s.pop_back();
  if (s.size() > 48) s = s.substr(0, 45) + "...";
  return s;
}

}  // namespace zt::cluster
