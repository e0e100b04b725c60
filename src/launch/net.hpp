// Networking for launches: owned file descriptors, host resolution, which local address and interface route to
// a peer (asked of the kernel with a connected UDP socket), and TCP listen/connect.
#pragma once
#include <sys/socket.h>

#include <optional>
#include <string>
#include <utility>

namespace zt::launch {

// An owned file descriptor (closed on destruction).
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset(int fd = -1);
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  std::string ip() const;  // numeric address, no port
  int port() const;
  bool is_loopback() const;
};

// The host part of a hostfile name: `user@host` -> `host`.
std::string host_part(const std::string& hostfile_name);
// Resolves a name or numeric address (IPv4 preferred); nullopt and `err` set on failure.
std::optional<SockAddr> resolve_host(const std::string& host, std::string& err);

// The source address and interface this host would use to reach `dest` (no packet is sent).
struct Route {
  std::string source;  // numeric address
  std::string ifname;  // "" when no interface holds `source`
};
std::optional<Route> route_to(const SockAddr& dest, std::string& err);
// The interface that holds address `ip` on this host, or "".
std::string interface_with_address(const std::string& ip);
// True when `a` is a loopback address or one assigned to an interface of this host.
bool is_local_address(const SockAddr& a);

// "ip:port", "[v6]:port".
std::string join_host_port(const std::string& ip, int port);
// Splits "host:port" / "[v6]:port"; false when malformed.
bool split_host_port(const std::string& s, std::string& host, int& port);

// A listening TCP socket on every address (IPv6 dual-stack when available), close-on-exec. port 0 = any.
Fd listen_tcp(int port, int& bound_port);
// Connects to host:port within timeout_ms; an invalid Fd and `err` set on failure.
Fd connect_tcp(const std::string& host, int port, int timeout_ms, std::string& err);

}  // namespace zt::launch
