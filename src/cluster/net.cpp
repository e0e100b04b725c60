// IPv4 CIDR parsing, the interface list (getifaddrs), route lookup through a connected UDP socket, and NCCL's
// interface filter, each small enough to test on loopback.
#include "cluster/net.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace zt::cluster {

namespace {

// Closes a descriptor on scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Frees a getifaddrs list on scope exit.
struct IfAddrs {
  ifaddrs* head = nullptr;
  IfAddrs() {
    if (getifaddrs(&head) != 0)
      fail(std::string("getifaddrs failed: ") + std::strerror(errno), "the network interface list could not be read");
  }
  IfAddrs(const IfAddrs&) = delete;
  IfAddrs& operator=(const IfAddrs&) = delete;
  ~IfAddrs() {
    if (head) freeifaddrs(head);
  }
};

std::string sockaddr_text(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (sa->sa_family == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
  return buf;
}

// NCCL's list parser: entries split on ',', each "name[:port]"; the port is irrelevant for interfaces.
std::vector<std::string> split_names(const std::string& list) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= list.size()) {
    size_t comma = list.find(',', i);
    std::string item = list.substr(i, comma == std::string::npos ? std::string::npos : comma - i);
    if (auto colon = item.find(':'); colon != std::string::npos) item.resize(colon);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    i = comma + 1;
  }
  return out;
}

}  // namespace

std::optional<uint32_t> parse_ipv4(const std::string& text) {
  uint32_t addr = 0;
  int parts = 0;
  size_t i = 0;
  while (parts < 4) {
    if (i >= text.size() || text[i] < '0' || text[i] > '9') return std::nullopt;
    uint32_t v = 0;
    size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      v = v * 10 + uint32_t(text[i] - '0');
      if (v > 255 || i - start >= 3) return std::nullopt;
      ++i;
    }
    if (i - start > 1 && text[start] == '0') return std::nullopt;  // "010" is octal to inet_aton: refuse it
    addr = (addr << 8) | v;
    ++parts;
    if (parts < 4) {
      if (i >= text.size() || text[i] != '.') return std::nullopt;
      ++i;
    }
  }
  if (i != text.size()) return std::nullopt;
  return addr;
}

std::string ipv4_text(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." + std::to_string((a >> 8) & 255) + "." +
         std::to_string(a & 255);
}

bool Ipv4Cidr::contains(uint32_t addr) const {
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t(0) << (32 - prefix);
  return (addr & mask) == network;
}

std::string Ipv4Cidr::text() const { return ipv4_text(network) + "/" + std::to_string(prefix); }

Ipv4Cidr parse_cidr(const std::string& text, const std::string& what) {
  const std::string form = "write it as ADDRESS/PREFIX, e.g. 10.88.0.0/24";
  auto slash = text.find('/');
  check(slash != std::string::npos, what + ": '" + text + "' is not a CIDR subnet (no /prefix)", form);
  auto addr = parse_ipv4(text.substr(0, slash));
  check(addr.has_value(), what + ": '" + text + "' does not start with an IPv4 address", form);
  std::string p = text.substr(slash + 1);
  bool digits = !p.empty() && p.size() <= 2 && p.find_first_not_of("0123456789") == std::string::npos;
  int prefix = digits ? std::stoi(p) : -1;
  check(prefix >= 0 && prefix <= 32, what + ": '" + text + "' has a bad prefix length (0..32)", form);
  Ipv4Cidr c{*addr, prefix};
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t(0) << (32 - prefix);
  if ((*addr & mask) != *addr) {
    Ipv4Cidr fixed{*addr & mask, prefix};
    fail(what + ": '" + text + "' has host bits set", "did you mean " + fixed.text() + "?");
  }
  return c;
}

