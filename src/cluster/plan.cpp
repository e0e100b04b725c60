// The node list of `cluster init` (from a hostfile through the launch layer's parser, or from nodes.json) and the plan:
// validated names, container names and fixed overlay addresses allocated deterministically from the subnet.
#include <algorithm>
#include <cctype>
#include <set>

#include "cluster/deploy.hpp"
#include "cluster/gpu_probe.hpp"
#include "core/error.hpp"
#include "launch/hostfile.hpp"

namespace zt::cluster {

namespace {

// A name usable as a folder, and turned into a container/host name: letters, digits, '.', '_', '-'.
void check_node_name(const std::string& name, const std::string& origin) {
  bool ok = !name.empty() && name.size() <= 63 && std::isalnum(static_cast<unsigned char>(name[0]));
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  check(ok, origin + ": node name '" + name + "' cannot name a folder and a container",
        "use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit");
  check(name != "localhost" && name != "127.0.0.1",
        origin + ": '" + name + "' is not a cluster node: every container must reach it",
        "name each server by its hostname or LAN address");
}

// "gpu_1.lan" with prefix "zt-" -> "zt-gpu-1-lan": a lower-case DNS label, usable as container and host name.
std::string container_name(const std::string& prefix, const std::string& name) {
  std::string s = prefix;
  for (char c : name) s += (c == '.' || c == '_') ? '-' : char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::vector<NodeSpec> nodes_from_hostfile(const std::string& path, bool cpu_only) {
  auto hf = launch::read_hostfile(path, true);
  check(hf.has_value(), "hostfile " + path + " not found", "pass --hostfile with your servers, one `NAME slots=N` per line");
  std::vector<NodeSpec> out;
  for (auto& e : hf->hosts) {
    NodeSpec n;
    auto at = e.name.find('@');
    n.name = at == std::string::npos ? e.name : e.name.substr(at + 1);
    n.host = e.name;
    n.slots = e.slots;
    n.gpus = cpu_only ? 0 : e.slots;
    n.origin = path + " line " + std::to_string(e.line);
    out.push_back(n);
  }
  return out;
}

std::vector<NodeSpec> nodes_from_json(const Json& j, const std::string& source) {
  const Json* list = &j;
  if (j.is_object()) {
    check(j.contains("nodes"), source + ": expected {\"nodes\": [...]}", "list the servers under \"nodes\"");
    list = &j["nodes"];
  }
  check(list->is_array() && !list->empty(), source + ": \"nodes\" must be a non-empty array",
        "e.g. {\"nodes\": [{\"name\": \"gpu1\", \"host\": \"192.168.1.11\", \"gpus\": 8}]}");
  std::vector<NodeSpec> out;
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& e = (*list)[i];
    std::string where = source + " nodes[" + std::to_string(i) + "]";
    check(e.is_object(), where + " must be an object with name and gpus");
    for (auto& [k, v] : e.items())
      check(k == "name" || k == "host" || k == "gpus" || k == "slots" || k == "address", where + ": unknown key '" + k + "'",
            "the keys are name, host, gpus, slots, address");
    NodeSpec n;
    n.name = json_string(e, "name", where);
    n.origin = where + " (" + n.name + ")";
    n.host = json_opt_string(e, "host", where).value_or(n.name);
    int64_t gpus = json_int(e, "gpus", where);
    check(gpus >= 0 && gpus <= 1024, where + ": gpus must be 0..1024, got " + std::to_string(gpus));
    n.gpus = int(gpus);
    int64_t slots = json_opt_int(e, "slots", where).value_or(std::max<int64_t>(gpus, 1));
    check(slots >= 1 && slots <= 4096, where + ": slots must be 1..4096, got " + std::to_string(slots));
    n.slots = int(slots);
    n.address = json_opt_string(e, "address", where);
    out.push_back(n);
  }
  return out;
}

std::string default_base_image() {
  BuildInfo b = this_build();
  std::string cuda = b.cuda_version ? cuda_version_text(b.cuda_version) : "13.0";
  return "nvidia/cuda:" + cuda + ".0-runtime-ubuntu24.04";
}

DeployPlan plan_deployment(const std::vector<NodeSpec>& nodes, const DeployOptions& o) {
  check(!nodes.empty(), "cluster init: no nodes", "list the servers in --hostfile or --nodes");
  bool prefix_ok = o.container_prefix.size() <= 20;
  for (char c : o.container_prefix) prefix_ok = prefix_ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  check(prefix_ok, "--container_prefix '" + o.container_prefix + "' must be lower-case letters, digits and '-'");
  DeployPlan p;
  p.subnet = parse_cidr(o.subnet, "--subnet");
  check(p.subnet.prefix >= 8, "--subnet " + o.subnet + " is larger than Docker accepts for one network",
        "use a /8 or smaller subnet, e.g. 10.88.0.0/24");
  // Fixed addresses live in the lower half (after the network address and Docker's gateway); the upper half is the
  // network's --ip-range, where Docker puts the load-balancer endpoint each node adds and any helper container,
  // so dynamic addresses never take one of ours.
  uint64_t half = p.subnet.size() / 2;
  uint32_t first = p.subnet.network + 2, last = uint32_t(p.subnet.network + half - 1);
  int64_t capacity = int64_t(half) - 2;
  check(capacity >= int64_t(nodes.size()),
        "--subnet " + o.subnet + " has room for " + std::to_string(std::max<int64_t>(capacity, 0)) +
            " fixed addresses (its lower half, less the network address and the gateway); " +
            std::to_string(nodes.size()) + " nodes need one each",
        "use a larger subnet, e.g. 10.88.0.0/24");
  p.gateway = ipv4_text(p.subnet.network + 1);
  p.ip_range = Ipv4Cidr{uint32_t(p.subnet.network + half), p.subnet.prefix + 1}.text();

  std::set<std::string> names, containers;
  std::set<uint32_t> taken;
  for (auto& n : nodes) {
    check_node_name(n.name, n.origin);
    check(names.insert(n.name).second, n.origin + ": node '" + n.name + "' is listed twice", "each server once");
    std::string c = container_name(o.container_prefix, n.name);
    check(c.size() <= 63, n.origin + ": container name '" + c + "' is longer than 63 characters", "use a shorter name or prefix");
    check(containers.insert(c).second,
          n.origin + ": node '" + n.name + "' gives container name '" + c + "', which another node already has",
          "names that differ only in case, '.' or '_' map to the same container: rename one");
    if (n.address) {
      auto a = parse_ipv4(*n.address);
      check(a.has_value(), n.origin + ": address '" + *n.address + "' is not an IPv4 address");
      check(*a >= first && *a <= last,
            n.origin + ": address " + *n.address + " is outside " + ipv4_text(first) + "-" + ipv4_text(last) +
                ", the fixed part of --subnet " + o.subnet,
            "pick an address in that range, or leave it out to have one allocated");
      check(taken.insert(*a).second, n.origin + ": address " + *n.address + " is used by another node");
    }
  }
  uint32_t next = first;
  for (auto& n : nodes) {
    PlannedNode pn;
    pn.spec = n;
    pn.container = container_name(o.container_prefix, n.name);
    if (n.address) {
      pn.address = *n.address;
    } else {
      while (taken.count(next)) ++next;  // capacity was checked: this stays within the static half
      taken.insert(next);
      pn.address = ipv4_text(next);
    }
    p.world_size += n.slots;
    p.nodes.push_back(pn);
  }
  return p;
}

}  // namespace zt::cluster
