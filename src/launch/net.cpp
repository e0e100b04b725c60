// Sockets and routing questions for the launcher and its agents.
#include "launch/net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace zt::launch {

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) reset(o.release());
  return *this;
}

void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

std::string SockAddr::ip() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      ::inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], buf, sizeof buf);
    } else {
      ::inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    }
  }
  return buf;
}

int SockAddr::port() const {
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

bool SockAddr::is_loopback() const {
  if (ss.ss_family == AF_INET)
    return (ntohl(reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr.s_addr) >> 24) == 127;
  if (ss.ss_family == AF_INET6) {
    auto* a = &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
  }
  return false;
}

std::string host_part(const std::string& name) {
  size_t at = name.rfind('@');
  return at == std::string::npos ? name : name.substr(at + 1);
}

std::optional<SockAddr> resolve_host(const std::string& host, std::string& err) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    err = ::gai_strerror(rc);
    return std::nullopt;
  }
  std::optional<SockAddr> best;
  for (addrinfo* p = res; p; p = p->ai_next) {
    if (p->ai_family != AF_INET && p->ai_family != AF_INET6) continue;
    if (best && !(best->ss.ss_family == AF_INET6 && p->ai_family == AF_INET)) continue;
    SockAddr a;
    std::memcpy(&a.ss, p->ai_addr, p->ai_addrlen);
    a.len = p->ai_addrlen;
    best = a;
  }
  ::freeaddrinfo(res);
  if (!best) err = "no IPv4 or IPv6 address";
  return best;
}

std::string interface_with_address(const std::string& ip) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "";
  std::string name;
  for (ifaddrs* p = list; p; p = p->ifa_next) {
    if (!p->ifa_addr || (p->ifa_addr->sa_family != AF_INET && p->ifa_addr->sa_family != AF_INET6)) continue;
    SockAddr a;
    a.len = p->ifa_addr->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    std::memcpy(&a.ss, p->ifa_addr, a.len);
    if (a.ip() == ip) {
      name = p->ifa_name;
      break;
    }
  }
  ::freeifaddrs(list);
  return name;
}

bool is_local_address(const SockAddr& a) { return a.is_loopback() || !interface_with_address(a.ip()).empty(); }

std::optional<Route> route_to(const SockAddr& dest, std::string& err) {
  SockAddr d = dest;
  if (d.ss.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&d.ss)->sin_port = htons(9);
  else reinterpret_cast<sockaddr_in6*>(&d.ss)->sin6_port = htons(9);
  Fd s(::socket(d.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s || ::connect(s.get(), reinterpret_cast<sockaddr*>(&d.ss), d.len) != 0) {
    err = std::strerror(errno);
    return std::nullopt;
  }
  SockAddr local;
  local.len = sizeof local.ss;
  if (::getsockname(s.get(), reinterpret_cast<sockaddr*>(&local.ss), &local.len) != 0) {
    err = std::strerror(errno);
    return std::nullopt;
  }
  Route r{local.ip(), interface_with_address(local.ip())};
  return r;
}

std::string join_host_port(const std::string& ip, int port) {
  if (ip.find(':') != std::string::npos) return "[" + ip + "]:" + std::to_string(port);
  return ip + ":" + std::to_string(port);
}

bool split_host_port(const std::string& s, std::string& host, int& port) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= s.size()) return false;
  host = s.substr(0, colon);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string p = s.substr(colon + 1);
  if (p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  port = std::stoi(p);
  return port > 0 && port < 65536 && !host.empty();
}

Fd listen_tcp(int port, int& bound_port) {
  Fd s(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1, zero = 0;
  if (s) {
    ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_any;
    a.sin6_port = htons(uint16_t(port));
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) s.reset();
  }
  if (!s) {  // no IPv6 in this kernel or namespace
    s.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    check(bool(s), std::string("cannot create a TCP socket: ") + std::strerror(errno));
    ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    a.sin_port = htons(uint16_t(port));
    check(::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0,
          "cannot listen on TCP port " + std::to_string(port) + ": " + std::strerror(errno),
          port ? "another process uses the port; pick another one" : "");
  }
  check(::listen(s.get(), 128) == 0, std::string("listen failed: ") + std::strerror(errno));
  SockAddr local;
  local.len = sizeof local.ss;
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&local.ss), &local.len);
  bound_port = local.port();
  return s;
}

Fd connect_tcp(const std::string& host, int port, int timeout_ms, std::string& err) {
  auto addr = resolve_host(host, err);
  if (!addr) return Fd();
  if (addr->ss.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&addr->ss)->sin_port = htons(uint16_t(port));
  else reinterpret_cast<sockaddr_in6*>(&addr->ss)->sin6_port = htons(uint16_t(port));
  Fd s(::socket(addr->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s) {
    err = std::strerror(errno);
    return Fd();
  }
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr->ss), addr->len) != 0) {
    if (errno != EINPROGRESS) {
      err = std::strerror(errno);
      return Fd();
    }
    pollfd p{s.get(), POLLOUT, 0};
    int rc;
    do rc = ::poll(&p, 1, timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc == 0) {
      err = "timed out";
      return Fd();
    }
    int soerr = 0;
    socklen_t l = sizeof soerr;
    ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &soerr, &l);
    if (soerr) {
      err = std::strerror(soerr);
      return Fd();
    }
  }
  int one = 1;
  ::setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return s;
}

}  // namespace zt::launch
