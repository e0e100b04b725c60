// The rendezvous store's server (StoreServer): one poll loop thread over non-blocking sockets, the handshake that
// checks each client's HMAC of the job secret, and blocking get/wait requests parked until their keys or deadline.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <thread>
#include <unordered_map>

#include "core/error.hpp"
#include "core/log.hpp"
#include "dist/store.hpp"
#include "dist/store_protocol.hpp"

namespace zt::dist {

namespace {
using namespace std::chrono_literals;
constexpr auto kHandshakeTimeout = 60s;      // an unauthenticated connection is closed after this
constexpr size_t kMaxStoreBytes = size_t(1) << 30;
constexpr size_t kReadChunk = 1 << 16;

std::string peer_name(const sockaddr_storage& ss) {
  char buf[64] = {};
  int port = 0;
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    port = ntohs(a->sin6_port);
  }
  return host_port(buf, port);
}

std::optional<int64_t> parse_int(const std::string& s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return std::nullopt;
  __int128 v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  if (s[0] == '-') v = -v;
  if (v > INT64_MAX || v < INT64_MIN) return std::nullopt;
  return int64_t(v);
}
}  // namespace

struct StoreServer::State {
  struct Conn {
    Fd fd;
    std::string peer;
    bool authed = false;
    Nonce nonce{};
    Clock::time_point handshake_deadline;
    std::string in, out;
    size_t out_off = 0;
    bool blocked = false;       // a get/wait is parked: no further requests are read until it is answered
    bool close_after_flush = false;
    bool dead = false;
    int rank = -1;
    std::string host;
  };
  struct Waiter {
    uint64_t conn;
    bool is_get;
    std::vector<std::string> keys;
    Clock::time_point deadline;
  };

  Fd listen;
  std::string secret;
  std::map<uint64_t, Conn> conns;
  uint64_t next_id = 1;
  std::unordered_map<std::string, std::string> data;
  size_t data_bytes = 0;
  std::vector<Waiter> waiters;
  Clock::time_point listen_paused_until{};
  std::atomic<int64_t>* rejected = nullptr;
  std::atomic<int64_t>* clients = nullptr;

  void send(Conn& c, const wire::Writer& w) { c.out += w.frame(); }

  void send_status(Conn& c, wire::Status st) {
    wire::Writer w;
    w.u8(uint8_t(st));
    send(c, w);
  }
  void send_error(Conn& c, const std::string& msg) {
    wire::Writer w;
    w.u8(uint8_t(wire::Status::error));
    w.str(msg.substr(0, wire::kMaxHandshakeFrame - 16));
    send(c, w);
  }

  bool has_all(const std::vector<std::string>& keys) const {
    return std::all_of(keys.begin(), keys.end(), [&](const std::string& k) { return data.count(k) != 0; });
  }

  void answer_waiter(Conn& c, const Waiter& wt, bool timed_out) {
    wire::Writer w;
    if (!timed_out) {
      w.u8(uint8_t(wire::Status::ok));
      if (wt.is_get) w.str(data.at(wt.keys[0]));
    } else {
      w.u8(uint8_t(wire::Status::timeout));
      if (!wt.is_get) {
        std::vector<const std::string*> missing;
        for (const auto& k : wt.keys)
          if (!data.count(k)) missing.push_back(&k);
        w.u32(uint32_t(missing.size()));
        for (auto* k : missing) w.str(*k);
      }
    }
    send(c, w);
    c.blocked = false;
  }

  // Answers every parked request whose keys are now all present.
  void wake_waiters() {
    for (size_t i = 0; i < waiters.size();) {
      if (has_all(waiters[i].keys)) {
        auto it = conns.find(waiters[i].conn);
        if (it != conns.end()) answer_waiter(it->second, waiters[i], false);
        waiters.erase(waiters.begin() + long(i));
      } else {
        ++i;
      }
    }
  }

  void put(const std::string& key, std::string value) {
    auto it = data.find(key);
    if (it != data.end()) data_bytes -= it->first.size() + it->second.size();
    data_bytes += key.size() + value.size();
    data[key] = std::move(value);
  }

