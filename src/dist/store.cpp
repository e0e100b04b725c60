// The rendezvous store's client (TcpStore): connect with retries and backoff, the authenticated handshake,
// and one synchronous request/response per call. The server is in store_server.cpp.
#include "dist/store.hpp"

#include <algorithm>
#include <optional>
#include <thread>

#include "core/error.hpp"
#include "core/log.hpp"
#include "dist/store_protocol.hpp"

namespace zt::dist {

namespace {

using namespace std::chrono_literals;

// Extra time the client waits beyond a server-side wait before it declares the server unresponsive.
constexpr milliseconds kAnswerGrace = 30s;
constexpr milliseconds kHandshakeTimeout = 30s;

std::string seconds_str(milliseconds ms) {
  auto s = ms.count() / 1000.0;
  char buf[32];
  std::snprintf(buf, sizeof buf, s == int64_t(s) ? "%.0f s" : "%.1f s", s);
  return buf;
}

// Reads one frame; nullopt when the peer closed the connection.
std::optional<std::string> read_frame(int fd, size_t limit, Clock::time_point deadline, const std::string& what) {
  char len[4];
  if (!read_exact(fd, len, 4, deadline, what)) return std::nullopt;
  uint32_t n = wire::frame_length(len);
  if (n > limit) fail(what + ": the peer announced a message of " + std::to_string(n) + " bytes (limit " +
                      std::to_string(limit) + ")");
  std::string body(n, '\0');
  if (n > 0 && !read_exact(fd, body.data(), n, deadline, what)) return std::nullopt;
  return body;
}

// Why a handshake did not complete: retry (the server went away mid-way) or give up with this error.
struct HandshakeError {
  bool retry = false;
  std::string what, hint;
};

}  // namespace

TcpStore::TcpStore(const StoreClientOptions& opts) : address_(host_port(opts.host, opts.port)), rank_(opts.rank) {
  zt::check(opts.port > 0 && opts.port < 65536, "rendezvous port " + std::to_string(opts.port) + " is out of range",
        "MASTER_PORT must be 1..65535");
  connect_and_authenticate(opts);
}

TcpStore::~TcpStore() = default;

void TcpStore::connect_and_authenticate(const StoreClientOptions& opts) {
  const auto start = Clock::now();
  const auto deadline = start + opts.connect_timeout;
  const std::string who = "rank " + std::to_string(opts.rank) + " on host " + hostname();
  milliseconds backoff = 50ms;
  auto next_note = start + 10s;
  ConnectFailure last = ConnectFailure::none;
  std::string last_detail;

  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    ConnectAttempt a = try_connect(opts.host, opts.port, std::clamp(left, milliseconds(100), milliseconds(10s)));
    if (a.fd.valid()) {
      HandshakeError herr;
      try {
        const auto hd = Clock::now() + kHandshakeTimeout;
        const std::string what = who + ": handshake with the rendezvous at " + address_;
        // The greeting: a frame of a few dozen bytes starting with the magic; anything else is another service.
        char head[16];
        if (!read_exact(a.fd.get(), head, sizeof head, hd, what))
          throw HandshakeError{true, "the rendezvous closed the connection during the handshake", ""};
        uint32_t n = wire::frame_length(head);
        if (n < 12 + 1 + 32 || n > wire::kMaxHandshakeFrame || std::memcmp(head + 4, wire::kMagic, 8) != 0) {
          std::string shown;
          for (char ch : head) shown += (ch >= 32 && ch < 127) ? ch : '.';
          throw HandshakeError{false, who + ": the service at " + address_ + " is not a zerotune rendezvous store (it sent '" +
                                          shown + "')",
                               "another program listens on MASTER_PORT " + std::to_string(opts.port) +
                                   ": pick a free port (--master_port) for this job"};
        }
        std::string hello(head + 4, sizeof head - 4);
        hello.resize(n);
        if (!read_exact(a.fd.get(), hello.data() + (sizeof head - 4), n - (sizeof head - 4), hd, what))
          throw HandshakeError{true, "the rendezvous closed the connection during the handshake", ""};
        wire::Reader r(hello);
        char magic[8];
        r.raw(magic, 8);
        uint32_t version = r.u32();
        if (version != wire::kVersion)
          throw HandshakeError{false, who + ": the rendezvous at " + address_ + " speaks store protocol version " +
                                          std::to_string(version) + ", this rank speaks " + std::to_string(wire::kVersion),
                               "every node must run the same zerotune build"};
        bool server_has_secret = r.u8() != 0;
        Nonce server_nonce;
        r.raw(server_nonce.data(), server_nonce.size());
        Nonce client_nonce = random_nonce();

        wire::Writer w;
        w.raw(wire::kMagic, 8);
        w.u32(wire::kVersion);
        w.u8(opts.secret.empty() ? 0 : 1);
        w.raw(client_nonce.data(), client_nonce.size());
        Digest mac = auth_mac(opts.secret, wire::kClientLabel, server_nonce, client_nonce);
        w.raw(mac.data(), mac.size());
        w.u32(uint32_t(opts.rank));
        w.str(hostname());
        std::string f = w.frame();
        if (!write_all(a.fd.get(), f.data(), f.size(), hd, what))
          throw HandshakeError{true, "the rendezvous closed the connection during the handshake", ""};

        auto verdict = read_frame(a.fd.get(), wire::kMaxHandshakeFrame, hd, what);
        if (!verdict) throw HandshakeError{true, "the rendezvous closed the connection during the handshake", ""};
        wire::Reader v(*verdict);
        if (v.u8() != 1) {
          std::string reason = v.str(wire::kMaxHandshakeFrame);
          std::string hint =
              server_has_secret && opts.secret.empty()
                  ? "rank 0 requires a job secret and this rank has none: set ZEROTUNE_JOB_SECRET to rank 0's value "
                    "(the zerotune launcher does this for every rank)"
              : !server_has_secret && !opts.secret.empty()
                  ? "rank 0 runs without a job secret but this rank has one: the two are not from the same launch, "
                    "or rank 0 was started without ZEROTUNE_JOB_SECRET"
                  : "ZEROTUNE_JOB_SECRET differs from rank 0's: every rank of a job needs the same secret; a process "
                    "from another job may be using this MASTER_ADDR/MASTER_PORT";
          throw HandshakeError{false, who + ": the rendezvous at " + address_ + " rejected this rank: " + reason, hint};
        }
        Digest server_mac;
        v.raw(server_mac.data(), server_mac.size());
        if (!digest_equal(server_mac, auth_mac(opts.secret, wire::kServerLabel, client_nonce, server_nonce)))
          throw HandshakeError{false, who + ": the rendezvous at " + address_ + " could not prove it knows the job secret",
                               "another job's store may be listening on this MASTER_ADDR/MASTER_PORT"};
        fd_ = std::move(a.fd);
        return;
      } catch (HandshakeError& e) {
        herr = std::move(e);
      } catch (const Error& e) {
        herr = HandshakeError{true, e.what(), ""};
      }
      if (!herr.retry) fail(herr.what, herr.hint);
      last = ConnectFailure::other;
      last_detail = herr.what;
    } else {
      last = a.failure;
      last_detail = a.detail;
    }

    const auto now = Clock::now();
    if (now >= deadline) break;
    if (now >= next_note) {
      log::info(who + " is still waiting for the rendezvous at " + address_ + " (" + last_detail + "); giving up in " +
                seconds_str(std::chrono::duration_cast<milliseconds>(deadline - now)));
      next_note = now + 30s;
    }
    std::this_thread::sleep_for(std::min(backoff, std::chrono::duration_cast<milliseconds>(deadline - now)));
    backoff = std::min(backoff * 2, milliseconds(2s));
  }

