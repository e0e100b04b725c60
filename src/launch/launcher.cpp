// The launcher's side of a job: local supervision, or the coordinator of agents on many nodes.
#include "launch/launcher.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

#include "core/error.hpp"
#include "launch/protocol.hpp"
#include "launch/supervisor.hpp"

namespace zt::launch {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

void say(const std::string& line) { std::fprintf(stderr, "zerotune launch: %s\n", line.c_str()); }

long ms_until(Clock::time_point t) {
  return long(std::chrono::duration_cast<milliseconds>(t - Clock::now()).count());
}

// A started runner process (ssh to one node, or pdsh/mpirun/srun for all) with its output relayed.
struct RunnerProc {
  RunnerCommand cmd;
  Child child;
  Fd out, err;
  LineRelay out_relay{"", 1}, err_relay{"", 2};
  bool exited = false;
};

void drain(Fd& fd, LineRelay& relay) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      relay.feed(buf, size_t(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    relay.finish();
    fd.reset();
    return;
  }
}

std::unique_ptr<RunnerProc> start_runner(RunnerCommand cmd, int stdout_fd) {
  auto r = std::make_unique<RunnerProc>();
  int p[2];
  Fd in_r, in_w, out_w, err_w;
  check(::pipe2(p, O_CLOEXEC) == 0, "pipe failed");
  in_r.reset(p[0]), in_w.reset(p[1]);
  check(::pipe2(p, O_CLOEXEC) == 0, "pipe failed");
  r->out.reset(p[0]), out_w.reset(p[1]);
  check(::pipe2(p, O_CLOEXEC) == 0, "pipe failed");
  r->err.reset(p[0]), err_w.reset(p[1]);
  SpawnOptions so;
  so.argv = cmd.argv;
  so.env = env_strings(cmd.env);
  so.stdin_fd = in_r.get();
  so.stdout_fd = stdout_fd >= 0 ? stdout_fd : out_w.get();
  so.stderr_fd = err_w.get();
  r->child = Child::spawn(so);
  in_r.reset();
  if (!cmd.stdin_data.empty()) write_all(in_w.get(), cmd.stdin_data);
  in_w.reset();
  if (stdout_fd >= 0) r->out.reset();
  ::fcntl(r->out.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(r->err.get(), F_SETFL, O_NONBLOCK);
  r->cmd = std::move(cmd);
  return r;
}

// `ssh host true` on every node at once; throws naming every node that cannot be reached.
void ssh_check(const RunnerContext& ctx, const WorldLayout& layout) {
  std::vector<std::unique_ptr<RunnerProc>> checks;
  Fd devnull(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  for (size_t i = 0; i < layout.nodes.size(); ++i) {
    RunnerCommand c;
    c.argv = ssh_check_command(ctx, layout.nodes[i].host);
    c.env = ctx.launcher_env;
    c.nodes = {int(i)};
    auto r = start_runner(std::move(c), devnull.get());
    r->err_relay = LineRelay("", -1);  // kept for the message, not printed
    checks.push_back(std::move(r));
  }
  auto deadline = Clock::now() + std::chrono::seconds(ctx.ssh_connect_timeout_s + 10);
  for (;;) {
    std::vector<pollfd> fds;
    for (auto& r : checks)
      if (r->err) fds.push_back({r->err.get(), POLLIN, 0});
    if (fds.empty() || ms_until(deadline) <= 0) break;
    ::poll(fds.data(), fds.size(), int(std::max(1L, std::min(ms_until(deadline), 200L))));
    for (auto& r : checks)
      if (r->err) drain(r->err, r->err_relay);
  }
  std::string failures;
  int bad = 0;
  for (auto& r : checks) {
    if (r->err) r->child.signal(SIGKILL);
    r->child.wait();
    int st = r->child.status();
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) continue;
    const Node& n = layout.nodes[size_t(r->cmd.nodes[0])];
    std::string why = r->err_relay.last_line().empty() ? describe_wait_status(st) : r->err_relay.last_line();
    failures += "\n  " + n.host + (n.hostfile_line ? " (hostfile line " + std::to_string(n.hostfile_line) + ")" : "") +
                ": " + why;
    ++bad;
  }
  check(bad == 0,
        "cannot log in to " + std::to_string(bad) + " of " + std::to_string(layout.nodes.size()) +
            " node(s) with ssh (BatchMode: no passwords or prompts):" + failures,
        "`ssh -o BatchMode=yes HOST true` must work from here for every host: check that the host is up and its "
        "address right, that your key is in its authorized_keys, and that its host key is in known_hosts "
        "(--ssh_port for another port, --launcher_args for other ssh options, --no_ssh_check to skip this check)");
}

}  // namespace

int run_local(const JobSpec& job, const std::string& secret_hex, const EnvMap& base_env) {
  NodePlan plan = plan_node(job, 0, base_env, secret_hex);
  for (auto& n : plan.notes) say(n);
  SignalWatch sigs({SIGCHLD, SIGINT, SIGTERM, SIGHUP});
  SupervisorOptions so;
  so.host = job.layout.nodes[0].host;
  so.ranks = std::move(plan.ranks);
  so.cwd = job.cwd;
  so.log_dir = job.log_dir;
  so.grace_ms = job.grace_ms;
  Supervisor sup(std::move(so));
  sup.start();
  if (!job.log_dir.empty() && !sup.log_files().empty())
    say("rank output goes to " + sup.log_files().front() + (sup.log_files().size() > 1 ? " ..." : ""));
  int interrupted = 0;
  while (!sup.finished()) {
    std::vector<pollfd> fds = {{sigs.fd(), POLLIN, 0}};
    sup.add_pollfds(fds);
    int t = sup.tick();
    ::poll(fds.data(), fds.size(), t < 0 || t > 1000 ? 1000 : t);
    for (int s : sigs.take()) {
      if (s == SIGCHLD) continue;
      if (!interrupted) {
        interrupted = s;
        sup.stop(s == SIGHUP ? SIGTERM : s);
      } else {
        sup.kill_all();
      }
    }
    sup.on_poll(fds);
    sup.reap();
    sup.tick();
  }
  const std::string& host = sup.host();
  if (auto& f = sup.first_failure()) {
    say("rank " + std::to_string(f->rank) + " on " + host + " " + f->how() + " (the job's other ranks were stopped)");
    return exit_code_of(f->status);
  }
  if (interrupted) {
    say("interrupted by " + signal_name(interrupted) + " (the job's ranks were stopped)");
    return 128 + interrupted;
  }
  return 0;
}

namespace {

struct NodeState {
  enum Phase { waiting, running, done, lost } phase = waiting;
  std::unique_ptr<Conn> conn;
  int code = 0;
};

struct Pending {
  std::unique_ptr<Conn> conn;
  std::string peer, nonce, coord_nonce, identity;
  int node = -1;
  Json layout;
  Clock::time_point deadline;
};

class Coordinator {
 public:
  explicit Coordinator(const CoordinatorOptions& o)
      : o_(o), secret_(hex_decode(o.secret_hex, "the job secret")), nodes_(o.job.layout.nodes.size()) {}
  int run();