  void handle_auth(Conn& c, std::string_view body) {
    wire::Reader r(body);
    char magic[8];
    r.raw(magic, 8);
    if (std::memcmp(magic, wire::kMagic, 8) != 0) fail("not a zerotune store client");
    uint32_t version = r.u32();
    if (version != wire::kVersion) {
      wire::Writer w;
      w.u8(0);
      w.str("store protocol version " + std::to_string(version) + " (rank 0 speaks " + std::to_string(wire::kVersion) +
            "): every node must run the same zerotune build");
      send(c, w);
      c.close_after_flush = true;
      return;
    }
    bool client_has_secret = r.u8() != 0;
    Nonce client_nonce;
    r.raw(client_nonce.data(), client_nonce.size());
    Digest mac;
    r.raw(mac.data(), mac.size());
    c.rank = int(int32_t(r.u32()));
    c.host = r.str(256);
    if (!digest_equal(mac, auth_mac(secret, wire::kClientLabel, c.nonce, client_nonce))) {
      std::string reason = secret.empty()          ? "rank 0 runs without a job secret but this client has one"
                           : !client_has_secret    ? "this client has no job secret (ZEROTUNE_JOB_SECRET) and rank 0 requires one"
                                                   : "wrong job secret (ZEROTUNE_JOB_SECRET differs from rank 0's)";
      rejected->fetch_add(1);
      log::warn("rendezvous store: rejected a connection from " + c.peer + " (claims rank " + std::to_string(c.rank) +
                " on host " + c.host + "): " + reason +
                "; a process from another job, or a rank started with a different ZEROTUNE_JOB_SECRET");
      wire::Writer w;
      w.u8(0);
      w.str(reason);
      send(c, w);
      c.close_after_flush = true;
      return;
    }
    c.authed = true;
    clients->fetch_add(1);
    wire::Writer w;
    w.u8(1);
    Digest smac = auth_mac(secret, wire::kServerLabel, client_nonce, c.nonce);
    w.raw(smac.data(), smac.size());
    send(c, w);
  }

  void handle_request(uint64_t id, Conn& c, std::string_view body) {
    wire::Reader r(body);
    auto op = wire::Op(r.u8());
    switch (op) {
      case wire::Op::set: {
        std::string key = r.str(wire::kMaxKey);
        std::string value = r.str(wire::kMaxValue);
        if (data_bytes + key.size() + value.size() > kMaxStoreBytes) {
          send_error(c, "the store is full (" + std::to_string(kMaxStoreBytes >> 20) + " MiB)");
          return;
        }
        put(key, std::move(value));
        send_status(c, wire::Status::ok);
        wake_waiters();
        return;
      }
      case wire::Op::get: {
        std::string key = r.str(wire::kMaxKey);
        int64_t timeout_ms = r.i64();
        Waiter wt{id, true, {key}, Clock::now() + std::chrono::milliseconds(std::max<int64_t>(0, timeout_ms))};
        park_or_answer(c, std::move(wt));
        return;
      }
      case wire::Op::add: {
        std::string key = r.str(wire::kMaxKey);
        int64_t delta = r.i64();
        int64_t old = 0;
        if (auto it = data.find(key); it != data.end()) {
          auto v = parse_int(it->second);
          if (!v) {
            send_error(c, "key '" + key + "' holds a value that is not an integer");
            return;
          }
          old = *v;
        }
        int64_t now;
        if (__builtin_add_overflow(old, delta, &now)) {
          send_error(c, "add on key '" + key + "' overflows a 64-bit integer");
          return;
        }
        put(key, std::to_string(now));
        wire::Writer w;
        w.u8(uint8_t(wire::Status::ok));
        w.i64(now);
        send(c, w);
        wake_waiters();
        return;
      }
      case wire::Op::wait: {
        uint32_t n = r.u32();
        if (n > wire::kMaxKeysPerRequest) fail("wait on too many keys");
        std::vector<std::string> keys;
        keys.reserve(n);
        for (uint32_t i = 0; i < n; ++i) keys.push_back(r.str(wire::kMaxKey));
        int64_t timeout_ms = r.i64();
        Waiter wt{id, false, std::move(keys), Clock::now() + std::chrono::milliseconds(std::max<int64_t>(0, timeout_ms))};
        park_or_answer(c, std::move(wt));
        return;
      }
      case wire::Op::check: {
        uint32_t n = r.u32();
        if (n > wire::kMaxKeysPerRequest) fail("check on too many keys");
        bool all = true;
        for (uint32_t i = 0; i < n; ++i) all = data.count(r.str(wire::kMaxKey)) != 0 && all;
        wire::Writer w;
        w.u8(uint8_t(wire::Status::ok));
        w.u8(all ? 1 : 0);
        send(c, w);
        return;
      }
      case wire::Op::remove: {
        std::string key = r.str(wire::kMaxKey);
        auto it = data.find(key);
        bool existed = it != data.end();
        if (existed) {
          data_bytes -= it->first.size() + it->second.size();
          data.erase(it);
        }
        wire::Writer w;
        w.u8(uint8_t(wire::Status::ok));
        w.u8(existed ? 1 : 0);
        send(c, w);
        return;
      }
    }
    fail("unknown store operation " + std::to_string(int(op)));
  }