std::vector<NetInterface> list_interfaces() {
  IfAddrs list;
  std::vector<NetInterface> out;
  for (ifaddrs* i = list.head; i; i = i->ifa_next) {
    NetInterface* itf = nullptr;
    for (auto& x : out)
      if (x.name == i->ifa_name) itf = &x;
    if (!itf) {
      out.push_back({i->ifa_name, {}, false, false});
      itf = &out.back();
    }
    itf->up = itf->up || ((i->ifa_flags & IFF_UP) && (i->ifa_flags & IFF_RUNNING));
    itf->loopback = itf->loopback || (i->ifa_flags & IFF_LOOPBACK);
    if (!i->ifa_addr) continue;
    int family = i->ifa_addr->sa_family;
    if (family == AF_INET6) {
      auto* a6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      if (IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr) || IN6_IS_ADDR_LINKLOCAL(&a6->sin6_addr)) continue;
    }
    if (family == AF_INET || family == AF_INET6) itf->addresses.push_back(sockaddr_text(i->ifa_addr));
  }
  return out;
}

Route route_to(const std::string& host, int port) {
  check(!host.empty(), "the master address is empty", "pass --master_addr HOST");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  std::string port_text = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &res);
  check(rc == 0, "cannot resolve '" + host + "': " + gai_strerror(rc),
        "check the name (or use its IP address); inside containers, names come from Docker's DNS or /etc/hosts");
  std::string last_error;
  Route r;
  for (addrinfo* a = res; a; a = a->ai_next) {
    Fd s(::socket(a->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (s.fd < 0) continue;
    // connect() on a UDP socket only asks the kernel for a route and fixes the local address; nothing is sent.
    if (::connect(s.fd, a->ai_addr, a->ai_addrlen) != 0) {
      last_error = std::strerror(errno);
      continue;
    }
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    if (::getsockname(s.fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) continue;
    r.target = sockaddr_text(a->ai_addr);
    r.source = sockaddr_text(reinterpret_cast<sockaddr*>(&local));
    break;
  }
  freeaddrinfo(res);
  check(!r.source.empty(), "no route from this host to '" + host + "'" + (last_error.empty() ? "" : ": " + last_error),
        "check the address and this host's routing table (ip route get <address>)");
  for (auto& itf : list_interfaces())
    for (auto& a : itf.addresses)
      if (a == r.source) r.interface = itf.name;
  if (r.interface.empty() && (r.source == "127.0.0.1" || r.source == "::1"))
    for (auto& itf : list_interfaces())
      if (itf.loopback) r.interface = itf.name;
  check(!r.interface.empty(), "the route to '" + host + "' leaves from " + r.source + ", which no interface holds",
        "a transient address change? run the check again");
  return r;
}

IfnameFilter parse_ifname_filter(const std::string& value) {
  IfnameFilter f;
  size_t i = 0;
  if (i < value.size() && value[i] == '^') f.exclude = true, ++i;
  if (i < value.size() && value[i] == '=') f.exact = true, ++i;
  f.names = split_names(value.substr(i));
  return f;
}

bool ifname_matches(const IfnameFilter& f, const std::string& ifname) {
  bool any = false;
  for (auto& n : f.names) {
    bool m = f.exact ? ifname == n : ifname.compare(0, n.size(), n) == 0;
    any = any || m;
  }
  return any != f.exclude;
}

std::vector<std::string> nccl_interfaces(const std::optional<std::string>& socket_ifname,
                                         const std::vector<NetInterface>& interfaces) {
  auto pick = [&](const std::string& filter) {
    IfnameFilter f = parse_ifname_filter(filter);
    std::vector<std::string> out;
    for (auto& itf : interfaces)
      if (itf.up && !itf.addresses.empty() && ifname_matches(f, itf.name)) out.push_back(itf.name);
    return out;
  };
  if (socket_ifname && socket_ifname->size() > 1) return pick(*socket_ifname);
  for (const char* f : {"ib", "^docker,lo,virbr", "docker", "lo", "virbr"})
    if (auto v = pick(f); !v.empty()) return v;
  return {};
}

}  // namespace zt::cluster