 private:
  const std::string& host(int node) const { return o_.job.layout.nodes[size_t(node)].host; }
  void fail_job(const std::string& why, int code);
  void on_pending_message(Pending& p, const Json& m);
  void on_node_message(int node, const Json& m);
  void check_runner_exits();
  void finish_runners();
  int node_of(const std::string& identity, std::string& err) const;

  const CoordinatorOptions& o_;
  std::string secret_;
  std::vector<NodeState> nodes_;
  std::vector<std::unique_ptr<RunnerProc>> runners_;
  std::vector<Pending> pending_;
  std::optional<std::string> failure_;
  int fail_code_ = 1, interrupt_ = 0;
  Clock::time_point start_, stop_deadline_;
};

void Coordinator::fail_job(const std::string& why, int code) {
  if (failure_) return;
  failure_ = why;
  fail_code_ = code;
  int sig = interrupt_ == SIGINT ? SIGINT : SIGTERM;
  for (auto& n : nodes_)
    if (n.phase == NodeState::running) n.conn->send({{"type", "stop"}, {"signal", sig}, {"reason", why}});
  stop_deadline_ = Clock::now() + milliseconds(o_.job.grace_ms + 4000);
}

int Coordinator::node_of(const std::string& id, std::string& err) const {
  if (id.rfind("rank:", 0) == 0) {
    std::string r = id.substr(5);
    if (!r.empty() && r.size() < 7 && r.find_first_not_of("0123456789") == std::string::npos &&
        size_t(std::stoi(r)) < nodes_.size())
      return std::stoi(r);
    err = "node rank " + r + " is not in this job (" + std::to_string(nodes_.size()) + " nodes)";
    return -1;
  }
  if (id.rfind("name:", 0) == 0) {
    std::string name = id.substr(5);
    for (size_t i = 0; i < nodes_.size(); ++i)
      if (host(int(i)) == name || host_part(host(int(i))) == name) return int(i);
    std::string all;
    for (size_t i = 0; i < nodes_.size(); ++i) all += (all.empty() ? "" : ", ") + host(int(i));
    err = "'" + name + "' is not one of this job's hosts (" + all + ")";
    return -1;
  }
  err = "malformed identity";
  return -1;
}

void Coordinator::on_pending_message(Pending& p, const Json& m) {
  auto reject = [&](const std::string& reason) {
    p.conn->send({{"type", "reject"}, {"reason", reason}});
    p.conn->flush_blocking(500);
    p.conn->close("rejected: " + reason);
  };
  std::string type = m["type"];
  if (type == "hello" && p.coord_nonce.empty()) {
    p.identity = m.value("identity", std::string());
    p.nonce = m.value("nonce", std::string());
    std::string err;
    p.node = node_of(p.identity, err);
    if (p.node < 0 || p.nonce.size() != 64) {
      say("refused a control connection from " + p.peer + ": " + (p.node < 0 ? err : "bad hello"));
      return reject(p.node < 0 ? err : "bad hello");
    }
    if (m.contains("layout")) p.layout = m["layout"];
    p.coord_nonce = random_hex(32);
    p.conn->send({{"type", "challenge"}, {"nonce", p.coord_nonce}, {"mac", coordinator_mac(secret_, p.nonce, p.coord_nonce)}});
  } else if (type == "auth" && !p.coord_nonce.empty()) {
    if (!constant_time_equal(m.value("mac", std::string()), agent_mac(secret_, p.coord_nonce, p.nonce, p.identity))) {
      say("refused a control connection from " + p.peer + " (claiming node " + host(p.node) + "): wrong job secret");
      return reject("authentication failed: this node has a different job secret");
    }
    NodeState& n = nodes_[size_t(p.node)];
    if (n.phase != NodeState::waiting) return reject("node " + host(p.node) + " already has an agent");
    if (failure_) return reject("the job is stopping: " + *failure_);
    if (o_.no_ssh != !p.layout.is_null() && p.node != 0)
      return reject("this node joined a job of another kind (with and without --no_ssh)");
    Json welcome = {{"type", "welcome"}, {"node", p.node}};
    if (!p.layout.is_null()) {
      Json ours = {{"nodes", layout_to_json(o_.job.layout)}, {"master_addr", o_.job.master_addr},
                   {"master_port", o_.job.master_port}};
      if (p.layout != ours) {
        std::string why = "node " + std::to_string(p.node) + " (" + host(p.node) +
                          ") was started with a different hostfile, selection or master address: it has " +
                          p.layout.dump() + ", node 0 has " + ours.dump();
        reject(why);
        return fail_job(why, 1);
      }
    } else {
      welcome["job"] = job_to_json(o_.job);
    }
    p.conn->send(welcome);
    n.conn = std::move(p.conn);
    n.phase = NodeState::running;
  } else {
    reject("unexpected message during the handshake");
  }
}

void Coordinator::on_node_message(int node, const Json& m) {
  NodeState& n = nodes_[size_t(node)];
  std::string type = m["type"];
  if (type == "rank_end") {
    bool ok = m.value("ok", false);
    if (!ok && !m.value("expected", false))
      fail_job("rank " + std::to_string(m.value("rank", -1)) + " on " + host(node) + " " +
                   m.value("how", std::string("ended")),
               m.value("code", 1));
  } else if (type == "start_failed") {
    fail_job("could not start the ranks on " + host(node) + ": " + m.value("error", std::string("?")), 1);
  } else if (type == "done") {
    n.phase = NodeState::done;
    n.code = m.value("code", 1);
    n.conn->close("done");
    if (n.code != 0) fail_job("the agent on " + host(node) + " ended with code " + std::to_string(n.code), n.code);
  }
}

void Coordinator::check_runner_exits() {
  for (auto& r : runners_) {
    if (r->exited || !r->child.poll_exit()) continue;
    r->exited = true;
    if (r->err) drain(r->err, r->err_relay);
    if (r->out) drain(r->out, r->out_relay);
    std::string never;
    for (int node : r->cmd.nodes)
      if (nodes_[size_t(node)].phase == NodeState::waiting) never += (never.empty() ? "" : ", ") + host(node);
    if (never.empty() || failure_) continue;
    std::string last = r->err_relay.last_line();
    fail_job("could not start the agent on " + never + ": " + r->cmd.label + " " + describe_wait_status(r->child.status()) +
                 (last.empty() ? "" : ": " + last),
             1);
  }
}

void Coordinator::finish_runners() {
  // Agents end with their ranks, which ends ssh/pdsh/mpirun/srun; whatever is still running after a moment goes.
  auto wait_all = [&](long ms) {
    auto until = Clock::now() + milliseconds(ms);
    for (;;) {
      bool all = true;
      std::vector<pollfd> fds;
      for (auto& r : runners_) {
        if (!r->exited && r->child.poll_exit()) r->exited = true;
        all = all && r->exited;
        if (r->out) fds.push_back({r->out.get(), POLLIN, 0});
        if (r->err) fds.push_back({r->err.get(), POLLIN, 0});
      }
      if (all || ms_until(until) <= 0) return all;
      ::poll(fds.data(), fds.size(), 50);
      for (auto& r : runners_) {
        if (r->out) drain(r->out, r->out_relay);
        if (r->err) drain(r->err, r->err_relay);
      }
    }
  };
  // After a failure, runners whose agents never connected have nothing to wind down: they go at once.
  if (failure_)
    for (auto& r : runners_) {
      bool connected = false;
      for (int node : r->cmd.nodes) connected = connected || nodes_[size_t(node)].phase != NodeState::waiting;
      if (!connected && !r->exited) r->child.signal(SIGTERM);
    }
  if (!wait_all(3000)) {
    for (auto& r : runners_)
      if (!r->exited) r->child.signal(SIGTERM);
    if (!wait_all(1000))
      for (auto& r : runners_)
        if (!r->exited) r->child.signal(SIGKILL);
  }
  for (auto& r : runners_) {
    r->child.wait();
    r->exited = true;
    if (r->out) drain(r->out, r->out_relay), r->out_relay.finish(), r->out.reset();
    if (r->err) drain(r->err, r->err_relay), r->err_relay.finish(), r->err.reset();
  }
}

int Coordinator::run() {
  int port = 0;
  Fd listener = listen_tcp(o_.listen_port, port);
  ::fcntl(listener.get(), F_SETFL, O_NONBLOCK);
  std::vector<std::string> dial;
  for (auto& a : o_.dial_addrs) dial.push_back(join_host_port(a, port));
  if (o_.runner.runner == "ssh" && o_.ssh_check) ssh_check(o_.runner, o_.job.layout);

  SignalWatch sigs({SIGCHLD, SIGINT, SIGTERM, SIGHUP});
  start_ = Clock::now();
  for (auto& cmd : runner_commands(o_.runner, o_.job.layout, dial)) runners_.push_back(start_runner(std::move(cmd), -1));
  long waiting_note_ms = 30000;

  for (;;) {
    // Done?
    bool all_done = true, all_settled = true;
    for (auto& n : nodes_) {
      all_done = all_done && n.phase == NodeState::done;
      all_settled = all_settled && n.phase != NodeState::running;
    }
    if (all_done) break;
    if (failure_ && (all_settled || ms_until(stop_deadline_) <= 0)) break;

    std::vector<pollfd> fds = {{sigs.fd(), POLLIN, 0}, {listener.get(), POLLIN, 0}};
    for (auto& p : pending_) fds.push_back({p.conn->fd(), p.conn->events(), 0});
    for (auto& n : nodes_)
      if (n.conn && n.conn->open()) fds.push_back({n.conn->fd(), n.conn->events(), 0});
    for (auto& r : runners_) {
      if (r->out) fds.push_back({r->out.get(), POLLIN, 0});
      if (r->err) fds.push_back({r->err.get(), POLLIN, 0});
    }
    ::poll(fds.data(), fds.size(), kHeartbeatMs / 4);
    auto revents = [&](int fd) -> short {
      for (auto& p : fds)
        if (p.fd == fd) return p.revents;
      return 0;
    };

    for (int s : sigs.take()) {
      if (s == SIGCHLD) continue;
      if (interrupt_) {  // a second interrupt: stop waiting for the agents
        stop_deadline_ = Clock::now();
        continue;
      }
      interrupt_ = s;
      fail_job("interrupted by " + signal_name(s), 128 + s);
    }
    if (revents(listener.get()) & POLLIN) {
      for (;;) {
        SockAddr peer;
        peer.len = sizeof peer.ss;
        int fd = ::accept4(listener.get(), reinterpret_cast<sockaddr*>(&peer.ss), &peer.len, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) break;
        Pending p;
        p.conn = std::make_unique<Conn>(Fd(fd), 64 * 1024);
        p.peer = peer.ip();
        p.deadline = Clock::now() + milliseconds(kHandshakeMs);
        pending_.push_back(std::move(p));
      }
    }
    for (auto& p : pending_) {
      if (!p.conn->open()) continue;
      p.conn->on_poll(revents(p.conn->fd()));
      while (p.conn && p.conn->open())
        if (auto m = p.conn->next()) on_pending_message(p, *m);
        else break;
    }
    std::erase_if(pending_, [](const Pending& p) { return !p.conn || !p.conn->open() || Clock::now() > p.deadline; });

    for (size_t i = 0; i < nodes_.size(); ++i) {
      NodeState& n = nodes_[i];
      if (n.phase != NodeState::running) continue;
      bool alive = n.conn->on_poll(revents(n.conn->fd()));
      while (n.phase == NodeState::running)
        if (auto m = n.conn->next()) on_node_message(int(i), *m);
        else break;
      if (n.phase != NodeState::running) continue;
      std::string why;
      if (!alive) why = n.conn->error();
      else if (n.conn->idle_in_ms() > kHeartbeatLossMs) why = "no heartbeat for " + std::to_string(kHeartbeatLossMs / 1000) + " s";
      if (!why.empty()) {
        n.phase = NodeState::lost;
        n.conn->close(why);
        fail_job("lost contact with the agent on " + host(int(i)) + " (" + why + ")", 1);
      } else if (n.conn->idle_out_ms() >= kHeartbeatMs) {
        n.conn->send({{"type", "ping"}});
      }
    }
    for (auto& r : runners_) {
      if (r->out) drain(r->out, r->out_relay);
      if (r->err) drain(r->err, r->err_relay);
    }
    check_runner_exits();

    long elapsed = -ms_until(start_);
    std::string waiting;
    for (size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i].phase == NodeState::waiting) waiting += (waiting.empty() ? "" : ", ") + host(int(i));
    if (!waiting.empty() && !failure_) {
      if (elapsed > o_.agent_connect_timeout_ms)
        fail_job("the agent on " + waiting + " did not connect back within " +
                     std::to_string(o_.agent_connect_timeout_ms / 1000) + " s (it dials " + dial.front() + ")",
                 1);
      else if (o_.no_ssh && elapsed > waiting_note_ms) {
        say("waiting for " + waiting + " (start `zerotune launch --no_ssh --node_rank K ...` there)");
        waiting_note_ms += 30000;
      }
    }
  }
  for (auto& n : nodes_)
    if (n.conn) n.conn->flush_blocking(500);
  finish_runners();
  if (failure_) {
    say(*failure_ + " (the job was stopped on all " + std::to_string(nodes_.size()) + " node(s))");
    return fail_code_ ? fail_code_ : 1;
  }
  return 0;
}

}  // namespace

int run_coordinator(const CoordinatorOptions& o) { return Coordinator(o).run(); }

}  // namespace zt::launch
