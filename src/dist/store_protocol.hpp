// The rendezvous store's wire format, shared by the client (store.cpp) and the server (store_server.cpp):
// length-prefixed frames, the handshake messages and the request/response encoding. See docs/dist.md.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "dist/auth.hpp"

namespace zt::dist::wire {

// Every message is a frame: u32 little-endian body length, then the body.
constexpr char kMagic[8] = {'Z', 'T', 'S', 'T', 'O', 'R', 'E', '1'};
constexpr uint32_t kVersion = 1;
constexpr size_t kMaxKey = 4096;               // bytes per key
constexpr size_t kMaxValue = size_t(64) << 20; // bytes per value
constexpr size_t kMaxKeysPerRequest = 1 << 20;
constexpr size_t kMaxFrame = kMaxValue + kMaxKey + 64;
constexpr size_t kMaxHandshakeFrame = 4096;

// Handshake: server HELLO {magic, version, u8 server_has_secret, server nonce}; client AUTH {magic, version,
// u8 client_has_secret, client nonce, mac(client), i32 rank, str host}; server VERDICT {u8 ok, then mac(server)
// if ok, else str reason}. MACs are HMAC-SHA256(secret, label || nonce || nonce) with these labels.
constexpr const char* kClientLabel = "zerotune-store-client";
constexpr const char* kServerLabel = "zerotune-store-server";

enum class Op : uint8_t { set = 1, get = 2, add = 3, wait = 4, check = 5, remove = 6 };
enum class Status : uint8_t { ok = 0, timeout = 1, error = 2 };

class Writer {
 public:
  void u8(uint8_t v) { buf_.push_back(char(v)); }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) buf_.push_back(char((v >> (8 * i)) & 0xff));
  }
  void i64(int64_t v) {
    uint64_t u = uint64_t(v);
    for (int i = 0; i < 8; ++i) buf_.push_back(char((u >> (8 * i)) & 0xff));
  }
  void raw(const void* p, size_t n) { buf_.append(static_cast<const char*>(p), n); }
  void str(std::string_view s) {
    u32(uint32_t(s.size()));
    buf_.append(s.data(), s.size());
  }
  // The frame: length prefix + body.
  std::string frame() const {
    std::string f;
    f.reserve(buf_.size() + 4);
    uint32_t n = uint32_t(buf_.size());
    for (int i = 0; i < 4; ++i) f.push_back(char((n >> (8 * i)) & 0xff));
    f += buf_;
    return f;
  }

 private:
  std::string buf_;
};

// Bounds-checked reader over one frame body; every failure is a zt::Error("malformed ...").
class Reader {
 public:
  explicit Reader(std::string_view body) : b_(body) {}
  uint8_t u8() { return uint8_t(take(1)[0]); }
  uint32_t u32() {
    auto s = take(4);
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t(uint8_t(s[i])) << (8 * i);
    return v;
  }
  int64_t i64() {
    auto s = take(8);
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t(uint8_t(s[i])) << (8 * i);
    return int64_t(v);
  }
  void raw(void* p, size_t n) { std::memcpy(p, take(n).data(), n); }
  std::string str(size_t limit) {
    uint32_t n = u32();
    if (n > limit) fail("malformed store message: a string of " + std::to_string(n) + " bytes exceeds the limit of " +
                        std::to_string(limit));
    return std::string(take(n));
  }
  bool done() const { return pos_ == b_.size(); }

 private:
  std::string_view take(size_t n) {
    if (n > b_.size() - pos_) fail("malformed store message: truncated");
    auto s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string_view b_;
  size_t pos_ = 0;
};

inline uint32_t frame_length(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(uint8_t(p[i])) << (8 * i);
  return v;
}

}  // namespace zt::dist::wire
