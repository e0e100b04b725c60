// Spawning and owning child processes, signalfd, and line relays.
#include "launch/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace zt::launch {

SignalWatch::SignalWatch(std::vector<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  ::pthread_sigmask(SIG_BLOCK, &set, &old_);
  fd_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  check(bool(fd_), std::string("signalfd failed: ") + std::strerror(errno));
}

SignalWatch::~SignalWatch() {
  fd_.reset();
  ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

std::vector<int> SignalWatch::take() {
  std::vector<int> out;
  signalfd_siginfo si;
  while (::read(fd_.get(), &si, sizeof si) == ssize_t(sizeof si)) out.push_back(int(si.ssi_signo));
  return out;
}

std::string find_executable(const std::string& name, const std::vector<std::string>& env) {
  auto ok = [](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) return ok(name) ? name : "";
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  size_t start = 0;
  while (start <= path.size()) {
    size_t colon = path.find(':', start);
    std::string dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    start = colon == std::string::npos ? path.size() + 1 : colon + 1;
    std::string p = (dir.empty() ? "." : dir) + "/" + name;
    if (ok(p)) return p;
  }
  return "";
}

Child::Child(Child&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), group_(o.group_), reaped_(o.reaped_), status_(o.status_) {}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    this->~Child();
    pid_ = std::exchange(o.pid_, -1);
    group_ = o.group_;
    reaped_ = o.reaped_;
    status_ = o.status_;
  }
  return *this;
}

Child::~Child() {
  if (pid_ > 0 && !reaped_) {
    signal(SIGKILL);
    wait();
  }
  pid_ = -1;
}

Child Child::spawn(const SpawnOptions& o) {
  check(!o.argv.empty(), "internal: spawn without a program");
  std::string exe = find_executable(o.argv[0], o.env);
  check(!exe.empty(), "cannot run '" + o.argv[0] + "': not found" +
                          (o.argv[0].find('/') == std::string::npos ? " in PATH" : " or not executable"),
        "check the command after `--`, or give its full path");
  // Everything the child needs is prepared before fork: after it only async-signal-safe calls are made.
  std::vector<char*> argv, envp;
  for (auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : o.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  for (int c : o.cpus) CPU_SET(c, &cpus);
  int err_pipe[2];
  check(::pipe2(err_pipe, O_CLOEXEC) == 0, std::string("pipe failed: ") + std::strerror(errno));
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  check(pid >= 0, std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    auto die = [&](int stage) {
      int e[2] = {stage, errno};
      (void)!::write(err_pipe[1], e, sizeof e);
      ::_exit(127);
    };
    if (o.new_process_group && ::setpgid(0, 0) != 0) die(1);
    if (o.death_signal && (::prctl(PR_SET_PDEATHSIG, o.death_signal) != 0 || ::getppid() != parent)) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s = 1; s < NSIG; ++s)
      if (s != SIGKILL && s != SIGSTOP) ::signal(s, SIG_DFL);
    int in = o.stdin_fd >= 0 ? o.stdin_fd : ::open("/dev/null", O_RDONLY);
    if (in < 0 || ::dup2(in, 0) < 0) die(2);
    if (o.stdout_fd >= 0 && ::dup2(o.stdout_fd, 1) < 0) die(2);
    if (o.stderr_fd >= 0 && ::dup2(o.stderr_fd, 2) < 0) die(2);
    if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) die(3);
    if (!o.cpus.empty() && ::sched_setaffinity(0, sizeof cpus, &cpus) != 0) die(4);
    ::execve(exe.c_str(), argv.data(), envp.data());
    die(5);
  }
  err_w.reset();
  Child c;
  c.pid_ = pid;
  c.group_ = o.new_process_group;
  if (o.new_process_group) ::setpgid(pid, pid);  // also here, so signals right after spawn reach the group
  int e[2] = {0, 0};
  ssize_t n;
  do n = ::read(err_r.get(), e, sizeof e);
  while (n < 0 && errno == EINTR);
  if (n == ssize_t(sizeof e)) {
    c.wait();
    static const char* stage[] = {"", "setpgid", "redirecting its input/output", "chdir", "setting its CPU affinity",
                                  "exec"};
    std::string what = e[0] == 3 ? "chdir to " + o.cwd : stage[e[0] >= 0 && e[0] <= 5 ? e[0] : 5];
    fail("cannot run '" + o.argv[0] + "' (" + what + "): " + std::strerror(e[1]),
         e[1] == EACCES ? "make it executable (chmod +x)" : "");
  }
  return c;
}

bool Child::poll_exit() {
  if (pid_ <= 0) return true;
  if (reaped_) return true;
  int st = 0;
  pid_t r;
  do r = ::waitpid(pid_, &st, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    status_ = r == pid_ ? st : 0;
    reaped_ = true;
  }
  return reaped_;
}

void Child::wait() {
  if (pid_ <= 0 || reaped_) return;
  int st = 0;
  pid_t r;
  do r = ::waitpid(pid_, &st, 0);
  while (r < 0 && errno == EINTR);
  status_ = r == pid_ ? st : 0;
  reaped_ = true;
}

bool Child::signal(int sig) const {
  if (pid_ <= 0) return false;
  // The group outlives its leader (children of the leader keep it), so signal the group even after the reap.
  if (group_ && ::kill(-pid_, sig) == 0) return true;
  if (reaped_) return false;
  return ::kill(pid_, sig) == 0;
}

std::string signal_name(int sig) {
  if (const char* a = ::sigabbrev_np(sig)) return std::string("SIG") + a;
  return "signal " + std::to_string(sig);
}

std::string describe_wait_status(int st) {
  if (WIFEXITED(st)) return "exited with code " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st))
    return "was killed by " + signal_name(WTERMSIG(st)) + (WCOREDUMP(st) ? " (core dumped)" : "");
  return "ended with wait status " + std::to_string(st);
}

int exit_code_of(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 1;
}

bool write_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n > 0) {
      off += size_t(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 1000);
    } else {
      return false;
    }
  }
  return true;
}

void LineRelay::emit(std::string& out, const std::string& line) {
  out += prefix_ + line + "\n";
  // Indented lines continue a message (zerotune's "  hint:" and "  at" lines): remember the line they belong to.
  if (!line.empty() && line[0] != ' ' && line[0] != '\t' && line.find_first_not_of(" \t\r") != std::string::npos)
    last_ = line;
}

void LineRelay::feed(const char* data, size_t n) {
  constexpr size_t kMaxLine = 64 * 1024;
  buf_.append(data, n);
  std::string out;
  size_t start = 0;
  for (;;) {
    size_t nl = buf_.find('\n', start);
    if (nl == std::string::npos) {
      if (buf_.size() - start < kMaxLine) break;
      emit(out, buf_.substr(start, kMaxLine));
      start += kMaxLine;
      continue;
    }
    emit(out, buf_.substr(start, nl - start));
    start = nl + 1;
  }
  buf_.erase(0, start);
  if (!out.empty() && out_ >= 0) write_all(out_, out);
}

void LineRelay::finish() {
  std::string out;
  if (!buf_.empty()) emit(out, buf_);
  buf_.clear();
  if (!out.empty() && out_ >= 0) write_all(out_, out);
}

}  // namespace zt::launch
