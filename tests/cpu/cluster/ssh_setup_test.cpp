// zerotune cluster ssh-setup: fingerprints against ssh-keygen's, the node install script run here twice, the matrix
// text; then on three network-namespace hosts with their own homes and sshd (netns_rig.hpp): a key is created and
// installed, every node reaches every node, a node whose trust was removed shows in the matrix with the reason and a
// second run repairs it (adding nothing twice), and an unreachable node is named with its reason.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cluster/remote.hpp"
#include "cluster/ssh_setup.hpp"
#include "cpu/launch/launch_test_util.hpp"
#include "cpu/launch/netns_rig.hpp"
#include "cpu/test_process.hpp"
#include "launch/env.hpp"

using namespace zt;
using namespace zt::cluster;
using namespace zt::test;
namespace fs = std::filesystem;

namespace {

const std::string exe = ZT_EXE;

fs::path temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("zt_sshsetup_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

std::string blob_of(const std::string& pub) {  // "ssh-ed25519 AAAA... comment" -> "AAAA..."
  auto a = pub.find(' ');
  auto b = pub.find(' ', a + 1);
  return pub.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
}

// The cells of the matrix row of `name` (the text after the row label, split at runs of two or more spaces).
std::vector<std::string> matrix_row(const std::string& out, const std::string& name) {
  std::istringstream in(out.substr(std::min(out.find("FROM \\ TO"), out.size())));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + "  ", 0) != 0) continue;
    std::vector<std::string> cells;
    size_t p = name.size();
    while (p < line.size()) {
      while (p < line.size() && line[p] == ' ') ++p;
      size_t e = line.find("  ", p);
      if (e == std::string::npos) e = line.size();
      if (e > p) cells.push_back(line.substr(p, e - p));
      p = e;
    }
    return cells;
  }
  return {};
}

using Row = std::vector<std::string>;

}  // namespace

TEST(SshSetup, FingerprintAgreesWithSshKeygen) {
  auto d = temp_dir("fp");
  int rc = 0;
  run_capture("ssh-keygen -q -t ed25519 -N '' -C t -f " + (d / "k").string() + " 2>&1", rc);
  ASSERT_EQ(rc, 0);
  std::string want = run_capture("ssh-keygen -lf " + (d / "k.pub").string(), rc);  // "256 SHA256:... t (ED25519)"
  ASSERT_EQ(rc, 0);
  std::string fp = key_fingerprint(blob_of(read_text((d / "k.pub").string())));
  ASSERT_FALSE(fp.empty());
  EXPECT_NE(want.find(" " + fp + " "), std::string::npos) << want << " vs " << fp;
  EXPECT_EQ(key_fingerprint("not base64!"), "");
  fs::remove_all(d);
}

TEST(SshSetup, InstallScriptIsIdempotentAndMakesTheNodeKey) {
  auto d = temp_dir("install");
  fs::create_directories(d / ".ssh");
  // an authorized_keys without a final newline must not get our key glued to its last line
  std::ofstream(d / ".ssh/authorized_keys") << "ssh-ed25519 AAAAexisting other@host";
  std::string script = (d / "install.sh").string();
  std::ofstream(script) << install_script(true);
  std::string items = "A ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyOne zt@here\nK node1 ssh-ed25519 AAAAHostKey1\n";
  std::ofstream(d / "items") << items;
  std::string cmd = "HOME=" + d.string() + " sh " + script + " < " + (d / "items").string() + " 2>&1";
  int rc = 0;
  std::string out1 = run_capture(cmd, rc);
  ASSERT_EQ(rc, 0) << out1;
  std::string out2 = run_capture(cmd, rc);
  ASSERT_EQ(rc, 0) << out2;
  EXPECT_NE(out1.find("ZT-CREATED"), std::string::npos) << out1;
  EXPECT_EQ(out2.find("ZT-CREATED"), std::string::npos) << "the key is made once:\n" << out2;
  std::string pub = read_text((d / ".ssh/id_ed25519.pub").string());
  ASSERT_FALSE(pub.empty());
  EXPECT_NE(out2.find("ZT-NODE-KEY " + pub.substr(0, pub.find('\n'))), std::string::npos) << out2;
  EXPECT_EQ(read_text((d / ".ssh/authorized_keys").string()),
            "ssh-ed25519 AAAAexisting other@host\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyOne zt@here\n");
  EXPECT_EQ(read_text((d / ".ssh/known_hosts").string()), "node1 ssh-ed25519 AAAAHostKey1\n");
  EXPECT_EQ(fs::status(d / ".ssh/id_ed25519").permissions() & fs::perms::group_all, fs::perms::none);
  fs::remove_all(d);
}

