// A C++ handle on tests/cpu/launch/netns_rig.sh: N "hosts" (network namespaces on one bridge, each with its own
// sshd, address and name) for tests of multi-node launches. Reuse it for any test that needs real hosts:
//
//   std::string why;
//   auto rig = zt::test::NetnsRig::create(3, why);   // nullptr: `ip netns` unavailable here -> GTEST_SKIP() << why
//   rig->in(0, "ssh -F " + rig->ssh_config() + " node1 hostname");   // a /bin/sh command inside host 0
//   rig->name(1) == "node1", rig->addr(1) == "10.77.0.2", rig->ifname(1) == "net1", rig->ns(1) == "zt<pid>h1"
//   rig->stray_processes()   // "NS PID CMD" lines for anything but sshd left in the hosts; "" when clean
//
// The destructor kills everything in the rig's namespaces and deletes them. Creating a rig first removes rigs
// left by test processes that no longer exist. Hosts resolve each other as node<i>; ssh_config() logs in as root
// with the rig's key and checks host keys against the rig's known_hosts; ssh_config_refused() offers only a key
// the hosts refuse; unreachable() is an address on the subnet where nothing answers (also named node-down).
#pragma once
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "cpu/launch/launch_test_util.hpp"
#include "cpu/test_process.hpp"

namespace zt::test {

class NetnsRig {
 public:
  // Creates `n` hosts. Returns nullptr with `why` set when network namespaces cannot be used on this machine (the
  // only reason to skip); throws std::runtime_error when they can but the rig does not come up (a real failure).
  static std::unique_ptr<NetnsRig> create(int n, std::string& why, bool homes = false) {
    int rc = 0;
    std::string probe = run_capture("bash " + script() + " probe 2>&1", rc);
    if (rc != 0) {
      why = "network namespaces are unavailable here (" + probe.substr(0, probe.find('\n')) +
            "); the multi-node launch tests need root and `ip netns`";
      return nullptr;
    }
    run_capture("bash " + script() + " gc 2>&1", rc);
    auto dir = std::filesystem::temp_directory_path() / ("zt_netns_rig_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::unique_ptr<NetnsRig> rig(new NetnsRig(dir.string()));
    std::string out = run_capture("bash " + script() + " up " + rig->dir_ + " " + std::to_string(n) + " " +
                                      std::to_string(::getpid()) + (homes ? " homes" : "") + " 2>&1",
                                  rc);
    if (rc != 0) throw std::runtime_error("netns rig did not come up:\n" + out);
    std::istringstream env(read_text(rig->dir_ + "/rig.env"));
    for (std::string line; std::getline(env, line);)
      if (auto eq = line.find('='); eq != std::string::npos) rig->env_[line.substr(0, eq)] = line.substr(eq + 1);
    rig->n_ = n;
    return rig;
  }
  ~NetnsRig() {
    int rc = 0;
    run_capture("bash " + script() + " down " + dir_ + " 2>&1", rc);
    std::filesystem::remove_all(dir_);
  }
  NetnsRig(const NetnsRig&) = delete;
  NetnsRig& operator=(const NetnsRig&) = delete;

  int size() const { return n_; }
  const std::string& dir() const { return dir_; }
  std::string ns(int i) const { return var("RIG_NS_" + std::to_string(i)); }
  std::string addr(int i) const { return var("RIG_ADDR_" + std::to_string(i)); }
  std::string name(int i) const { return var("RIG_NAME_" + std::to_string(i)); }
  std::string ifname(int i) const { return var("RIG_IF_" + std::to_string(i)); }
  std::string home(int i) const { return var("RIG_HOME_" + std::to_string(i)); }  // only with create(..., true)
  std::string ssh_config() const { return var("RIG_SSH_CONFIG"); }
  std::string ssh_config_refused() const { return var("RIG_SSH_CONFIG_REFUSED"); }
  std::string unreachable() const { return var("RIG_UNREACHABLE"); }

  // A /bin/sh command line that runs `cmd` (itself a /bin/sh command line) inside host i; it execs, so a process
  // started with it has the pid of `cmd` (or of its last program when `cmd` ends with `exec prog`).
  std::string in(int i, const std::string& cmd) const {
    std::string q = "'";
    for (char c : cmd) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return "exec ip netns exec " + ns(i) + " sh -c " + q + "'";
  }
  // Processes in the hosts other than their sshd listeners, one "NS PID CMD" line each; "" when there are none.
  std::string stray_processes() const {
    int rc = 0;
    return run_capture("bash " + script() + " procs " + dir_ + " 2>&1", rc);
  }
  // Waits up to timeout_ms for the hosts to hold nothing but sshd; returns what is left ("" = clean).
  std::string wait_no_strays(int timeout_ms) const {
    std::string left;
    eventually([&] { return (left = stray_processes()).empty(); }, timeout_ms);
    return left;
  }
  // Starts a Slurm cluster over the hosts (netns_rig.sh slurm): false with the daemons' logs in `log` when it does
  // not come up. Clients need SLURM_CONF=slurm_conf() in their environment.
  bool start_slurm(std::string& log) const {
    int rc = 0;
    log = run_capture("bash " + script() + " slurm " + dir_ + " 2>&1", rc);
    return rc == 0;
  }
  std::string slurm_conf() const { return dir_ + "/slurm/slurm.conf"; }
  std::string write_file(const std::string& name, const std::string& text) const {
    std::string p = dir_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }

 private:
  explicit NetnsRig(std::string dir) : dir_(std::move(dir)) {}
  static std::string script() { return repo() + "/tests/cpu/launch/netns_rig.sh"; }
  std::string var(const std::string& k) const {
    auto it = env_.find(k);
    if (it == env_.end()) throw std::runtime_error("netns rig: no " + k);
    return it->second;
  }
  std::string dir_;
  int n_ = 0;
  std::map<std::string, std::string> env_;
};

// A GoogleTest fixture base for a suite that shares one rig of `Hosts` hosts: the rig comes up once for the suite
// (each Derived has its own), every test is skipped with the reason when network namespaces are unavailable, and
// every test must leave no processes behind in the hosts. A Derived that needs more calls the base's
// SetUpTestSuite/TearDownTestSuite/SetUp from its own and returns early when rig_ is null.
template <class Derived, int Hosts, bool Homes = false>
class NetnsSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string why;
    rig_ = NetnsRig::create(Hosts, why, Homes);
    if (!rig_) skip_why_ = why;
  }
  static void TearDownTestSuite() { rig_.reset(); }
  void SetUp() override {
    if (!rig_) GTEST_SKIP() << skip_why_;
  }
  void TearDown() override {
    if (rig_) {
      EXPECT_EQ(rig_->wait_no_strays(5000), "") << "processes left behind in the hosts";
    }
  }
  static inline std::unique_ptr<NetnsRig> rig_;
  static inline std::string skip_why_;
};

}  // namespace zt::test
