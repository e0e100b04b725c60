// The rendezvous store on loopback: set/get/add/wait/check, many concurrent clients, the job-secret handshake
// (wrong or missing secrets rejected on both sides), connect errors, and a server that outlives bad clients.
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "core/error.hpp"
#include "dist/auth.hpp"
#include "dist/socket.hpp"
#include "dist/store.hpp"
#include "dist/store_protocol.hpp"

namespace zt::dist {
namespace {

using namespace std::chrono_literals;

const std::string kSecret = parse_secret_hex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", "test");

StoreClientOptions client_opts(int port, std::string secret = kSecret, int rank = 0) {
  StoreClientOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  o.secret = std::move(secret);
  o.rank = rank;
  o.connect_timeout = 5s;
  return o;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.describe();
  }
  return "(no error)";
}

int open_fds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++n;
    closedir(d);
  }
  return n;
}

// A port with nothing listening on it (bound once, then released).
int unused_port() {
  int bound = 0;
  { Fd fd = listen_tcp("127.0.0.1", 0, &bound); }
  return bound;
}

TEST(Store, SetGetAddWaitCheckRemove) {
  StoreServer server("127.0.0.1", 0, kSecret);
  TcpStore s(client_opts(server.port()));
  s.set("a", "hello");
  EXPECT_EQ(s.get("a", 1s), "hello");
  std::string binary("x\0y\xff", 4);
  s.set("bin", binary);
  EXPECT_EQ(s.get("bin", 1s), binary);
  std::string big(3 << 20, 'z');
  big[12345] = '\0';
  s.set("big", big);
  EXPECT_EQ(s.get("big", 1s), big);
  s.set("a", "again");  // overwrite
  EXPECT_EQ(s.get("a", 1s), "again");

  EXPECT_EQ(s.add("n", 1), 1);
  EXPECT_EQ(s.add("n", 4), 5);
  EXPECT_EQ(s.add("n", -7), -2);
  EXPECT_EQ(s.get("n", 1s), "-2");
  EXPECT_NE(error_of([&] { s.add("a", 1); }).find("not an integer"), std::string::npos);

  EXPECT_TRUE(s.check({"a", "bin", "n"}));
  EXPECT_FALSE(s.check({"a", "absent"}));
  s.wait({"a", "n"}, 1s);
  EXPECT_EQ(s.wait_missing({"a", "absent", "n", "gone"}, 100ms), (std::vector<std::string>{"absent", "gone"}));
  EXPECT_TRUE(s.remove("a"));
  EXPECT_FALSE(s.remove("a"));
  EXPECT_FALSE(s.check({"a"}));
  EXPECT_EQ(server.rejected_connections(), 0);
}

TEST(Store, GetBlocksUntilAnotherClientSets) {
  StoreServer server("127.0.0.1", 0, kSecret);
  TcpStore reader(client_opts(server.port(), kSecret, 1));
  TcpStore writer(client_opts(server.port(), kSecret, 2));
  std::thread t([&] {
    std::this_thread::sleep_for(100ms);
    writer.set("late", "value");
    writer.set("k1", "1");
    writer.set("k2", "2");
  });
  EXPECT_EQ(reader.get("late", 10s), "value");
  reader.wait({"k1", "k2"}, 10s);
  t.join();
}

TEST(Store, TimeoutsNameTheKeys) {
  StoreServer server("127.0.0.1", 0, kSecret);
  TcpStore s(client_opts(server.port(), kSecret, 5));
  std::string e = error_of([&] { s.get("never/set", 150ms); });
  EXPECT_NE(e.find("'never/set'"), std::string::npos) << e;
  EXPECT_NE(e.find("rank 5"), std::string::npos) << e;
  s.set("here", "1");
  e = error_of([&] { s.wait({"here", "missing/1", "missing/2"}, 150ms); });
  EXPECT_NE(e.find("'missing/1', 'missing/2'"), std::string::npos) << e;
  EXPECT_EQ(e.find("'here'"), std::string::npos) << e;
  // The connection is still usable after a timeout.
  EXPECT_EQ(s.get("here", 1s), "1");
}

