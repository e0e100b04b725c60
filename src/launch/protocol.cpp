// Control-connection framing and authentication for launches.
#include "launch/protocol.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace zt::launch {

std::string hmac_sha256(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  check(::HMAC(EVP_sha256(), key.data(), int(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
               data.size(), out, &len) != nullptr,
        "HMAC-SHA256 failed (OpenSSL)");
  return std::string(reinterpret_cast<char*>(out), len);
}

static std::string to_hex(const std::string& raw) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned char c : raw) s += hex[c >> 4], s += hex[c & 15];
  return s;
}

std::string random_hex(size_t n) {
  std::string buf(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::getrandom(buf.data() + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    check(r > 0, std::string("getrandom failed: ") + std::strerror(errno));
    got += size_t(r);
  }
  return to_hex(buf);
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

std::string coordinator_mac(const std::string& secret, const std::string& agent_nonce, const std::string& coord_nonce) {
  return to_hex(hmac_sha256(secret, "zerotune-launch-coordinator\n" + agent_nonce + "\n" + coord_nonce));
}

std::string agent_mac(const std::string& secret, const std::string& coord_nonce, const std::string& agent_nonce,
                      const std::string& identity) {
  return to_hex(hmac_sha256(secret, "zerotune-launch-agent\n" + coord_nonce + "\n" + agent_nonce + "\n" + identity));
}

Conn::Conn(Fd fd, size_t max_frame) : fd_(std::move(fd)), max_frame_(max_frame) {
  last_in_ = last_out_ = Clock::now();
}

void Conn::send(const Json& msg) {
  if (!fd_) return;
  std::string body = msg.dump();
  uint32_t n = uint32_t(body.size());
  char hdr[4] = {char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
  out_.append(hdr, 4);
  out_ += body;
  last_out_ = Clock::now();
  flush();
}

short Conn::events() const { return short(POLLIN | (out_.empty() ? 0 : POLLOUT)); }

bool Conn::flush() {
  while (fd_ && !out_.empty()) {
    ssize_t n = ::send(fd_.get(), out_.data(), out_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out_.erase(0, size_t(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;
    } else {
      close(std::string("send failed: ") + std::strerror(errno));
      return false;
    }
  }
  return bool(fd_);
}

bool Conn::on_poll(short revents) {
  if (!fd_) return false;
  if (revents & (POLLIN | POLLHUP | POLLERR)) {
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        in_.append(buf, size_t(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      // Complete frames that arrived before the close stay readable through next().
      error_ = n == 0 ? "connection closed" : std::string("receive failed: ") + std::strerror(errno);
      out_.clear();
      fd_.reset();
      return false;
    }
  }
  if (revents & POLLOUT) flush();
  return bool(fd_);
}

std::optional<Json> Conn::next() {
  if (in_.size() < 4) return std::nullopt;
  auto b = [&](size_t i) { return uint32_t(static_cast<unsigned char>(in_[i])); };
  uint32_t n = b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
  if (n > max_frame_) {
    close("frame of " + std::to_string(n) + " bytes is larger than allowed");
    in_.clear();
    return std::nullopt;
  }
  if (in_.size() < 4 + size_t(n)) return std::nullopt;
  Json j = Json::parse(in_.begin() + 4, in_.begin() + 4 + n, nullptr, false);
  in_.erase(0, 4 + size_t(n));
  if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    close("malformed message");
    in_.clear();
    return std::nullopt;
  }
  last_in_ = Clock::now();
  return j;
}

void Conn::flush_blocking(int timeout_ms) {
  auto end = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (fd_ && !out_.empty()) {
    if (!flush()) return;
    if (out_.empty()) return;
    long left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    if (left <= 0) return;
    pollfd p{fd_.get(), POLLOUT, 0};
    ::poll(&p, 1, int(left));
  }
}

void Conn::close(const std::string& why) {
  if (error_.empty()) error_ = why;
  fd_.reset();
  out_.clear();
}

long Conn::idle_in_ms() const {
  return long(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - last_in_).count());
}

long Conn::idle_out_ms() const {
  return long(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - last_out_).count());
}

}  // namespace zt::launch
