// TCP plumbing for the rendezvous store and the backends (see socket.hpp): every socket is close-on-exec,
// every blocking step is bounded by a deadline, and failures keep their kind for the caller's message.
#include "dist/socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "core/error.hpp"

namespace zt::dist {

namespace {

struct AddrInfoDeleter {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};
using AddrInfo = std::unique_ptr<addrinfo, AddrInfoDeleter>;

// Resolves host:port; returns nullptr and sets `err` (a gai_strerror text) on failure.
AddrInfo resolve(const std::string& host, int port, int socktype, int flags, std::string& err) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  hints.ai_flags = flags;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) {
    err = rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc);
    return nullptr;
  }
  return AddrInfo(res);
}

std::string sockaddr_ip(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
  return buf;
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return left > 1'000'000'000 ? 1'000'000'000 : int(left);
}

ConnectFailure classify(int err) {
  switch (err) {
    case ECONNREFUSED:
      return ConnectFailure::refused;
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case ENETDOWN:
    case EADDRNOTAVAIL:
      return ConnectFailure::unreachable;
    case ETIMEDOUT:
      return ConnectFailure::timed_out;
    default:
      return ConnectFailure::other;
  }
}

}  // namespace

void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

std::string host_port(const std::string& host, int port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Fd listen_tcp(const std::string& host, int port, int* bound_port) {
  const std::string where = host_port(host.empty() ? "0.0.0.0" : host, port);
  std::string err;
  AddrInfo ai = resolve(host.empty() ? "0.0.0.0" : host, port, SOCK_STREAM, AI_PASSIVE, err);
  if (!ai) fail("cannot resolve the address to listen on, " + where + ": " + err,
                "MASTER_ADDR must be a name or IP address of the host running rank 0");
  int last_errno = 0;
  for (addrinfo* a = ai.get(); a; a = a->ai_next) {
    Fd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol));
    if (!fd.valid()) {
      last_errno = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd.get(), 1024) != 0) {
      last_errno = errno;
      continue;
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
    if (bound_port) {
      *bound_port = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                             : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    }
    return fd;
  }
  if (last_errno == EADDRINUSE)
    fail("cannot listen on " + where + ": the port is already in use on host " + hostname(),
         "another job (or a rank of an earlier run that is still alive) holds it: pick another MASTER_PORT "
         "(--master_port) or end that process (`ss -ltnp | grep :" + std::to_string(port) + "` shows it)");
  if (last_errno == EADDRNOTAVAIL)
    fail("cannot listen on " + where + ": " + host + " is not an address of host " + hostname(),
         "MASTER_ADDR must be an address of the host that runs rank 0");
  if (last_errno == EACCES)
    fail("cannot listen on " + where + ": permission denied", "ports below 1024 need privileges: pick a MASTER_PORT above 1024");
  fail("cannot listen on " + where + ": " + std::strerror(last_errno));
}

ConnectAttempt try_connect(const std::string& host, int port, std::chrono::milliseconds timeout) {
  ConnectAttempt out;
  const auto deadline = Clock::now() + timeout;
  AddrInfo ai = resolve(host, port, SOCK_STREAM, 0, out.detail);
  if (!ai) {
    out.failure = ConnectFailure::resolve;
    return out;
  }
  for (addrinfo* a = ai.get(); a; a = a->ai_next) {
    Fd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol));
    if (!fd.valid()) {
      out.failure = ConnectFailure::other;
      out.detail = std::strerror(errno);
      continue;
    }
    int err = 0;
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd p{fd.get(), POLLOUT, 0};
        int rc;
        do rc = ::poll(&p, 1, remaining_ms(deadline));
        while (rc < 0 && errno == EINTR);
        if (rc == 0) {
          err = ETIMEDOUT;
        } else {
          socklen_t len = sizeof err;
          getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        }
      }
    }
    if (err != 0) {
      out.failure = classify(err);
      out.detail = std::strerror(err);
      continue;
    }
    int flags = fcntl(fd.get(), F_GETFL);
    fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
    int one = 1;
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd.get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    out.fd = std::move(fd);
    out.failure = ConnectFailure::none;
    out.detail.clear();
    return out;
  }
  return out;
}

bool write_all(int fd, const void* data, size_t n, Clock::time_point deadline, const std::string& what) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      p += w;
      n -= size_t(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) return false;
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) fail(what + ": send failed: " + std::strerror(errno));
    pollfd pf{fd, POLLOUT, 0};
    int rc = ::poll(&pf, 1, remaining_ms(deadline));
    if (rc == 0) fail(what + ": timed out sending");
    if (rc < 0 && errno != EINTR) fail(what + ": poll failed: " + std::strerror(errno));
  }
  return true;
}

bool read_exact(int fd, void* data, size_t n, Clock::time_point deadline, const std::string& what) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, MSG_DONTWAIT);
    if (r > 0) {
      p += r;
      n -= size_t(r);
      continue;
    }
    if (r == 0) return false;
    if (errno == EINTR) continue;
    if (errno == ECONNRESET || errno == EPIPE) return false;
    if (errno != EAGAIN && errno != EWOULDBLOCK) fail(what + ": receive failed: " + std::strerror(errno));
    pollfd pf{fd, POLLIN, 0};
    int rc = ::poll(&pf, 1, remaining_ms(deadline));
    if (rc == 0) fail(what + ": timed out waiting for an answer");
    if (rc < 0 && errno != EINTR) fail(what + ": poll failed: " + std::strerror(errno));
  }
  return true;
}

std::string local_address_towards(const std::string& host, int port) {
  std::string err;
  AddrInfo ai = resolve(host, port, SOCK_DGRAM, 0, err);
  if (!ai) fail("cannot resolve " + host + ": " + err, "check MASTER_ADDR (a host name or IP address of rank 0's host)");
  std::string last = "no address";
  for (addrinfo* a = ai.get(); a; a = a->ai_next) {
    Fd fd(::socket(a->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) continue;
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0) {
      last = std::strerror(errno);
      continue;
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) continue;
    return sockaddr_ip(reinterpret_cast<sockaddr*>(&ss));
  }
  fail("no route from host " + hostname() + " to " + host + " (" + last + ")",
       "check MASTER_ADDR and this host's network configuration (ip route get " + host + ")");
}

bool is_local_address(const std::string& host) {
  std::string err;
  AddrInfo ai = resolve(host, 0, SOCK_DGRAM, AI_PASSIVE, err);
  for (addrinfo* a = ai.get(); a; a = a->ai_next) {
    Fd fd(::socket(a->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (fd.valid() && ::bind(fd.get(), a->ai_addr, a->ai_addrlen) == 0) return true;
  }
  return false;
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) == 1) return (ntohl(a.s_addr) >> 24) == 127;
  return false;
}

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

}  // namespace zt::dist
