// Listener and client of the master-port check: plain TCP with a one-line greeting each way, so a connection that
// reaches some other program on the port (or a proxy that accepts everything) is not taken for success.
#include "cluster/port_probe.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "core/error.hpp"
#include "launch/net.hpp"

namespace zt::cluster {

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kHello = "zt-port-probe ";
constexpr const char* kAnswer = "zt-port-probe-ok\n";

long ms_until(Clock::time_point t) {
  return long(std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count());
}

// Reads one '\n'-terminated line (at most 256 bytes) within the deadline; "" on timeout, error or close.
std::string read_line(int fd, Clock::time_point deadline) {
  std::string line;
  while (line.size() < 256) {
    pollfd p{fd, POLLIN, 0};
    long left = ms_until(deadline);
    if (left <= 0 || ::poll(&p, 1, int(left)) <= 0) return "";
    char c;
    ssize_t n = ::recv(fd, &c, 1, 0);
    if (n <= 0) return "";
    if (c == '\n') return line;
    line += c;
  }
  return line;
}

struct Peer {
  launch::Fd fd;
  std::string addr;
  std::string buf;
  Clock::time_point deadline;
};

}  // namespace

void port_probe_listen(int port, int timeout_s, std::ostream& out) {
  int bound = 0;
  launch::Fd listener = launch::listen_tcp(port, bound);
  out << "ZT-LISTENING " << bound << std::endl;
  auto end = Clock::now() + std::chrono::seconds(timeout_s);
  std::vector<Peer> peers;
  bool stdin_open = true;
  while (ms_until(end) > 0) {
    std::vector<pollfd> fds = {{listener.get(), POLLIN, 0}};
    if (stdin_open) fds.push_back({STDIN_FILENO, POLLIN, 0});
    for (auto& p : peers) fds.push_back({p.fd.get(), POLLIN, 0});
    ::poll(fds.data(), fds.size(), int(std::min(ms_until(end), 200L)));
    if (fds[0].revents & POLLIN) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      int c = ::accept4(listener.get(), reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (c >= 0) {
        launch::SockAddr a;
        a.ss = ss;
        a.len = len;
        peers.push_back({launch::Fd(c), a.ip(), "", Clock::now() + std::chrono::seconds(5)});
      }
    }
    if (stdin_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buf[256];
      ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n <= 0) break;  // the driver closed our session: done
    }
    for (size_t i = 0; i < peers.size();) {
      Peer& p = peers[i];
      char buf[256];
      ssize_t n = ::recv(p.fd.get(), buf, sizeof buf, 0);
      if (n > 0) p.buf.append(buf, size_t(n));
      bool closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
      auto nl = p.buf.find('\n');
      if (nl != std::string::npos) {
        std::string line = p.buf.substr(0, nl);
        if (line.rfind(kHello, 0) == 0) {
          (void)::send(p.fd.get(), kAnswer, std::strlen(kAnswer), MSG_NOSIGNAL);
          out << "ZT-ACCEPTED " << p.addr << " " << line.substr(std::strlen(kHello)) << std::endl;
        }
        // The client closes first (its side keeps TIME_WAIT, so the port is free for the store right after).
        closed = true;
        (void)read_line(p.fd.get(), Clock::now() + std::chrono::seconds(2));
      }
      if (closed || Clock::now() > p.deadline || p.buf.size() > 1024) {
        peers.erase(peers.begin() + long(i));
        continue;
      }
      ++i;
    }
  }
}

std::string port_probe_connect(const std::string& host, int port, int timeout_ms, double& ms) {
  auto t0 = Clock::now();
  std::string err;
  launch::Fd s = launch::connect_tcp(host, port, timeout_ms, err);
  if (!s) return "cannot connect to " + host + ":" + std::to_string(port) + ": " + err;
  char me[256] = {0};
  gethostname(me, sizeof me - 1);
  std::string hello = std::string(kHello) + me + "\n";
  if (::send(s.get(), hello.data(), hello.size(), MSG_NOSIGNAL) != ssize_t(hello.size()))
    return "connected to " + host + ":" + std::to_string(port) + " but could not send: " + std::strerror(errno);
  std::string answer = read_line(s.get(), t0 + std::chrono::milliseconds(timeout_ms));
  ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (answer + "\n" != kAnswer)
    return "connected to " + host + ":" + std::to_string(port) + " but the doctor's listener did not answer: another "
           "program (or a proxy) holds the port";
  return "";
}

}  // namespace zt::cluster