TEST(SshSetup, MatrixNamesEachFailureOnceWithItsFix) {
  SshMatrix m;
  m.names = {"node0", "node1", "node2"};
  m.cells.assign(3, std::vector<std::string>(3));
  m.row_error = {"", "", ""};
  for (int i = 0; i < 3; ++i) m.cells[i][2] = "root@node2: Permission denied (publickey).";
  m.cells[0][1] = "ssh: connect to host node1 port 22: No route to host";
  EXPECT_FALSE(m.all_ok());
  std::string t = format_matrix(m);
  EXPECT_NE(t.find("FROM \\ TO  node0  node1             node2"), std::string::npos) << t;
  EXPECT_NE(t.find("node0      ok     No route to host  Permission denied (publickey)"), std::string::npos) << t;
  EXPECT_NE(t.find("node2      ok     ok                Permission denied (publickey)"), std::string::npos) << t;
  std::string e = explain_matrix(m, -1);
  EXPECT_NE(e.find("every node -> node2: Permission denied (publickey).\n    fix: node2 does not accept the key of the nodes"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("node0 -> node1: ssh: connect to host node1 port 22: No route to host\n    fix: node1 is not reachable from node0"),
            std::string::npos)
      << e;
  m.row_error[1] = "ssh: Could not resolve hostname node1: Name or service not known";
  t = format_matrix(m);
  EXPECT_NE(t.find("node1      not asked  not asked"), std::string::npos) << t;
  EXPECT_NE(explain_matrix(m, -1).find("node1 could not be asked (from here)"), std::string::npos);
  EXPECT_EQ(short_reason("root@node2: Permission denied (publickey)."), "Permission denied (publickey)");
  EXPECT_EQ(short_reason("Host key verification failed."), "Host key verification failed");
}

// ---- on network-namespace hosts ----

class SshSetupNetns : public NetnsSuite<SshSetupNetns, 3, true> {
 protected:
  static void SetUpTestSuite() {
    NetnsSuite::SetUpTestSuite();
    if (!rig_) return;
    // The "access that exists once": the rig's key in an agent (the hosts accept it from the rig's own list).
    agent_sock_ = rig_->dir() + "/agent.sock";
    agent_ = std::make_unique<Background>("exec ssh-agent -D -a " + agent_sock_, rig_->dir() + "/agent.log");
    eventually([] { return fs::exists(agent_sock_); }, 5000);
    int rc = 0;
    std::string out = run_capture("SSH_AUTH_SOCK=" + agent_sock_ + " ssh-add " + rig_->dir() + "/id_ed25519 2>&1", rc);
    if (rc != 0) throw std::runtime_error("ssh-add failed: " + out);
  }
  static void TearDownTestSuite() {
    agent_.reset();
    NetnsSuite::TearDownTestSuite();
  }
  // `zerotune cluster ssh-setup` started in host 0 (its home, the agent), with its output and exit code.
  static std::string setup(const std::string& args, int& rc) {
    std::string cmd = rig_->in(0, "HOME=" + rig_->home(0) + " SSH_AUTH_SOCK=" + agent_sock_ + " exec " + exe +
                                      " cluster ssh-setup --no_prompt " + args);
    return run_capture(cmd + " 2>&1", rc);
  }
  static std::string hostfile(const std::string& name, const std::string& text) { return rig_->write_file(name, text); }

  static inline std::string agent_sock_;
  static inline std::unique_ptr<Background> agent_;
};

TEST_F(SshSetupNetns, KeyCreatedInstalledEveryNodeReachesEveryNodeAndARefusingNodeShows) {
  std::string hf = hostfile("hosts3", "node0 slots=1\nnode1 slots=1\nnode2 slots=1\n");
  int rc = 0;
  std::string out = setup("--hostfile " + hf, rc);
  ASSERT_EQ(rc, 0) << out;
  const std::string key = rig_->home(0) + "/.ssh/id_ed25519";
  EXPECT_NE(out.find("key: " + key + " (created) ED25519 SHA256:"), std::string::npos) << out;
  EXPECT_NE(out.find("node1: ED25519 SHA256:"), std::string::npos) << out;
  EXPECT_NE(out.find("recorded in " + rig_->home(0) + "/.ssh/known_hosts (first contact"), std::string::npos) << out;
  EXPECT_NE(out.find("FROM \\ TO  node0  node1  node2\n"), std::string::npos) << out;
  for (auto n : {"node0", "node1", "node2"}) EXPECT_EQ(matrix_row(out, n), Row({"ok", "ok", "ok"})) << n << "\n" << out;
  EXPECT_NE(out.find("all 9 ok"), std::string::npos) << out;
  // what the nodes hold: our key and every node's own key authorized, every host key known
  std::string mine = blob_of(read_text(key + ".pub"));
  for (int i = 0; i < 3; ++i) {
    std::string ssh = rig_->home(i) + "/.ssh/";
    ASSERT_TRUE(fs::exists(ssh + "id_ed25519")) << "node" << i << " has its own key";
    std::string auth = read_text(ssh + "authorized_keys");
    EXPECT_EQ(count_of(auth, mine), 1) << "node" << i;
    for (int j = 0; j < 3; ++j) EXPECT_EQ(count_of(auth, blob_of(read_text(rig_->home(j) + "/.ssh/id_ed25519.pub"))), 1);
    std::string known = read_text(ssh + "known_hosts");
    for (int j = 0; j < 3; ++j) EXPECT_NE(known.find("node" + std::to_string(j) + " ssh-ed25519 "), std::string::npos) << known;
  }
  // independently of zerotune: plain ssh from node2 to node1, no agent, default config, host keys checked
  std::string probe = run_capture(rig_->in(2, "env -u SSH_AUTH_SOCK ssh -o BatchMode=yes -o StrictHostKeyChecking=yes node1 "
                                              "cat /proc/net/dev") + " 2>&1",
                                  rc);
  EXPECT_EQ(rc, 0) << probe;
  EXPECT_NE(probe.find("net1:"), std::string::npos) << "it reached node1:\n" << probe;
  // node2 forgets every key it trusted: its sshd refuses them all, and the matrix says so in node2's column
  std::string auth_before = read_text(rig_->home(1) + "/.ssh/authorized_keys");
  fs::remove(rig_->home(2) + "/.ssh/authorized_keys");
  out = setup("--hostfile " + hf + " --check", rc);
  EXPECT_EQ(rc, 1) << out;
  for (auto n : {"node0", "node1", "node2"})
    EXPECT_EQ(matrix_row(out, n), Row({"ok", "ok", "Permission denied (publickey)"})) << n << "\n" << out;
  EXPECT_NE(out.find("every node -> node2: Permission denied (publickey).\n    fix: node2 does not accept the key of the nodes"),
            std::string::npos)
      << out;
  EXPECT_FALSE(fs::exists(rig_->home(2) + "/.ssh/authorized_keys")) << "--check changes nothing";
  // a second run repairs node2 and adds nothing twice elsewhere
  out = setup("--hostfile " + hf, rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("node2: ED25519 SHA256:"), std::string::npos) << out;
  EXPECT_NE(out.find("already known"), std::string::npos) << out;
  EXPECT_EQ(out.find("(created)"), std::string::npos) << out;
  EXPECT_NE(out.find("all 9 ok"), std::string::npos) << out;
  EXPECT_EQ(read_text(rig_->home(1) + "/.ssh/authorized_keys"), auth_before);
  EXPECT_EQ(count_of(read_text(rig_->home(2) + "/.ssh/authorized_keys"), mine), 1);
}

TEST_F(SshSetupNetns, UnreachableNodeIsNamedWithItsReason) {
  std::string hf = hostfile("hostsdown", "node0 slots=1\nnode1 slots=1\nnode-down slots=1\n");
  int rc = 0;
  std::string out = setup("--hostfile " + hf + " --connect_timeout 4", rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("node-down: no host key: cannot connect to node-down port 22: No route to host"), std::string::npos) << out;
  EXPECT_EQ(matrix_row(out, "node0"), Row({"ok", "ok", "No route to host"})) << out;
  EXPECT_EQ(matrix_row(out, "node1"), Row({"ok", "ok", "No route to host"})) << out;
  EXPECT_EQ(matrix_row(out, "node-down"), Row({"not asked", "not asked", "not asked"})) << out;
  EXPECT_NE(out.find("node-down could not be asked (from here)"), std::string::npos) << out;
  EXPECT_NE(out.find("fix: node-down is not reachable from"), std::string::npos) << out;
}
