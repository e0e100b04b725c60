// The master-port check of `zerotune doctor --hostfile`: a short-lived listener on the master's port (what the
// rendezvous store will bind) and connects to it from every node, each side proving it met the other, not a stranger.
#pragma once
#include <ostream>
#include <string>

namespace zt::cluster {

// Binds `port` on every address and prints "ZT-LISTENING <port>"; then answers each connection that says
// "zt-port-probe <host>" with "zt-port-probe-ok" and prints "ZT-ACCEPTED <peer address> <host>", until stdin ends
// (the driver's ssh session closes) or `timeout_s` pass. Throws zt::Error when the port cannot be bound (in use).
void port_probe_listen(int port, int timeout_s, std::ostream& out);

// Connects to host:port within timeout_ms, says hello and waits for the listener's answer. Returns "" when the
// listener answered, else what went wrong (connection refused, timed out, a different program answered).
// `ms` receives the time to connect and hear back.
std::string port_probe_connect(const std::string& host, int port, int timeout_ms, double& ms);

}  // namespace zt::cluster