  void park_or_answer(Conn& c, Waiter wt) {
    if (has_all(wt.keys)) {
      answer_waiter(c, wt, false);
    } else if (wt.deadline <= Clock::now()) {
      answer_waiter(c, wt, true);
    } else {
      c.blocked = true;
      waiters.push_back(std::move(wt));
    }
  }

  // Handles every complete frame buffered on the connection (until one parks).
  void process(uint64_t id, Conn& c) {
    size_t pos = 0;
    while (!c.blocked && !c.close_after_flush && !c.dead && c.in.size() - pos >= 4) {
      uint32_t n = wire::frame_length(c.in.data() + pos);
      size_t limit = c.authed ? wire::kMaxFrame : wire::kMaxHandshakeFrame;
      if (n > limit) {
        if (c.authed) send_error(c, "message of " + std::to_string(n) + " bytes exceeds the store's limit");
        log::warn("rendezvous store: closing " + c.peer + ": oversized message (" + std::to_string(n) + " bytes)");
        c.close_after_flush = true;
        break;
      }
      if (c.in.size() - pos - 4 < n) break;
      std::string_view body(c.in.data() + pos + 4, n);
      pos += 4 + size_t(n);
      try {
        if (!c.authed) handle_auth(c, body);
        else handle_request(id, c, body);
      } catch (const Error& e) {
        log::warn("rendezvous store: closing " + c.peer + " (rank " + std::to_string(c.rank) + "): " + e.what());
        if (c.authed) send_error(c, e.what());
        c.close_after_flush = true;
      }
    }
    c.in.erase(0, pos);
  }

  void flush(Conn& c) {
    while (c.out_off < c.out.size()) {
      ssize_t w = ::send(c.fd.get(), c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0) {
        c.out_off += size_t(w);
      } else if (w < 0 && errno == EINTR) {
        continue;
      } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;
      } else {
        c.dead = true;
        return;
      }
    }
    c.out.clear();
    c.out_off = 0;
    if (c.close_after_flush) c.dead = true;
  }

  void read(Conn& c) {
    char buf[kReadChunk];
    for (int rounds = 0; rounds < 64; ++rounds) {
      ssize_t r = ::recv(c.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (r > 0) {
        c.in.append(buf, size_t(r));
        if (c.in.size() > wire::kMaxFrame + 4 + kReadChunk) return;  // process() rejects it
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      c.dead = true;  // end of stream or reset: the client went away
      return;
    }
  }

  void accept_all() {
    for (;;) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      int fd = ::accept4(listen.get(), reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          log::warn(std::string("rendezvous store: cannot accept more connections: ") + std::strerror(errno) +
                    " (raise `ulimit -n` on rank 0's host)");
          listen_paused_until = Clock::now() + 100ms;
        }
        return;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
      Conn& c = conns[next_id++];
      c.fd.reset(fd);
      c.peer = peer_name(ss);
      c.handshake_deadline = Clock::now() + kHandshakeTimeout;
      c.nonce = random_nonce();
      wire::Writer w;
      w.raw(wire::kMagic, 8);
      w.u32(wire::kVersion);
      w.u8(secret.empty() ? 0 : 1);
      w.raw(c.nonce.data(), c.nonce.size());
      send(c, w);
      flush(c);
    }
  }

  // Times out parked requests and stalled handshakes; drops dead connections (and their parked requests).
  void expire_and_reap() {
    const auto now = Clock::now();
    for (size_t i = 0; i < waiters.size();) {
      auto it = conns.find(waiters[i].conn);
      if (it == conns.end() || it->second.dead) {
        waiters.erase(waiters.begin() + long(i));
      } else if (waiters[i].deadline <= now) {
        answer_waiter(it->second, waiters[i], true);
        flush(it->second);
        waiters.erase(waiters.begin() + long(i));
      } else {
        ++i;
      }
    }
    for (auto it = conns.begin(); it != conns.end();) {
      Conn& c = it->second;
      if (!c.authed && !c.dead && c.handshake_deadline <= now) {
        log::warn("rendezvous store: closing " + c.peer + ": no handshake within " +
                  std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kHandshakeTimeout).count()) + " s");
        c.dead = true;
      }
      if (c.dead) {
        if (c.authed) clients->fetch_sub(1);
        std::erase_if(waiters, [&](const Waiter& w) { return w.conn == it->first; });
        it = conns.erase(it);
      } else {
        ++it;
      }
    }
  }

  int poll_timeout_ms() const {
    auto next = Clock::time_point::max();
    for (const auto& w : waiters) next = std::min(next, w.deadline);
    for (const auto& [id, c] : conns)
      if (!c.authed) next = std::min(next, c.handshake_deadline);
    if (listen_paused_until > Clock::now()) next = std::min(next, listen_paused_until);
    if (next == Clock::time_point::max()) return -1;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now()).count() + 1;
    return int(std::clamp<int64_t>(ms, 0, 60'000));
  }
};

