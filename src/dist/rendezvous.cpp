// Rank identity from the launcher's environment (DeepSpeed-style, OpenMPI, Slurm) and init_comm: rank 0 serves the
// store, every rank arrives, the backend for the device is built, and a last store barrier closes the start-up.
#include "dist/rendezvous.hpp"

#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"
#include "dist/auth.hpp"
#include "dist/backends.hpp"
#include "dist/store.hpp"

namespace zt::dist {

namespace {

using std::chrono::milliseconds;

std::optional<std::string> lookup(const EnvLookup& env, const std::string& name) {
  auto v = env(name);
  if (v && v->empty()) return std::nullopt;  // an empty variable counts as unset
  return v;
}

// Strict decimal integer (no sign, spaces or suffix), naming the variable on failure.
int parse_int_var(const std::string& name, const std::string& value) {
  bool ok = !value.empty() && value.size() <= 9;
  for (char c : value) ok = ok && c >= '0' && c <= '9';
  check(ok, name + "='" + value + "' is not a non-negative integer", "the launcher sets " + name + "; check the job's environment");
  return std::stoi(value);
}

std::optional<int> int_var(const EnvLookup& env, const std::string& name) {
  auto v = lookup(env, name);
  if (!v) return std::nullopt;
  return parse_int_var(name, *v);
}

// A 0/1 switch: `out` keeps its default when `name` is unset.
void switch_var(const EnvLookup& env, const std::string& name, bool& out) {
  if (auto v = lookup(env, name)) {
    check(*v == "0" || *v == "1", name + "='" + *v + "' must be 0 or 1", "unset " + name + " for the default");
    out = *v == "1";
  }
}

int required_int(const EnvLookup& env, const std::string& name, const std::string& why) {
  auto v = int_var(env, name);
  check(v.has_value(), name + " is not set but " + why, "the launcher sets it for every rank; check the job's environment");
  return *v;
}

// The first of `names` that is set (its value goes to `value`).
std::optional<std::string> first_set(const EnvLookup& env, const std::vector<std::string>& names, std::string& value) {
  for (const auto& n : names) {
    if (auto v = lookup(env, n)) {
      value = *v;
      return n;
    }
  }
  return std::nullopt;
}

struct VarNames {
  std::string rank, world, local_rank, local_size, node_rank, num_nodes;
};

// Range and consistency checks shared by every source; messages name the source's variables.
void validate(const RankInfo& r, const VarNames& n) {
  check(r.world_size >= 1, n.world + "=" + std::to_string(r.world_size) + " must be at least 1");
  check(r.rank < r.world_size, n.rank + "=" + std::to_string(r.rank) + " is out of range for " + n.world + "=" +
                                   std::to_string(r.world_size) + " (ranks are 0.." + std::to_string(r.world_size - 1) + ")");
  check(r.local_size >= 1 && r.local_size <= r.world_size,
        n.local_size + "=" + std::to_string(r.local_size) + " must be between 1 and " + n.world + "=" +
            std::to_string(r.world_size));
  check(r.local_rank < r.local_size, n.local_rank + "=" + std::to_string(r.local_rank) + " is not below " +
                                         n.local_size + "=" + std::to_string(r.local_size));
  check(r.num_nodes >= 1 && r.num_nodes <= r.world_size,
        n.num_nodes + "=" + std::to_string(r.num_nodes) + " must be between 1 and " + n.world + "=" +
            std::to_string(r.world_size));
  check(r.node_rank < r.num_nodes, n.node_rank + "=" + std::to_string(r.node_rank) + " is not below " + n.num_nodes +
                                       "=" + std::to_string(r.num_nodes));
  check(r.num_nodes > 1 || r.local_size == r.world_size,
        n.local_size + "=" + std::to_string(r.local_size) + " differs from " + n.world + "=" +
            std::to_string(r.world_size) + " on a single node (" + n.num_nodes + "=1)",
        "set the node count and rank (" + n.num_nodes + ", " + n.node_rank + ") for a multi-node job");
  check(r.rank >= r.local_rank, n.rank + "=" + std::to_string(r.rank) + " is below " + n.local_rank + "=" +
                                    std::to_string(r.local_rank));
}

RankInfo from_launcher_env(const EnvLookup& env) {
  RankInfo r;
  r.source = "env";
  auto rank = int_var(env, "RANK");
  auto world = int_var(env, "WORLD_SIZE");
  check(rank.has_value() == world.has_value(),
        rank ? "RANK is set but WORLD_SIZE is not" : "WORLD_SIZE is set but RANK is not",
        "a launcher sets RANK and WORLD_SIZE together (and LOCAL_RANK, MASTER_ADDR, MASTER_PORT)");
  r.rank = *rank;
  r.world_size = *world;
  check(r.world_size >= 1, "WORLD_SIZE=" + std::to_string(r.world_size) + " must be at least 1");
  if (r.world_size > 1) r.local_rank = required_int(env, "LOCAL_RANK", "WORLD_SIZE=" + std::to_string(r.world_size) +
                                                                          " (it selects this rank's GPU)");
  else r.local_rank = int_var(env, "LOCAL_RANK").value_or(0);
  auto cross_size = int_var(env, "CROSS_SIZE");
  auto cross_rank = int_var(env, "CROSS_RANK");
  check(cross_size.has_value() == cross_rank.has_value(),
        cross_size ? "CROSS_SIZE is set but CROSS_RANK is not" : "CROSS_RANK is set but CROSS_SIZE is not",
        "CROSS_RANK (this node's index) and CROSS_SIZE (the number of nodes) go together");
  std::string local_name = "LOCAL_SIZE";
  auto local_size = int_var(env, "LOCAL_SIZE");
  if (!local_size && (local_size = int_var(env, "LOCAL_WORLD_SIZE"))) local_name = "LOCAL_WORLD_SIZE";
  if (!local_size) {
    int nodes = cross_size.value_or(1);
    check(nodes >= 1 && r.world_size % nodes == 0,
          "LOCAL_SIZE is not set and WORLD_SIZE=" + std::to_string(r.world_size) + " does not divide evenly over CROSS_SIZE=" +
              std::to_string(nodes) + " nodes",
          "set LOCAL_SIZE to the number of ranks on this node");
    local_size = r.world_size / nodes;
  }
  r.local_size = *local_size;
  check(r.local_size >= 1, local_name + "=" + std::to_string(r.local_size) + " must be at least 1");
  if (cross_size) {
    r.num_nodes = *cross_size;
    r.node_rank = *cross_rank;
  } else {
    check(r.world_size % r.local_size == 0,
          "WORLD_SIZE=" + std::to_string(r.world_size) + " is not a multiple of " + local_name + "=" +
              std::to_string(r.local_size) + " and CROSS_RANK/CROSS_SIZE are not set",
          "set CROSS_RANK (this node's index) and CROSS_SIZE (the number of nodes)");
    r.num_nodes = r.world_size / r.local_size;
    r.node_rank = r.rank / r.local_size;
  }
  validate(r, {"RANK", "WORLD_SIZE", "LOCAL_RANK", local_name, cross_size ? "CROSS_RANK" : "RANK/" + local_name,
               cross_size ? "CROSS_SIZE" : "WORLD_SIZE/" + local_name});
  return r;
}

RankInfo from_openmpi(const EnvLookup& env) {
  RankInfo r;
  r.source = "openmpi";
  r.rank = required_int(env, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE is set");
  r.world_size = required_int(env, "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK is set");
  r.local_rank = required_int(env, "OMPI_COMM_WORLD_LOCAL_RANK", "this is an OpenMPI job");
  r.local_size = required_int(env, "OMPI_COMM_WORLD_LOCAL_SIZE", "this is an OpenMPI job");
  check(r.local_size >= 1 && r.world_size >= 1, "OMPI_COMM_WORLD_SIZE and OMPI_COMM_WORLD_LOCAL_SIZE must be at least 1");
  // OpenMPI does not say which node this is: with its default by-slot mapping nodes hold consecutive ranks.
  r.num_nodes = (r.world_size + r.local_size - 1) / r.local_size;
  r.node_rank = std::min(r.rank / r.local_size, r.num_nodes - 1);
  validate(r, {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
               "OMPI_COMM_WORLD_LOCAL_SIZE", "node index", "node count"});
  return r;
}

RankInfo from_slurm(const EnvLookup& env, std::string& master_default) {
  RankInfo r;
  r.source = "slurm";
  std::string v;
  std::optional<std::string> world_var = first_set(env, {"SLURM_STEP_NUM_TASKS", "SLURM_NTASKS", "SLURM_NPROCS"}, v);
  check(world_var.has_value(), "SLURM_PROCID is set but none of SLURM_STEP_NUM_TASKS/SLURM_NTASKS is",
        "run the ranks with srun (it sets them)");
  r.world_size = parse_int_var(*world_var, v);
  check(r.world_size >= 1, *world_var + "=" + v + " must be at least 1");
  r.rank = required_int(env, "SLURM_PROCID", "this is a Slurm step");
  r.local_rank = required_int(env, "SLURM_LOCALID", "this is a Slurm step");
  r.node_rank = required_int(env, "SLURM_NODEID", "this is a Slurm step");
  std::optional<std::string> nodes_var = first_set(env, {"SLURM_STEP_NUM_NODES", "SLURM_NNODES", "SLURM_JOB_NUM_NODES"}, v);
  r.num_nodes = nodes_var ? parse_int_var(*nodes_var, v) : 1;
  check(r.num_nodes >= 1, (nodes_var ? *nodes_var : std::string("node count")) + "=" + v + " must be at least 1");
  std::string local_name = "SLURM_STEP_TASKS_PER_NODE";
  if (std::optional<std::string> tpn = first_set(env, {"SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE"}, v)) {
    local_name = *tpn;
    r.local_size = slurm_tasks_on_node(v, r.node_rank, *tpn);
  } else {
    check(r.world_size % r.num_nodes == 0, "SLURM_STEP_TASKS_PER_NODE is not set and the tasks do not divide evenly "
                                           "over the nodes", "run the ranks with srun (it sets it)");
    r.local_size = r.world_size / r.num_nodes;
  }
  validate(r, {"SLURM_PROCID", *world_var, "SLURM_LOCALID", local_name, "SLURM_NODEID",
               nodes_var ? *nodes_var : "SLURM_STEP_NUM_NODES"});
  if (first_set(env, {"SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_NODELIST"}, v)) master_default = slurm_first_host(v);
  return r;
}

std::string join_ranks(const std::vector<int>& ranks) {
  std::string s;
  for (size_t i = 0; i < ranks.size() && i < 32; ++i) s += (i ? ", " : "") + std::to_string(ranks[i]);
  if (ranks.size() > 32) s += " and " + std::to_string(ranks.size() - 32) + " more";
  return s;
}

double seconds_var(const EnvLookup& env, const std::string& name, double def) {
  auto v = lookup(env, name);
  if (!v) return def;
  char* end = nullptr;
  double d = std::strtod(v->c_str(), &end);
  check(end && *end == '\0' && d > 0 && d < 1e7, name + "='" + *v + "' is not a positive number of seconds");
  return d;
}

milliseconds to_ms(double s) { return milliseconds(int64_t(s * 1000.0)); }

// Every rank sets "<name>/<rank>" and waits for all of them; the error lists the ranks that did not come.
void store_barrier(TcpStore& store, const std::string& name, const RankInfo& info, const std::string& value,
                   milliseconds timeout, const std::string& what) {
  store.set(name + "/" + std::to_string(info.rank), value);
  std::vector<std::string> keys;
  keys.reserve(size_t(info.world_size));
  for (int r = 0; r < info.world_size; ++r) keys.push_back(name + "/" + std::to_string(r));
  auto missing = store.wait_missing(keys, timeout);
  if (missing.empty()) return;
  std::vector<int> ranks;
  for (const auto& k : missing) ranks.push_back(std::stoi(k.substr(name.size() + 1)));
  fail("rank " + std::to_string(info.rank) + ": rank" + (ranks.size() > 1 ? "s " : " ") + join_ranks(ranks) + " (" +
           std::to_string(ranks.size()) + " of " + std::to_string(info.world_size) + ") did not " + what +
           " within " + std::to_string(timeout.count() / 1000) + " s (rendezvous " + store.address() + ")",
       "they may have failed to start or crashed (see their logs), run on a host that cannot reach MASTER_ADDR, or "
       "have a different MASTER_ADDR/MASTER_PORT/WORLD_SIZE; ZEROTUNE_RDZV_TIMEOUT sets the wait");
}

// What init_comm's Comm keeps alive: the store client and, on rank 0, the server.
struct Rendezvous {
  std::unique_ptr<StoreServer> server;
  std::unique_ptr<TcpStore> store;
  ~Rendezvous() {
    store.reset();  // the client goes first so the server does not log it as a lost connection
    server.reset();
  }
};

}  // namespace

std::string RankInfo::str() const {
  return "rank " + std::to_string(rank) + "/" + std::to_string(world_size) + " (local " + std::to_string(local_rank) +
         "/" + std::to_string(local_size) + ", node " + std::to_string(node_rank) + "/" + std::to_string(num_nodes) +
         ") via " + source + ", rendezvous " + host_port(master_addr, master_port);
}

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

RankInfo rank_info_from_env() { return rank_info_from_env(process_env()); }

RankInfo rank_info_from_env(const EnvLookup& env) {
  RankInfo r;
  std::string master_default;
  std::string v;
  if (lookup(env, "RANK") || lookup(env, "WORLD_SIZE")) {
    r = from_launcher_env(env);
  } else if (lookup(env, "OMPI_COMM_WORLD_RANK") || lookup(env, "OMPI_COMM_WORLD_SIZE")) {
    r = from_openmpi(env);
  } else if (lookup(env, "SLURM_PROCID") &&
             (lookup(env, "SLURM_STEP_NUM_TASKS") || lookup(env, "SLURM_STEP_ID") || lookup(env, "SLURM_STEPID"))) {
    r = from_slurm(env, master_default);
  }
  if (auto addr = lookup(env, "MASTER_ADDR")) {
    r.master_addr = *addr;
  } else if (r.world_size == 1 || r.num_nodes == 1) {
    r.master_addr = "127.0.0.1";
  } else if (!master_default.empty()) {
    r.master_addr = master_default;
  } else {
    fail("MASTER_ADDR is not set for a job of " + std::to_string(r.world_size) + " ranks on " +
             std::to_string(r.num_nodes) + " nodes (" + r.source + ")",
         "set MASTER_ADDR to an address of rank 0's host that every node reaches (the zerotune launcher does this)");
  }
  if (auto port = lookup(env, "MASTER_PORT")) {
    r.master_port = parse_int_var("MASTER_PORT", *port);
    check(r.master_port >= 1 && r.master_port <= 65535, "MASTER_PORT=" + *port + " is not a TCP port (1..65535)");
  }
  return r;
}

std::string slurm_first_host(const std::string& nodelist) {
  // The first entry ends at a comma outside brackets; a bracket range expands to its first number.
  std::string host;
  size_t i = 0;
  while (i < nodelist.size() && nodelist[i] != ',' && nodelist[i] != '[') host += nodelist[i++];
  if (i < nodelist.size() && nodelist[i] == '[') {
    ++i;
    std::string first;
    while (i < nodelist.size() && nodelist[i] != '-' && nodelist[i] != ',' && nodelist[i] != ']') first += nodelist[i++];
    check(i < nodelist.size() && !first.empty(), "cannot read the Slurm node list '" + nodelist + "'",
          "set MASTER_ADDR to rank 0's host");
    host += first;
    // text after the bracket belongs to the host name too ("n[1-2]-ib")
    size_t close = nodelist.find(']', i);
    check(close != std::string::npos, "cannot read the Slurm node list '" + nodelist + "'", "set MASTER_ADDR to rank 0's host");
    for (i = close + 1; i < nodelist.size() && nodelist[i] != ','; ++i) host += nodelist[i];
  }
  check(!host.empty(), "the Slurm node list '" + nodelist + "' is empty", "set MASTER_ADDR to rank 0's host");
  return host;
}

int slurm_tasks_on_node(const std::string& spec, int node, const std::string& var) {
  // "4(x2),3" = 4 tasks on each of two nodes, then 3.
  int index = 0;
  size_t i = 0;
  auto bad = [&] { fail(var + "='" + spec + "' is not a Slurm tasks-per-node list like 4(x2),3"); };
  while (i < spec.size()) {
    size_t j = i;
    while (j < spec.size() && std::isdigit(static_cast<unsigned char>(spec[j]))) ++j;
    if (j == i) bad();
    int tasks = parse_int_var(var, spec.substr(i, j - i));
    int repeat = 1;
    if (j < spec.size() && spec[j] == '(') {
      if (j + 1 >= spec.size() || spec[j + 1] != 'x') bad();
      size_t k = j + 2, e = k;
      while (e < spec.size() && std::isdigit(static_cast<unsigned char>(spec[e]))) ++e;
      if (e == k || e >= spec.size() || spec[e] != ')') bad();
      repeat = parse_int_var(var, spec.substr(k, e - k));
      j = e + 1;
    }
    if (node < index + repeat) return tasks;
    index += repeat;
    if (j < spec.size() && spec[j] != ',') bad();
    i = j + 1;
  }
  fail(var + "='" + spec + "' lists " + std::to_string(index) + " nodes, but this is node " + std::to_string(node));
}

CommOptions comm_options_from_env(const RankInfo& info) { return comm_options_from_env(info, process_env()); }

CommOptions comm_options_from_env(const RankInfo& info, const EnvLookup& env) {
  CommOptions o;
  if (auto s = lookup(env, "ZEROTUNE_JOB_SECRET")) o.secret = parse_secret_hex(*s, "ZEROTUNE_JOB_SECRET");
  switch_var(env, "ZEROTUNE_ALLOW_INSECURE_RDZV", o.allow_insecure);
  check(!o.secret.empty() || o.allow_insecure || info.world_size == 1,
        "ZEROTUNE_JOB_SECRET is not set for a job of " + std::to_string(info.world_size) +
            " ranks: the rendezvous store accepts only ranks that know the job's secret",
        "launch with `zerotune launch` (it sets a fresh secret), or export the same random value on every rank "
        "(ZEROTUNE_JOB_SECRET=$(openssl rand -hex 32)); ZEROTUNE_ALLOW_INSECURE_RDZV=1 skips authentication on a "
        "network you trust");
  o.rdzv_timeout = to_ms(seconds_var(env, "ZEROTUNE_RDZV_TIMEOUT", 300));
  o.comm_timeout = to_ms(seconds_var(env, "ZEROTUNE_COMM_TIMEOUT", 600));
  if (auto i = lookup(env, "GLOO_SOCKET_IFNAME")) o.gloo_ifname = *i;
  if (auto c = lookup(env, "ZEROTUNE_COMM_SMS")) {
    char* end = nullptr;
    const long n = std::strtol(c->c_str(), &end, 10);
    check(!c->empty() && *end == '\0' && n >= 0 && n <= 64,
          "ZEROTUNE_COMM_SMS='" + *c + "' must be a whole number of SMs from 0 to 64",
          "unset it for NCCL's own choice, or give e.g. 8");
    o.comm_sms = int(n);
  }
  switch_var(env, "ZEROTUNE_COMM_CE", o.copy_engine);
  switch_var(env, "ZEROTUNE_COMM_TRACE", o.trace);
  return o;
}

std::unique_ptr<Comm> init_comm(const RankInfo& info, Device device) {
  if (info.world_size == 1) return make_single_comm();
  return init_comm(info, device, comm_options_from_env(info));
}

namespace {
std::unique_ptr<Comm> meet(const RankInfo& info, Device device, const CommOptions& o, std::shared_ptr<Rendezvous> rdzv);
}

std::unique_ptr<Comm> init_comm(const RankInfo& info, Device device, const CommOptions& o) {
  if (info.world_size == 1) return make_single_comm();
  check(o.allow_insecure || !o.secret.empty(), "init_comm: no job secret for a job of " +
                                                   std::to_string(info.world_size) + " ranks",
        "set ZEROTUNE_JOB_SECRET (or ZEROTUNE_ALLOW_INSECURE_RDZV=1 on a trusted network)");
#ifndef ZT_HAVE_NCCL
  check(!device.is_cuda(), "this zerotune build has no NCCL: it cannot run " + std::to_string(info.world_size) +
                               " ranks on GPUs", "build with the CUDA toolkit and NCCL (/usr/local/cuda) present");
#endif
  if (info.num_nodes > 1) {
    // A host name that resolves to 127.0.1.1 (Debian's /etc/hosts) would put the store where no other node reaches.
    std::string via = local_address_towards(info.master_addr, info.master_port);
    check(!is_loopback_host(via) && !is_loopback_host(info.master_addr),
          "MASTER_ADDR " + info.master_addr + " is a loopback address on host " + hostname() + " but the job spans " +
              std::to_string(info.num_nodes) + " nodes",
          "set MASTER_ADDR to an address of rank 0's host that the other nodes reach (not a name that /etc/hosts maps "
          "to 127.0.x.x)");
  }
  auto rdzv = std::make_shared<Rendezvous>();
  if (info.rank == 0) {
    // Bind to MASTER_ADDR when it is ours (a loopback address keeps the store off the network), else everywhere.
    std::string bind = info.master_addr;
    if (!is_loopback_host(bind) && !is_local_address(bind)) {
      log::info("rendezvous: MASTER_ADDR " + bind + " is not an address of this host (" + hostname() +
                "); the store listens on every interface");
      bind = "";
    }
    rdzv->server = std::make_unique<StoreServer>(bind == "localhost" ? "127.0.0.1" : bind, info.master_port, o.secret);
  }
  try {
    return meet(info, device, o, rdzv);
  } catch (...) {
    if (rdzv->server) {
      // Rank 0 failed: keep serving until the others got their answers (they wait as long as rank 0 did).
      rdzv->store.reset();
      rdzv->server->linger(std::min<milliseconds>(o.rdzv_timeout, milliseconds(10'000)));
    }
    throw;
  }
}

namespace {
std::unique_ptr<Comm> meet(const RankInfo& info, Device device, const CommOptions& o, std::shared_ptr<Rendezvous> rdzv) {
  StoreClientOptions so;
  so.host = info.master_addr;
  so.port = info.master_port;
  so.secret = o.secret;
  so.rank = info.rank;
  so.connect_timeout = o.rdzv_timeout;
  rdzv->store = std::make_unique<TcpStore>(so);
  TcpStore& store = *rdzv->store;

  // Arrival: a second process claiming this rank is a launch error worth naming.
  const std::string me = "host=" + hostname() + " pid=" + std::to_string(::getpid()) +
                         " world=" + std::to_string(info.world_size);
  int64_t claims = store.add("zt/claim/" + std::to_string(info.rank), 1);
  check(claims == 1, "two processes claim rank " + std::to_string(info.rank) + " (this one: " + me + ")",
        "each rank needs a distinct RANK; check the launcher's environment");
  // WORLD_SIZE must agree before anyone waits for ranks that may not exist.
  if (info.rank == 0) store.set("zt/world", std::to_string(info.world_size));
  std::string world0 = store.get("zt/world", o.rdzv_timeout);
  check(world0 == std::to_string(info.world_size),
        "rank " + std::to_string(info.rank) + " has WORLD_SIZE=" + std::to_string(info.world_size) + " but rank 0 has " +
            world0,
        "every rank of a job needs the same WORLD_SIZE; another job may share this MASTER_ADDR/MASTER_PORT");
  store_barrier(store, "zt/arrive", info, me, o.rdzv_timeout, "arrive at the rendezvous");

  BackendOptions bo;
  bo.rank = info.rank;
  bo.size = info.world_size;
  bo.timeout = o.comm_timeout;
  bo.master_addr = info.master_addr;
  bo.master_port = info.master_port;
  bo.gloo_ifname = o.gloo_ifname;
  bo.cuda_device = device.index;
  bo.max_ctas = o.comm_sms;
  bo.copy_engine = o.copy_engine;
  bo.trace = o.trace;
  std::unique_ptr<Comm> comm;
  if (device.is_cpu()) {
    bo.key_prefix = "zt/gloo/";
    comm = make_gloo_comm(store, bo, rdzv);
  } else {
#ifdef ZT_HAVE_NCCL
    bo.key_prefix = "zt/nccl/";
    comm = make_nccl_comm(store, bo, rdzv);
#endif
  }
  store_barrier(store, "zt/ready", info, "1", o.rdzv_timeout,
                std::string("finish setting up the ") + comm->backend() + " communicator");
  if (info.rank == 0)
    log::info("rendezvous: " + std::to_string(info.world_size) + " ranks on " + std::to_string(info.num_nodes) +
              " node(s) connected (" + comm->backend() + ", store " + store.address() + ")");
  return comm;
}
}  // namespace

}  // namespace zt::dist