TEST(Store, ManyClientsConcurrently) {
  StoreServer server("127.0.0.1", 0, kSecret);
  constexpr int kClients = 24, kAdds = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      try {
        TcpStore s(client_opts(server.port(), kSecret, c));
        for (int i = 0; i < kAdds; ++i) s.add("counter", 1);
        s.set("done/" + std::to_string(c), std::to_string(c));
        std::vector<std::string> all;
        for (int k = 0; k < kClients; ++k) all.push_back("done/" + std::to_string(k));
        s.wait(all, 20s);  // a barrier across every client
        if (s.get("done/" + std::to_string((c + 1) % kClients), 1s) != std::to_string((c + 1) % kClients)) ++failures;
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  TcpStore s(client_opts(server.port()));
  EXPECT_EQ(s.get("counter", 1s), std::to_string(kClients * kAdds));
}

TEST(Store, WrongSecretIsRejectedOnBothSides) {
  StoreServer server("127.0.0.1", 0, kSecret);
  const std::string other = parse_secret_hex("ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100", "test");
  std::string e = error_of([&] { TcpStore s(client_opts(server.port(), other, 3)); });
  EXPECT_NE(e.find("rejected this rank"), std::string::npos) << e;
  EXPECT_NE(e.find("wrong job secret"), std::string::npos) << e;
  EXPECT_NE(e.find("ZEROTUNE_JOB_SECRET differs from rank 0's"), std::string::npos) << e;
  EXPECT_NE(e.find("rank 3"), std::string::npos) << e;
  EXPECT_EQ(server.rejected_connections(), 1);

  e = error_of([&] { TcpStore s(client_opts(server.port(), "", 4)); });
  EXPECT_NE(e.find("no job secret"), std::string::npos) << e;
  EXPECT_EQ(server.rejected_connections(), 2);

  StoreServer open_server("127.0.0.1", 0, "");
  e = error_of([&] { TcpStore s(client_opts(open_server.port(), kSecret, 1)); });
  EXPECT_NE(e.find("without a job secret"), std::string::npos) << e;
  TcpStore fine(client_opts(open_server.port(), "", 1));  // both without a secret: allowed by the store itself
  fine.set("k", "v");
  // The right secret still works after rejections.
  TcpStore good(client_opts(server.port()));
  good.set("k", "v");
  EXPECT_EQ(good.get("k", 1s), "v");
}

TEST(Store, ConnectTimeoutNamesRankHostAndAddress) {
  const int port = unused_port();
  auto o = client_opts(port, kSecret, 3);
  o.connect_timeout = 400ms;
  std::string e = error_of([&] { TcpStore s(o); });
  EXPECT_NE(e.find("rank 3 on host " + hostname()), std::string::npos) << e;
  EXPECT_NE(e.find("could not reach the rendezvous at 127.0.0.1:" + std::to_string(port)), std::string::npos) << e;
  EXPECT_NE(e.find("refused"), std::string::npos) << e;
  EXPECT_NE(e.find("check that rank 0 is running"), std::string::npos) << e;
  EXPECT_NE(e.find("MASTER_ADDR"), std::string::npos) << e;
}

TEST(Store, ConnectRetriesUntilTheServerComesUp) {
  const int port = unused_port();
  std::unique_ptr<StoreServer> server;
  std::thread late([&] {
    std::this_thread::sleep_for(300ms);
    server = std::make_unique<StoreServer>("127.0.0.1", port, kSecret);
  });
  auto o = client_opts(port);
  o.connect_timeout = 20s;
  TcpStore s(o);
  late.join();
  s.set("up", "1");
  EXPECT_EQ(s.get("up", 1s), "1");
}

TEST(Store, NotAZerotuneStore) {
  int port = 0;
  Fd listener = listen_tcp("127.0.0.1", 0, &port);
  std::thread t([&] {
    pollfd p{listener.get(), POLLIN, 0};
    ::poll(&p, 1, 5000);
    Fd c(::accept(listener.get(), nullptr, nullptr));
    const char reply[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
    (void)!::write(c.get(), reply, sizeof reply - 1);
    std::this_thread::sleep_for(200ms);
  });
  std::string e = error_of([&] { TcpStore s(client_opts(port)); });
  t.join();
  EXPECT_NE(e.find("is not a zerotune rendezvous store"), std::string::npos) << e;
}

// Raw sockets that misbehave: garbage, an oversized frame, a client that vanishes while a get is parked.
TEST(Store, ServerSurvivesBadAndDyingClients) {
  StoreServer server("127.0.0.1", 0, kSecret);
  {
    auto a = try_connect("127.0.0.1", server.port(), 2s);
    ASSERT_TRUE(a.fd.valid());
    const char junk[] = "\xff\xff\xff\xffgarbage";
    (void)!::write(a.fd.get(), junk, sizeof junk - 1);
  }
  {
    auto a = try_connect("127.0.0.1", server.port(), 2s);
    ASSERT_TRUE(a.fd.valid());
    const char junk[] = "\x10\x00\x00\x00short";  // a frame that never completes, then the socket closes
    (void)!::write(a.fd.get(), junk, sizeof junk - 1);
  }
  // A real client parks a get, then dies abruptly (RST) in another process.
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      TcpStore s(client_opts(server.port(), kSecret, 7));
      char b = 1;
      (void)!::write(ready[1], &b, 1);
      s.get("never", 60s);
    } catch (...) {
    }
    _exit(0);
  }
  char b;
  ASSERT_EQ(::read(ready[0], &b, 1), 1);
  ::close(ready[0]);
  ::close(ready[1]);
  std::this_thread::sleep_for(100ms);  // let the get reach the server
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);

  TcpStore s(client_opts(server.port()));
  s.set("alive", "yes");
  EXPECT_EQ(s.get("alive", 1s), "yes");
  for (int i = 0; i < 100 && server.connected_clients() != 1; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(server.connected_clients(), 1);  // the dead client's connection was dropped
}

