// Job description (to and from JSON for agents) and the per-rank environment contract.
#include "launch/job.hpp"

#include "core/error.hpp"
#include "launch/net.hpp"

namespace zt::launch {

Json layout_to_json(const WorldLayout& w) {
  Json nodes = Json::array();
  for (auto& n : w.nodes) nodes.push_back({{"host", n.host}, {"slots", n.slots}, {"line", n.hostfile_line}});
  return nodes;
}

Json job_to_json(const JobSpec& s) {
  return {{"command", s.command},
          {"no_local_rank", s.no_local_rank},
          {"env", s.env},
          {"cwd", s.cwd},
          {"log_dir", s.log_dir},
          {"bind_cores", s.bind_cores},
          {"bind_core_list", s.bind_core_list},
          {"nodes", layout_to_json(s.layout)},
          {"cpu_ranks", s.cpu_ranks},
          {"master_addr", s.master_addr},
          {"master_port", s.master_port},
          {"grace_ms", s.grace_ms},
          {"choose_socket_ifname", s.choose_socket_ifname}};
}

JobSpec job_from_json(const Json& j) {
  const std::string where = "job description from the launcher";
  check(j.is_object(), where + ": not an object");
  JobSpec s;
  try {
    s.command = j.at("command").get<std::vector<std::string>>();
    s.no_local_rank = j.at("no_local_rank").get<bool>();
    s.env = j.at("env").get<EnvMap>();
    s.cwd = j.at("cwd").get<std::string>();
    s.log_dir = j.at("log_dir").get<std::string>();
    s.bind_cores = j.at("bind_cores").get<bool>();
    s.bind_core_list = j.at("bind_core_list").get<std::string>();
    std::vector<Node> nodes;
    for (auto& n : j.at("nodes")) nodes.push_back({n.at("host").get<std::string>(), n.at("slots").get<std::vector<int>>(),
                                                   n.at("line").get<int>()});
    s.layout = make_layout(std::move(nodes));
    s.cpu_ranks = j.at("cpu_ranks").get<bool>();
    s.master_addr = j.at("master_addr").get<std::string>();
    s.master_port = j.at("master_port").get<int>();
    s.grace_ms = j.at("grace_ms").get<int>();
    s.choose_socket_ifname = j.at("choose_socket_ifname").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    fail(where + ": " + e.what(), "the launcher and this node run different zerotune versions?");
  }
  check(!s.command.empty() && !s.layout.nodes.empty() && s.grace_ms >= 0 && s.grace_ms <= 60000,
        where + ": incomplete");
  for (auto& n : s.layout.nodes) check(!n.slots.empty(), where + ": node " + n.host + " has no slots");
  return s;
}

// The interface that carries traffic to the master from this host.
static std::string interface_to_master(const std::string& master, std::string& err) {
  auto addr = resolve_host(master, err);
  if (!addr) return "";
  if (is_local_address(*addr) && !addr->is_loopback()) return interface_with_address(addr->ip());
  auto r = route_to(*addr, err);
  if (!r) return "";
  if (r->ifname.empty()) err = "no interface holds the source address " + r->source;
  return r->ifname;
}

NodePlan plan_node(const JobSpec& spec, int node, const EnvMap& base, const std::string& secret_hex) {
  check(node >= 0 && size_t(node) < spec.layout.nodes.size(), "node rank " + std::to_string(node) + " is not in the job");
  const Node& n = spec.layout.nodes[size_t(node)];
  NodePlan plan;
  EnvMap env = base;
  for (auto& [k, v] : spec.env) env[k] = v;
  int local_size = int(n.slots.size());
  env["WORLD_SIZE"] = std::to_string(spec.layout.world_size);
  env["LOCAL_SIZE"] = std::to_string(local_size);
  env["CROSS_RANK"] = std::to_string(node);
  env["CROSS_SIZE"] = std::to_string(spec.layout.nodes.size());
  env["MASTER_ADDR"] = spec.master_addr;
  env["MASTER_PORT"] = std::to_string(spec.master_port);
  env["ZEROTUNE_JOB_SECRET"] = secret_hex;
  env["ZEROTUNE_HOST"] = n.host;
  if (!spec.cpu_ranks) env["CUDA_VISIBLE_DEVICES"] = join_slots(n.slots);
  if (spec.choose_socket_ifname && !env.count("NCCL_SOCKET_IFNAME")) {
    std::string err, ifname = interface_to_master(spec.master_addr, err);
    if (ifname.empty()) {
      plan.notes.push_back("could not tell which interface reaches the master " + spec.master_addr + " (" + err +
                           "); NCCL and Gloo choose on their own (set NCCL_SOCKET_IFNAME to choose)");
    } else {
      env["NCCL_SOCKET_IFNAME"] = ifname;
      std::string set = "NCCL_SOCKET_IFNAME=" + ifname;
      if (!env.count("GLOO_SOCKET_IFNAME")) {
        env["GLOO_SOCKET_IFNAME"] = ifname;
        set += " GLOO_SOCKET_IFNAME=" + ifname;
      }
      plan.notes.push_back(set + " (the interface that reaches the master " + spec.master_addr +
                           "; set NCCL_SOCKET_IFNAME to choose another)");
    }
  }
  std::vector<int> cores;
  if (spec.bind_cores) {
    cores = spec.bind_core_list.empty() ? allowed_cpus() : parse_core_list(spec.bind_core_list, "--bind_core_list");
    check(int(cores.size()) >= local_size,
          "--bind_cores_to_rank: " + std::to_string(cores.size()) + " core(s) for " + std::to_string(local_size) +
              " ranks on " + n.host,
          "give --bind_core_list at least one core per rank, or start fewer ranks per node");
    env["OMP_NUM_THREADS"] = std::to_string(cores.size() / size_t(local_size));
  }
  for (int l = 0; l < local_size; ++l) {
    RankSpec r;
    r.rank = spec.layout.rank_of(node, l);
    r.local_rank = l;
    r.argv = spec.command;
    if (!spec.no_local_rank) r.argv.push_back("--local_rank=" + std::to_string(l));
    EnvMap e = env;
    e["RANK"] = std::to_string(r.rank);
    e["LOCAL_RANK"] = std::to_string(l);
    r.env = env_strings(e);
    if (spec.bind_cores) r.cpus = cores_for_rank(cores, local_size, l);
    plan.ranks.push_back(std::move(r));
  }
  return plan;
}

}  // namespace zt::launch
