// TCP plumbing for the rendezvous store and the backends: an owning fd, listening and connecting sockets
// (with the failure kind kept for error messages), deadline-bounded reads/writes, local address discovery.
#pragma once
#include <chrono>
#include <cstddef>
#include <string>

namespace zt::dist {

using Clock = std::chrono::steady_clock;

// Owns one file descriptor; closes it on destruction. Move-only.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// "host:port", with IPv6 literals bracketed ("[::1]:29500").
std::string host_port(const std::string& host, int port);

// A listening TCP socket on host:port (host "" or "0.0.0.0" = every IPv4 interface, "::" = every interface;
// port 0 = an ephemeral port). Non-blocking, close-on-exec, SO_REUSEADDR. Fails with a zt::Error naming the
// address (in use, not an address of this host, ...). `bound_port` receives the actual port.
Fd listen_tcp(const std::string& host, int port, int* bound_port);

enum class ConnectFailure { none, resolve, refused, unreachable, timed_out, other };

struct ConnectAttempt {
  Fd fd;                                         // valid on success (blocking mode, TCP_NODELAY, close-on-exec)
  ConnectFailure failure = ConnectFailure::none;
  std::string detail;                            // strerror / gai_strerror text of the failure
};

// One attempt to connect to host:port within `timeout` (each resolved address is tried in turn).
ConnectAttempt try_connect(const std::string& host, int port, std::chrono::milliseconds timeout);

// Writes all of [data, data+n) before `deadline`. Returns false if the peer closed the connection;
// throws zt::Error (naming `what`) on a timeout or another socket error.
bool write_all(int fd, const void* data, size_t n, Clock::time_point deadline, const std::string& what);
// Reads exactly n bytes before `deadline`. Returns false on end-of-stream (peer closed or reset);
// throws zt::Error on a timeout or another socket error.
bool read_exact(int fd, void* data, size_t n, Clock::time_point deadline, const std::string& what);

// The local IP address this host would use to reach host:port (a connected UDP socket; no packet is sent).
// Fails with a zt::Error naming the host when it cannot be resolved or routed to.
std::string local_address_towards(const std::string& host, int port);
// True if `host` resolves to an address of one of this machine's interfaces (it can be bound to).
bool is_local_address(const std::string& host);
// True for "localhost", 127.0.0.0/8 and ::1.
bool is_loopback_host(const std::string& host);
// This machine's host name (for messages).
std::string hostname();

}  // namespace zt::dist