  const std::string head = who + " could not reach the rendezvous at " + address_ + " for " +
                           seconds_str(opts.connect_timeout) + " (" + last_detail + ")";
  const std::string port = std::to_string(opts.port);
  switch (last) {
    case ConnectFailure::resolve:
      fail(head, "MASTER_ADDR '" + opts.host + "' does not resolve on this host: use an IP address or a name every "
                 "host resolves");
    case ConnectFailure::refused:
      fail(head, "nothing listens there: check that rank 0 is running (and did not exit early: see its log), that "
                 "MASTER_ADDR is rank 0's host and that MASTER_ADDR/MASTER_PORT are the same on every rank; "
                 "ZEROTUNE_RDZV_TIMEOUT sets how long ranks wait");
    case ConnectFailure::unreachable:
      fail(head, "no route to " + opts.host + ": check MASTER_ADDR, this host's routes (ip route get " + opts.host +
                 "), firewalls, and the interface (NCCL_SOCKET_IFNAME / GLOO_SOCKET_IFNAME)");
    case ConnectFailure::timed_out:
      fail(head, "connection attempts got no answer: a firewall may drop traffic to port " + port + ", or " + opts.host +
                 " is not rank 0's host; check that rank 0 is running, MASTER_ADDR/MASTER_PORT, firewalls, and "
                 "NCCL_SOCKET_IFNAME");
    default:
      fail(head, "check that rank 0 is running, MASTER_ADDR/MASTER_PORT, firewalls, and NCCL_SOCKET_IFNAME");
  }
}

std::string TcpStore::request(const std::string& frame, milliseconds server_wait, const char* op,
                              const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string what = "rank " + std::to_string(rank_) + ": store " + op + " '" + key + "' at " + address_;
  zt::check(fd_.valid(), what + ": the connection to the rendezvous was lost earlier");
  const auto deadline = Clock::now() + server_wait + kAnswerGrace;
  std::optional<std::string> answer;
  if (write_all(fd_.get(), frame.data(), frame.size(), deadline, what))
    answer = read_frame(fd_.get(), wire::kMaxFrame, deadline, what);
  if (!answer) {
    fd_.reset();
    fail(what + ": lost the connection to the rendezvous store",
         "rank 0 (which serves the store) exited or its host went down: see rank 0's log");
  }
  return *answer;
}

