// Network facts for the cluster tools: IPv4 CIDR arithmetic (overlay subnets, fixed container addresses), the
// local interfaces, which one the kernel routes to an address, and NCCL_SOCKET_IFNAME's interface-selection syntax.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zt::cluster {

// ---- IPv4 ----
std::optional<uint32_t> parse_ipv4(const std::string& text);  // dotted quad, host byte order; nullopt if malformed
std::string ipv4_text(uint32_t addr);

struct Ipv4Cidr {
  uint32_t network = 0;  // host byte order, host bits zero
  int prefix = 0;        // 0..32
  uint64_t size() const { return uint64_t(1) << (32 - prefix); }
  bool contains(uint32_t addr) const;
  std::string text() const;  // "10.88.0.0/24"
};

// "10.88.0.0/24". Errors name `what` (a flag or file) and, when host bits are set, suggest the network form.
Ipv4Cidr parse_cidr(const std::string& text, const std::string& what);

// ---- interfaces and routes ----
struct NetInterface {
  std::string name;
  std::vector<std::string> addresses;  // IPv4 and global/site IPv6 addresses, as text
  bool up = false;                     // IFF_UP and IFF_RUNNING (NCCL only considers running interfaces)
  bool loopback = false;
};

// The interfaces in getifaddrs order (NCCL's order), with their addresses; throws on getifaddrs failure.
std::vector<NetInterface> list_interfaces();

struct Route {
  std::string target;     // the address `host` resolved to
  std::string source;     // the local address the kernel picked
  std::string interface;  // the interface holding `source`
};

// Which local address and interface the kernel uses to reach host:port. Resolves `host`, connects a UDP socket
// (which sends nothing) and reads its local address back. Throws zt::Error naming the host when it does not
// resolve or no route exists.
Route route_to(const std::string& host, int port);

// ---- NCCL_SOCKET_IFNAME ----
// NCCL's syntax: a comma-separated list of interface-name prefixes ("eth,ib"); a leading '^' excludes the list
// ("^docker,lo"); a '=' after it (or first) switches from prefix to exact match ("=eth0", "^=eth1"). An entry may
// carry ":port", which interface selection ignores.
struct IfnameFilter {
  bool exclude = false;
  bool exact = false;
  std::vector<std::string> names;
};
IfnameFilter parse_ifname_filter(const std::string& value);
bool ifname_matches(const IfnameFilter& filter, const std::string& ifname);

// The interfaces NCCL's socket transport would use on this host: with NCCL_SOCKET_IFNAME set (longer than one
// character), the running interfaces it matches; otherwise NCCL's own order: "ib" interfaces, else any but
// docker/lo/virbr, else docker, else lo, else virbr. Interfaces without an address are never chosen.
std::vector<std::string> nccl_interfaces(const std::optional<std::string>& socket_ifname,
                                         const std::vector<NetInterface>& interfaces);

}  // namespace zt::cluster
