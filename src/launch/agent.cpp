// The per-node agent: connect, authenticate, run the node's ranks, report, stop on command or on launcher loss.
#include "launch/agent.hpp"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "core/error.hpp"
#include "launch/protocol.hpp"
#include "launch/supervisor.hpp"

namespace zt::launch {

using Clock = std::chrono::steady_clock;

namespace {

// Waits for the next message on a connection during the handshake; throws when it does not come in time.
Json await(Conn& c, Clock::time_point deadline, const std::string& peer) {
  for (;;) {
    if (auto m = c.next()) return *m;
    check(c.open(), "the launcher at " + peer + " closed the control connection during the handshake (" + c.error() + ")",
          "check that every node runs the same zerotune and the same job secret");
    long left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    check(left > 0, "the launcher at " + peer + " did not answer the handshake within " +
                        std::to_string(kHandshakeMs / 1000) + " s");
    pollfd p{c.fd(), c.events(), 0};
    if (::poll(&p, 1, int(left)) > 0) c.on_poll(p.revents);
  }
}

Fd connect_with_retries(const AgentOptions& o, const std::string& peer) {
  auto start = Clock::now();
  auto deadline = start + std::chrono::milliseconds(o.connect_timeout_ms);
  auto next_note = start + std::chrono::seconds(10);
  std::string err;
  for (;;) {
    Fd fd = connect_tcp(o.coordinator_host, o.coordinator_port, 3000, err);
    if (fd) return fd;
    auto now = Clock::now();
    if (now >= deadline)
      fail("cannot reach the launcher at " + peer + ": " + err,
           "this node must be able to open TCP connections to the launcher host at that address and port "
           "(check firewalls and that the address is on a network this node can reach)");
    if (now >= next_note) {
      std::fprintf(stderr, "%s: waiting for the launcher at %s (%s)\n", o.label.c_str(), peer.c_str(), err.c_str());
      next_note = now + std::chrono::seconds(10);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace

void identity_from_runner(const std::string& runner, const EnvMap& env, AgentOptions& o) {
  auto get = [&](const char* k) {
    auto it = env.find(k);
    return it == env.end() ? std::string() : it->second;
  };
  if (runner == "ompi") {
    std::string r = get("OMPI_COMM_WORLD_RANK");
    check(!r.empty() && r.find_first_not_of("0123456789") == std::string::npos,
          "launch-agent --node_from ompi: OMPI_COMM_WORLD_RANK is not set", "this agent must be started by mpirun");
    o.node_rank = std::stoi(r);
  } else if (runner == "slurm") {
    o.node_name = get("SLURMD_NODENAME");
    check(!o.node_name.empty(), "launch-agent --node_from slurm: SLURMD_NODENAME is not set",
          "this agent must be started by srun");
  } else {
    fail("launch-agent: unknown --node_from '" + runner + "'", "one of: ompi, slurm");
  }
}

int run_agent(const AgentOptions& o) {
  const std::string secret = hex_decode(o.secret_hex, "the job secret");
  const std::string peer = join_host_port(o.coordinator_host, o.coordinator_port);
  Conn c(connect_with_retries(o, peer), 64 * 1024);

  // Handshake: hello -> challenge (the coordinator proves the secret) -> auth (we prove it) -> welcome.
  const std::string identity = o.node_rank >= 0 ? "rank:" + std::to_string(o.node_rank) : "name:" + o.node_name;
  const std::string nonce = random_hex(32);
  Json hello = {{"type", "hello"}, {"identity", identity}, {"nonce", nonce}};
  if (o.job) hello["layout"] = {{"nodes", layout_to_json(o.job->layout)}, {"master_addr", o.job->master_addr},
                                {"master_port", o.job->master_port}};
  c.send(hello);
  auto deadline = Clock::now() + std::chrono::milliseconds(kHandshakeMs);
  Json m = await(c, deadline, peer);
  if (m["type"] == "reject") fail("the launcher refused this node: " + m.value("reason", std::string("?")));
  check(m["type"] == "challenge" && m.value("nonce", std::string()).size() == 64,
        "unexpected handshake message from " + peer);
  const std::string coord_nonce = m["nonce"];
  check(constant_time_equal(m.value("mac", std::string()), coordinator_mac(secret, nonce, coord_nonce)),
        "the peer at " + peer + " does not know the job secret",
        "every node must get the same ZEROTUNE_JOB_SECRET (with --no_ssh, export the same value on every node)");
  c.set_max_frame(16 << 20);
  c.send({{"type", "auth"}, {"mac", agent_mac(secret, coord_nonce, nonce, identity)}});
  m = await(c, deadline, peer);
  if (m["type"] == "reject") fail("the launcher refused this node: " + m.value("reason", std::string("?")));
  check(m["type"] == "welcome" && m.contains("node") && m["node"].is_number_integer(),
        "unexpected handshake message from " + peer);
  const int node = m["node"].get<int>();
  JobSpec job = o.job ? *o.job : job_from_json(m.value("job", Json()));
  check(node >= 0 && size_t(node) < job.layout.nodes.size(), "the launcher assigned an unknown node");
  const std::string host = job.layout.nodes[size_t(node)].host;
  const std::string label = o.label + " " + host;

  // This node's ranks.
  SignalWatch sigs({SIGCHLD, SIGINT, SIGTERM, SIGHUP});
  std::optional<Supervisor> sup;
  try {
    NodePlan plan = plan_node(job, node, o.base_env, o.secret_hex);
    for (auto& n : plan.notes) std::fprintf(stderr, "%s: %s\n", label.c_str(), n.c_str());
    SupervisorOptions so;
    so.host = host;
    so.ranks = std::move(plan.ranks);
    so.cwd = job.cwd;
    so.log_dir = job.log_dir;
    so.grace_ms = job.grace_ms;
    sup.emplace(std::move(so));
    sup->start();
  } catch (const Error& e) {
    c.send({{"type", "start_failed"}, {"error", e.what()}});
    c.flush_blocking(2000);
    throw;
  }
  c.send({{"type", "started"}, {"ranks", sup->running()}});

  int stop_signal = 0;
  std::string lost;
  while (!sup->finished()) {
    std::vector<pollfd> fds = {{sigs.fd(), POLLIN, 0}};
    int conn_idx = -1;
    if (c.open()) conn_idx = int(fds.size()), fds.push_back({c.fd(), c.events(), 0});
    size_t first_sup = fds.size();
    sup->add_pollfds(fds);
    int timeout = kHeartbeatMs / 2;
    if (int t = sup->tick(); t >= 0 && t < timeout) timeout = t;
    ::poll(fds.data(), fds.size(), timeout);
    for (int s : sigs.take()) {
      if (s == SIGCHLD) continue;
      if (!stop_signal) {
        stop_signal = s;
        std::fprintf(stderr, "%s: received %s: stopping %d rank(s)\n", label.c_str(), signal_name(s).c_str(),
                     sup->running());
        sup->stop(s == SIGHUP ? SIGTERM : s);
      } else {
        sup->kill_all();
      }
    }
    if (conn_idx >= 0 && c.open() && !c.on_poll(fds[size_t(conn_idx)].revents) && lost.empty()) lost = c.error();
    while (auto msg = c.next()) {
      if ((*msg)["type"] == "stop") {
        int sig = msg->value("signal", int(SIGTERM));
        if (sig != SIGINT && sig != SIGTERM) sig = SIGTERM;
        sup->stop(sig);
      }
    }
    if (c.open() && c.idle_in_ms() > kHeartbeatLossMs) {
      lost = "no heartbeat for " + std::to_string(kHeartbeatLossMs / 1000) + " s";
      c.close(lost);
    }
    if (!c.open() && lost.empty()) lost = c.error();
    if (!lost.empty() && !sup->stopping()) {
      std::fprintf(stderr, "%s: lost the launcher (%s): stopping %d rank(s)\n", label.c_str(), lost.c_str(),
                   sup->running());
      sup->stop(SIGTERM);
    }
    std::vector<pollfd> sup_fds(fds.begin() + long(first_sup), fds.end());
    sup->on_poll(sup_fds);
    sup->reap();
    sup->tick();
    for (auto& e : sup->take_ended())
      c.send({{"type", "rank_end"}, {"rank", e.rank}, {"local_rank", e.local_rank}, {"status", e.status},
              {"how", e.how()}, {"ok", e.ok()}, {"code", exit_code_of(e.status)}, {"expected", e.expected}});
    if (c.open() && c.idle_out_ms() >= kHeartbeatMs) c.send({{"type", "ping"}});
  }
  int code = 0;
  if (auto& f = sup->first_failure()) code = exit_code_of(f->status);
  else if (!lost.empty()) code = 1;
  else if (stop_signal) code = 128 + stop_signal;
  else if (sup->stopping()) code = 1;  // stopped by the launcher because of another node
  c.send({{"type", "done"}, {"code", code}});
  c.flush_blocking(2000);
  return code;
}

}  // namespace zt::launch