namespace {
// Splits a response into its status and the reader over the rest; turns Status::error into a zt::Error.
wire::Status parse_status(wire::Reader& r, const std::string& what) {
  auto st = wire::Status(r.u8());
  if (st == wire::Status::error) fail(what + ": " + r.str(wire::kMaxHandshakeFrame));
  return st;
}
int64_t wire_ms(milliseconds t) { return std::max<int64_t>(0, t.count()); }
}  // namespace

void TcpStore::set(const std::string& key, const std::string& value) {
  zt::check(key.size() <= wire::kMaxKey, "store key longer than " + std::to_string(wire::kMaxKey) + " bytes");
  zt::check(value.size() <= wire::kMaxValue, "store value for '" + key + "' is " + std::to_string(value.size()) +
                                             " bytes, over the limit of " + std::to_string(wire::kMaxValue));
  wire::Writer w;
  w.u8(uint8_t(wire::Op::set));
  w.str(key);
  w.str(value);
  std::string resp = request(w.frame(), 0ms, "set", key);
  wire::Reader r(resp);
  parse_status(r, "store set '" + key + "' at " + address_);
}

std::string TcpStore::get(const std::string& key, milliseconds timeout) {
  zt::check(key.size() <= wire::kMaxKey, "store key longer than " + std::to_string(wire::kMaxKey) + " bytes");
  wire::Writer w;
  w.u8(uint8_t(wire::Op::get));
  w.str(key);
  w.i64(wire_ms(timeout));
  std::string resp = request(w.frame(), timeout, "get", key);
  wire::Reader r(resp);
  if (parse_status(r, "store get '" + key + "' at " + address_) == wire::Status::timeout)
    fail("rank " + std::to_string(rank_) + ": key '" + key + "' was not set in the rendezvous store at " + address_ +
             " within " + seconds_str(timeout),
         "the rank that publishes it has not arrived, is slower, or failed: see the other ranks' logs");
  return r.str(wire::kMaxValue);
}

int64_t TcpStore::add(const std::string& key, int64_t delta) {
  zt::check(key.size() <= wire::kMaxKey, "store key longer than " + std::to_string(wire::kMaxKey) + " bytes");
  wire::Writer w;
  w.u8(uint8_t(wire::Op::add));
  w.str(key);
  w.i64(delta);
  std::string resp = request(w.frame(), 0ms, "add", key);
  wire::Reader r(resp);
  parse_status(r, "store add '" + key + "' at " + address_);
  return r.i64();
}

std::vector<std::string> TcpStore::wait_missing(const std::vector<std::string>& keys, milliseconds timeout) {
  zt::check(keys.size() <= wire::kMaxKeysPerRequest, "store wait on too many keys at once");
  wire::Writer w;
  w.u8(uint8_t(wire::Op::wait));
  w.u32(uint32_t(keys.size()));
  for (const auto& k : keys) {
    zt::check(k.size() <= wire::kMaxKey, "store key longer than " + std::to_string(wire::kMaxKey) + " bytes");
    w.str(k);
  }
  w.i64(wire_ms(timeout));
  std::string first = keys.empty() ? std::string() : keys.front();
  std::string resp = request(w.frame(), timeout, "wait", first);
  wire::Reader r(resp);
  std::vector<std::string> missing;
  if (parse_status(r, "store wait at " + address_) == wire::Status::timeout) {
    uint32_t n = r.u32();
    for (uint32_t i = 0; i < n && i < keys.size(); ++i) missing.push_back(r.str(wire::kMaxKey));
  }
  return missing;
}

void TcpStore::wait(const std::vector<std::string>& keys, milliseconds timeout) {
  auto missing = wait_missing(keys, timeout);
  if (missing.empty()) return;
  std::string list;
  for (size_t i = 0; i < missing.size() && i < 16; ++i) list += (i ? ", '" : "'") + missing[i] + "'";
  if (missing.size() > 16) list += " and " + std::to_string(missing.size() - 16) + " more";
  fail("rank " + std::to_string(rank_) + ": keys not set in the rendezvous store at " + address_ + " within " +
           seconds_str(timeout) + ": " + list,
       "the ranks that publish them have not arrived, are slower, or failed: see the other ranks' logs");
}

bool TcpStore::check(const std::vector<std::string>& keys) {
  zt::check(keys.size() <= wire::kMaxKeysPerRequest, "store check on too many keys at once");
  wire::Writer w;
  w.u8(uint8_t(wire::Op::check));
  w.u32(uint32_t(keys.size()));
  for (const auto& k : keys) w.str(k);
  std::string resp = request(w.frame(), 0ms, "check", keys.empty() ? std::string() : keys.front());
  wire::Reader r(resp);
  parse_status(r, "store check at " + address_);
  return r.u8() != 0;
}

bool TcpStore::remove(const std::string& key) {
  wire::Writer w;
  w.u8(uint8_t(wire::Op::remove));
  w.str(key);
  std::string resp = request(w.frame(), 0ms, "remove", key);
  wire::Reader r(resp);
  parse_status(r, "store remove '" + key + "' at " + address_);
  return r.u8() != 0;
}

}  // namespace zt::dist
