// The rendezvous store: a small key-value server that rank 0 runs (StoreServer) and a client every rank uses
// (TcpStore), authenticated by the job secret (HMAC-SHA256 challenge-response). Protocol in docs/dist.md.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dist/socket.hpp"

namespace zt::dist {

using std::chrono::milliseconds;

// Serves the store on one thread (poll loop) until destroyed. A client that dies or misbehaves only loses its
// own connection; blocking gets/waits are answered when their keys arrive or their timeout passes.
class StoreServer {
 public:
  // Listens on host:port (host "" = every IPv4 interface; port 0 = ephemeral). `secret` holds raw bytes (empty
  // = no authentication: only for single-host tests or an explicit opt-in, see rendezvous.hpp).
  StoreServer(const std::string& host, int port, std::string secret);
  ~StoreServer();  // stops the thread, flushes pending answers briefly, closes every socket
  StoreServer(const StoreServer&) = delete;
  StoreServer& operator=(const StoreServer&) = delete;

  int port() const { return port_; }
  // Connections refused because of a wrong or missing job secret (each is also logged as a warning).
  int64_t rejected_connections() const { return rejected_.load(); }
  // Clients that authenticated and are still connected.
  int64_t connected_clients() const { return clients_.load(); }
  // Waits until every client has disconnected or `timeout` passes. Rank 0 failing at start-up calls it so the
  // other ranks still receive their own answers (e.g. which ranks are missing) before the store goes away.
  void linger(milliseconds timeout) const;

 private:
  struct State;
  void run();
  std::unique_ptr<State> state_;
  int port_ = 0;
  Fd wake_read_, wake_write_;  // self-pipe that ends the poll loop
  std::atomic<int64_t> rejected_{0};
  std::atomic<int64_t> clients_{0};
  std::thread thread_;
};

struct StoreClientOptions {
  std::string host;                        // MASTER_ADDR
  int port = 29500;                        // MASTER_PORT
  std::string secret;                      // raw bytes (parse_secret_hex); empty = none
  int rank = 0;                            // for messages and the server's log
  milliseconds connect_timeout{300'000};   // keep retrying a refused/unreachable server this long
};

// One connection to the store; thread-safe (requests are serialised). Values are arbitrary bytes.
class TcpStore {
 public:
  // Connects with retries and backoff until opts.connect_timeout, then authenticates. The error on failure
  // names the rank, this host, the address, and what to check for the kind of failure seen (refused, no route,
  // timed out, wrong secret, not a zerotune store).
  explicit TcpStore(const StoreClientOptions& opts);
  ~TcpStore();
  TcpStore(const TcpStore&) = delete;
  TcpStore& operator=(const TcpStore&) = delete;

  void set(const std::string& key, const std::string& value);
  // Blocks until `key` is set (then returns its value) or `timeout` passes (zt::Error naming the key).
  std::string get(const std::string& key, milliseconds timeout);
  // Adds delta to the integer stored at key (absent = 0) and returns the new value.
  int64_t add(const std::string& key, int64_t delta);
  // Blocks until every key is set; on timeout a zt::Error names the keys still missing.
  void wait(const std::vector<std::string>& keys, milliseconds timeout);
  // Keys still missing after waiting up to `timeout` (empty = all present); never throws for a timeout.
  std::vector<std::string> wait_missing(const std::vector<std::string>& keys, milliseconds timeout);
  // True if every key is set now.
  bool check(const std::vector<std::string>& keys);
  // Deletes key; true if it existed.
  bool remove(const std::string& key);

  const std::string& address() const { return address_; }  // "host:port"
  int rank() const { return rank_; }

 private:
  std::string request(const std::string& frame, milliseconds server_wait, const char* op, const std::string& key);
  void connect_and_authenticate(const StoreClientOptions& opts);

  std::string address_;
  int rank_ = 0;
  Fd fd_;
  std::mutex mu_;
};

}  // namespace zt::dist
