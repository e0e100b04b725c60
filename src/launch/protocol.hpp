// The launcher <-> agent control protocol: length-prefixed JSON frames over TCP, a mutual HMAC-SHA256
// challenge-response on the job secret, and heartbeats. docs/launch.md describes the messages.
#pragma once
#include <chrono>
#include <optional>
#include <string>

#include "core/json.hpp"
#include "launch/net.hpp"

namespace zt::launch {

constexpr int kHeartbeatMs = 1000;      // each side sends a ping this often
constexpr int kHeartbeatLossMs = 3000;  // and gives the peer up after this long without a frame
constexpr int kHandshakeMs = 5000;      // a connection must authenticate within this time

// HMAC-SHA256(key, data), raw 32 bytes.
std::string hmac_sha256(const std::string& key, const std::string& data);
// n random bytes (getrandom), as hex.
std::string random_hex(size_t n);
bool constant_time_equal(const std::string& a, const std::string& b);

// MACs of the handshake: the coordinator proves itself over (agent nonce, coordinator nonce), the agent over
// (coordinator nonce, agent nonce, node identity). `secret` is the raw key (the decoded job secret).
std::string coordinator_mac(const std::string& secret, const std::string& agent_nonce, const std::string& coord_nonce);
std::string agent_mac(const std::string& secret, const std::string& coord_nonce, const std::string& agent_nonce,
                      const std::string& identity);

// One framed, non-blocking connection. Frames are a 4-byte big-endian length and a JSON object with a "type".
class Conn {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Conn(Fd fd, size_t max_frame = 64 * 1024);
  int fd() const { return fd_.get(); }
  bool open() const { return bool(fd_); }
  // Queues a message (sent by flush()).
  void send(const Json& msg);
  // poll() events this connection waits for.
  short events() const;
  // Handles poll results: reads what arrived and writes what is queued. False once the connection is closed
  // or failed (`error()` says why).
  bool on_poll(short revents);
  // The next complete message, if any. A malformed frame closes the connection.
  std::optional<Json> next();
  // Writes what is queued, waiting up to timeout_ms (for the last words before closing).
  void flush_blocking(int timeout_ms);
  void close(const std::string& why);
  void set_max_frame(size_t n) { max_frame_ = n; }
  const std::string& error() const { return error_; }
  // Milliseconds since a frame last arrived / was last queued.
  long idle_in_ms() const;
  long idle_out_ms() const;

 private:
  bool flush();
  Fd fd_;
  std::string in_, out_, error_;
  size_t max_frame_;
  Clock::time_point last_in_, last_out_;
};

}  // namespace zt::launch
