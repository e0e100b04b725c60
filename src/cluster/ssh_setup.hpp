// `zerotune cluster ssh-setup`: passwordless ssh among the nodes of a hostfile without ever turning host-key checking
// off — a key here, host keys scanned and verified, every node's key authorized on every node — and the proof: ssh
// from every node to every node (through a first hop from here), printed as a matrix.
#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "cluster/remote.hpp"

namespace zt::cluster {

struct SshSetupOptions {
  std::string hostfile;        // DeepSpeed syntax; user@host entries keep their user
  std::string user;            // login user for entries without user@ ("" = ssh's default)
  SshOptions ssh;              // port, connect timeout, extra ssh arguments (used from here only)
  std::string key;             // this machine's key ("" = ~/.ssh/id_ed25519 of the user, as ssh finds it)
  bool check_only = false;     // only prove node-to-node ssh and print the matrix
  bool allow_prompt = true;    // a node that refuses every key we have gets one interactive ssh (password)
  int matrix_timeout_s = 5;    // ConnectTimeout of the node-to-node probes
};

// One node as ssh-setup reaches it.
struct SshNode {
  std::string entry;   // as written in the hostfile
  std::string target;  // what ssh is given: user@host or host
  std::string name;    // the host part: the name node-to-node ssh uses and known_hosts records
  int line = 0;        // hostfile line
};
std::vector<SshNode> ssh_nodes(const std::string& hostfile, const std::string& user);

// The node-to-node result: cells[from][to] is "" when ssh worked, else the error ssh printed.
struct SshMatrix {
  std::vector<std::string> names;               // row and column labels, in hostfile order
  std::vector<std::vector<std::string>> cells;  // [from][to]
  std::vector<std::string> row_error;           // per row: why this node could not be asked at all ("" = asked)
  bool all_ok() const;
};
// Rows "from", columns "to": "ok" or the short reason; a row that could not be reached says so in every cell.
std::string format_matrix(const SshMatrix& m);
// The failures grouped by target and reason, each with the fix; "" when all ok.
std::string explain_matrix(const SshMatrix& m, int ssh_port);

// The /bin/sh scripts run on the nodes (data comes on stdin, one item per line), exposed for tests:
// install: stdin "A <public key>" lines are added to ~/.ssh/authorized_keys, "K <known_hosts line>" to
// ~/.ssh/known_hosts (each only when not there yet); with `make_key` ~/.ssh/id_ed25519 is created when missing and
// "ZT-NODE-KEY <public key>" printed.
std::string install_script(bool make_key);
// matrix: stdin "<index> <target>" lines; prints "ZT-MATRIX <index> <ssh exit code> <last error line>" for each,
// trying the targets one after another with BatchMode=yes and without any agent.
std::string matrix_script(int port, int connect_timeout_s);

// The SHA256 fingerprint ssh prints ("SHA256:...") of a public key's base64 blob; "" when it does not decode.
std::string key_fingerprint(const std::string& base64_blob);

// Runs the whole setup (or only the check), printing progress and the matrix to `out`. Returns 0 when every node
// reaches every node, 1 otherwise; throws zt::Error for what stops it before any node is contacted (no hostfile,
// no ssh-keygen, an unreadable key).
int run_ssh_setup(const SshSetupOptions& o, std::ostream& out);

}  // namespace zt::cluster