StoreServer::StoreServer(const std::string& host, int port, std::string secret) : state_(std::make_unique<State>()) {
  state_->listen = listen_tcp(host, port, &port_);
  state_->secret = std::move(secret);
  state_->rejected = &rejected_;
  state_->clients = &clients_;
  int fds[2];
  check(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0, std::string("rendezvous store: pipe failed: ") + std::strerror(errno));
  wake_read_.reset(fds[0]);
  wake_write_.reset(fds[1]);
  thread_ = std::thread([this] { run(); });
}

StoreServer::~StoreServer() {
  char b = 1;
  while (::write(wake_write_.get(), &b, 1) < 0 && errno == EINTR) {
  }
  if (thread_.joinable()) thread_.join();
}

void StoreServer::linger(milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  while (clients_.load() > 0 && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
}

void StoreServer::run() {
  State& s = *state_;
  try {
    std::vector<pollfd> pfds;
    std::vector<uint64_t> ids;
    for (;;) {
      pfds.clear();
      ids.clear();
      pfds.push_back({wake_read_.get(), POLLIN, 0});
      bool listening = Clock::now() >= s.listen_paused_until;
      pfds.push_back({listening ? s.listen.get() : -1, POLLIN, 0});
      for (auto& [id, c] : s.conns) {
        short ev = POLLRDHUP;
        if (!c.blocked && !c.close_after_flush) ev |= POLLIN;
        if (c.out_off < c.out.size()) ev |= POLLOUT;
        pfds.push_back({c.fd.get(), ev, 0});
        ids.push_back(id);
      }
      int rc = ::poll(pfds.data(), pfds.size(), s.poll_timeout_ms());
      if (rc < 0 && errno != EINTR) fail(std::string("poll failed: ") + std::strerror(errno));
      if (rc > 0 && (pfds[0].revents & POLLIN)) break;
      if (rc > 0 && (pfds[1].revents & POLLIN)) s.accept_all();
      for (size_t i = 0; rc > 0 && i < ids.size(); ++i) {
        short re = pfds[i + 2].revents;
        if (!re) continue;
        auto it = s.conns.find(ids[i]);
        if (it == s.conns.end()) continue;
        State::Conn& c = it->second;
        if (re & (POLLIN | POLLHUP | POLLERR | POLLRDHUP)) {
          if (c.blocked || c.close_after_flush) {
            // Not reading: only notice a closed peer.
            char probe;
            ssize_t r = ::recv(c.fd.get(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) c.dead = true;
          } else {
            s.read(c);
          }
        }
        if (!c.dead) s.process(ids[i], c);
      }
      // Requests answered by another connection's set/add may unblock further buffered requests.
      for (auto& [id, c] : s.conns) {
        if (!c.dead && !c.blocked && !c.in.empty()) s.process(id, c);
        if (!c.dead && c.out_off < c.out.size()) s.flush(c);
      }
      s.expire_and_reap();
    }
  } catch (const std::exception& e) {
    log::error(std::string("rendezvous store: the server stopped: ") + e.what());
  }
  // Best effort: deliver answers already queued (e.g. the last barrier's) before the sockets close.
  const auto until = Clock::now() + 1s;
  for (auto& [id, c] : s.conns) {
    while (!c.dead && c.out_off < c.out.size() && Clock::now() < until) {
      s.flush(c);
      if (c.out_off < c.out.size()) {
        pollfd p{c.fd.get(), POLLOUT, 0};
        ::poll(&p, 1, 50);
      }
    }
  }
}

}  // namespace zt::dist