TEST(Store, ServerShutdownEndsParkedRequestsAndLeaksNoFds) {
  const int before = open_fds();
  for (int round = 0; round < 3; ++round) {
    auto server = std::make_unique<StoreServer>("127.0.0.1", 0, kSecret);
    TcpStore waiter(client_opts(server->port(), kSecret, 1));
    std::string e;
    std::thread t([&] { e = error_of([&] { waiter.get("forever", 60s); }); });
    std::this_thread::sleep_for(100ms);
    server.reset();
    t.join();
    EXPECT_NE(e.find("lost the connection to the rendezvous store"), std::string::npos) << e;
    EXPECT_NE(e.find("rank 0"), std::string::npos) << e;
  }
  EXPECT_EQ(open_fds(), before);
}

TEST(Store, ListenErrorsNameTheAddress) {
  int port = 0;
  Fd held = listen_tcp("127.0.0.1", 0, &port);
  std::string e = error_of([&] { StoreServer s("127.0.0.1", port, kSecret); });
  EXPECT_NE(e.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << e;
  EXPECT_NE(e.find("already in use"), std::string::npos) << e;
  EXPECT_NE(e.find("MASTER_PORT"), std::string::npos) << e;
  e = error_of([&] { StoreServer s("192.0.2.1", 0, kSecret); });  // TEST-NET-1: never ours; nothing is sent
  EXPECT_NE(e.find("not an address of host"), std::string::npos) << e;
}

TEST(Auth, SecretParsingAndMacs) {
  EXPECT_EQ(parse_secret_hex("00FF10ab00000000000000000000000000", "S").size(), 17u);
  std::string e = error_of([] { parse_secret_hex("abcd", "ZEROTUNE_JOB_SECRET"); });
  EXPECT_NE(e.find("ZEROTUNE_JOB_SECRET is too short"), std::string::npos) << e;
  e = error_of([] { parse_secret_hex("0123456789abcdef0123456789abcdeg", "ZEROTUNE_JOB_SECRET"); });
  EXPECT_NE(e.find("character 32"), std::string::npos) << e;
  e = error_of([] { parse_secret_hex("0123456789abcdef0123456789abcdef0", "ZEROTUNE_JOB_SECRET"); });
  EXPECT_NE(e.find("odd number"), std::string::npos) << e;
  std::string g = generate_secret_hex();
  EXPECT_EQ(g.size(), 64u);
  EXPECT_NE(g, generate_secret_hex());
  EXPECT_EQ(parse_secret_hex(g, "g").size(), 32u);
  Nonce a = random_nonce(), b = random_nonce();
  EXPECT_TRUE(digest_equal(auth_mac("k", "l", a, b), auth_mac("k", "l", a, b)));
  EXPECT_FALSE(digest_equal(auth_mac("k", "l", a, b), auth_mac("K", "l", a, b)));
  EXPECT_FALSE(digest_equal(auth_mac("k", "l", a, b), auth_mac("k", "l", b, a)));
  // Known answer from Python's hmac module: HMAC-SHA256("Jefe", label || 64 zero bytes).
  Nonce zero{};
  Digest d = auth_mac("Jefe", "what do ya want for nothing?", zero, zero);
  std::string hex;
  for (uint8_t x : d) {
    char buf[3];
    std::snprintf(buf, sizeof buf, "%02x", x);
    hex += buf;
  }
  EXPECT_EQ(hex, "b4595892f0f843944e132c614dd5d759372fc13f59d7fd4313ec027b02672ef2");
}

}  // namespace
}  // namespace zt::dist
