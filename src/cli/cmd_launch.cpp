// `zerotune launch` (DeepSpeed's launcher flags; runs `zerotune train ...` or `-- <command>` as every rank, on this
// machine or across the hostfile's nodes) and the hidden `zerotune launch-agent` that runners start on each node.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <iostream>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"
#include "launch/agent.hpp"
#include "launch/launcher.hpp"
#include "launch/net.hpp"

namespace zt::cli {

using namespace zt::launch;

namespace {

void say(const std::string& line) { std::fprintf(stderr, "zerotune launch: %s\n", line.c_str()); }

std::vector<Flag> launch_flags() {
  return {
      {"hostfile", FlagKind::string, "/job/hostfile", "-H: hosts, one `NAME slots=N` per line; without it (and no /job/hostfile) only this machine", false, {}},
      {"include", FlagKind::string, "", "-i: hosts/slots to use, NODE[:SLOT[,SLOT]][@NODE...], e.g. worker-0@worker-1:0,2", false, {}},
      {"exclude", FlagKind::string, "", "-e: hosts/slots to leave out, same syntax as --include", false, {}},
      {"num_nodes", FlagKind::integer, "-1", "use the first N hosts of the hostfile", false, {}},
      {"num_gpus", FlagKind::integer, "-1", "ranks per node (alias --num_accelerators); without GPUs: CPU worker processes", false, {}},
      {"master_addr", FlagKind::string, "", "address of node 0 for the ranks' rendezvous (default: chosen from the routes to the other nodes)", false, {}},
      {"master_port", FlagKind::integer, "29500", "TCP port of the ranks' rendezvous on the master", false, {}},
      {"launcher", FlagKind::string, "ssh", "how agents are started on the nodes", false,
       {"ssh", "pdsh", "openmpi", "slurm", "mvapich", "mpich", "impi"}},
      {"launcher_args", FlagKind::string, "", "extra arguments for the runner program (ssh, pdsh, mpirun or srun), split like a shell", false, {}},
      {"force_multi", FlagKind::boolean, "", "start even a one-node job through the runner", false, {}},
      {"no_ssh", FlagKind::boolean, "", "start nothing remotely: run `zerotune launch --no_ssh --node_rank K ...` on every node yourself", false, {}},
      {"node_rank", FlagKind::integer, "-1", "with --no_ssh: this machine's node rank (its line among the hostfile's selected hosts)", false, {}},
      {"no_ssh_check", FlagKind::boolean, "", "skip the `ssh HOST true` check of every node before starting (ssh runner)", false, {}},
      {"ssh_port", FlagKind::integer, "-1", "ssh port of the nodes", false, {}},
      {"no_local_rank", FlagKind::boolean, "", "do not append --local_rank=N to the ranks' command", false, {}},
      {"enable_each_rank_log", FlagKind::string, "", "write each rank's output to DIR/<time>_rank<N>.log instead of the console", false, {}},
      {"bind_cores_to_rank", FlagKind::boolean, "", "give each rank its share of the node's cores (affinity) and OMP_NUM_THREADS", false, {}},
      {"bind_core_list", FlagKind::string, "", "cores to share out with --bind_cores_to_rank, e.g. 0-7,16-23 (default: all allowed)", false, {}},
  };
}

// DeepSpeed launcher flags that zerotune does not take, with what to do instead.
const char* unsupported_flag(const std::string& name) {
  if (name == "autotuning") return "DeepSpeed's autotuner is not part of zerotune";
  if (name == "elastic_training" || name == "min_elastic_nodes" || name == "max_elastic_nodes")
    return "elastic training is not supported: the world is fixed at launch (resume from a checkpoint instead)";
  if (name == "module" || name == "no_python")
    return "ranks run `zerotune train ...` or any `-- <command>`; there is no Python interpreter to configure";
  if (name == "save_pid") return "not supported: the launcher's pid is $! in your shell";
  if (name == "venv_script" || name == "comment") return "not supported";
  return nullptr;
}

struct SplitArgs {
  std::vector<std::string> flags;    // launcher flags, long form
  std::vector<std::string> command;  // the ranks' command
};

// Separates launcher flags from the ranks' command (`train ...` or `-- cmd ...`), expanding -H/-i/-e and
// --num_accelerators so Args can parse them.
SplitArgs split_argv(const std::vector<std::string>& argv, const std::vector<Flag>& flags, const std::string& self) {
  SplitArgs s;
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string a = argv[i];
    if (a == "--") {
      s.command.assign(argv.begin() + long(i) + 1, argv.end());
      check(!s.command.empty(), "zerotune launch: nothing after `--`", "give the command every rank runs, e.g. -- python train.py");
      return s;
    }
    if (a == "-H") a = "--hostfile";
    else if (a == "-i") a = "--include";
    else if (a == "-e") a = "--exclude";
    if (a.rfind("--", 0) != 0) {
      if (a == "--help" || a == "-h") {
        s.flags.push_back(a);
        continue;
      }
      check(a == "train", "zerotune launch: expected `train ...` or `-- <command>` after the launcher flags, got '" + a + "'",
            "e.g. `zerotune launch -H hostfile train --model_name_or_path ...` or `zerotune launch -- python script.py`");
      s.command = {self, "train"};
      s.command.insert(s.command.end(), argv.begin() + long(i) + 1, argv.end());
      return s;
    }
    std::string name = a.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) value = name.substr(eq + 1), name = name.substr(0, eq), has_value = true;
    if (name == "num_accelerators") name = "num_gpus";
    if (const char* why = unsupported_flag(name)) fail("zerotune launch: --" + name + " is not supported", why);
    s.flags.push_back("--" + name + (has_value ? "=" + value : ""));
    for (auto& f : flags)
      if (f.name == name && f.kind != FlagKind::boolean && !has_value && i + 1 < argv.size()) s.flags.push_back(argv[++i]);
  }
  return s;
}

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  check(n > 0, "cannot find the zerotune binary (/proc/self/exe)");
  return std::string(buf, size_t(n));
}

std::string current_dir() {
  char buf[PATH_MAX];
  check(::getcwd(buf, sizeof buf) != nullptr, "cannot read the working directory");
  return buf;
}

SockAddr resolve_node(const Node& n) {
  std::string err;
  auto a = resolve_host(host_part(n.host), err);
  check(a.has_value(), "cannot resolve host '" + host_part(n.host) + "'" +
                           (n.hostfile_line ? " (hostfile line " + std::to_string(n.hostfile_line) + ")" : "") + ": " + err,
        "use a name this machine resolves (DNS or /etc/hosts) or an IP address in the hostfile");
  return *a;
}

// MASTER_ADDR for a multi-node job: node 0's address as the other nodes reach it.
std::string choose_master(const WorldLayout& w, const std::vector<SockAddr>& addrs) {
  const SockAddr& a0 = addrs[0];
  if (!is_local_address(a0)) {
    say("master address " + a0.ip() + " (node 0 " + w.nodes[0].host + " as resolved here; --master_addr chooses another)");
    return a0.ip();
  }
  for (size_t i = 1; i < addrs.size(); ++i) {
    if (is_local_address(addrs[i])) continue;
    std::string err;
    auto r = route_to(addrs[i], err);
    check(r.has_value(), "no route from this host to " + w.nodes[i].host + " (" + addrs[i].ip() + "): " + err,
          "check the network, or give --master_addr");
    say("master address " + r->source + " (this host, node 0: interface " + (r->ifname.empty() ? "?" : r->ifname) +
        " routes to " + w.nodes[i].host + "; --master_addr chooses another)");
    return r->source;
  }
  return a0.is_loopback() ? "127.0.0.1" : a0.ip();
}

}  // namespace

int cmd_launch(const std::vector<std::string>& argv) {
  ::signal(SIGPIPE, SIG_IGN);
  std::vector<Flag> flags = launch_flags();
  const std::string self = self_exe();
  SplitArgs split = split_argv(argv, flags, self);
  Args a("launch",
         "Run a job's ranks on this machine or on the nodes of a hostfile, as DeepSpeed's launcher does:\n"
         "  zerotune launch [flags] train <train flags>     every rank runs `zerotune train ...`\n"
         "  zerotune launch [flags] -- <command> [args]     every rank runs the command\n"
         "Ranks get RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_SIZE, CROSS_RANK, CROSS_SIZE, MASTER_ADDR, MASTER_PORT,\n"
         "ZEROTUNE_JOB_SECRET, CUDA_VISIBLE_DEVICES and --local_rank=N. When a rank fails, or a node is lost, the\n"
         "whole job is stopped on every node and the launcher names the host, rank and how it ended.",
         flags);
  if (!a.parse(split.flags)) return 0;
  check(!split.command.empty(), "zerotune launch: no command for the ranks",
        "end the flags with `train <train flags>` or `-- <command>`");

  const std::string runner = a.str("launcher");
  if (std::string why = unsupported_runner_reason(runner); !why.empty()) fail(why, "use --launcher ssh (the default), pdsh, openmpi or slurm");
  ResourceFlags rf;
  rf.include = a.opt_str("include").value_or("");
  rf.exclude = a.opt_str("exclude").value_or("");
  rf.num_nodes = int(a.integer("num_nodes"));
  rf.num_gpus = int(a.integer("num_gpus"));
  auto hostfile = read_hostfile(a.str("hostfile"), a.given("hostfile"));
  Selection sel = select_resources(hostfile, rf, hostfile ? LocalDevices{} : probe_local_devices());
  for (auto& n : sel.notes) say(n);

  EnvMap env = current_environment();
  JobSpec job;
  job.command = split.command;
  job.no_local_rank = a.flag("no_local_rank");
  job.cwd = current_dir();
  if (std::string d = a.opt_str("enable_each_rank_log").value_or(""); !d.empty()) job.log_dir = d[0] == '/' ? d : job.cwd + "/" + d;
  job.bind_cores = a.flag("bind_cores_to_rank");
  job.bind_core_list = a.opt_str("bind_core_list").value_or("");
  if (!job.bind_core_list.empty()) {
    check(job.bind_cores, "--bind_core_list needs --bind_cores_to_rank", "add --bind_cores_to_rank");
    (void)parse_core_list(job.bind_core_list, "--bind_core_list");
  }
  job.layout = make_layout(sel.nodes);
  job.cpu_ranks = sel.cpu_ranks;
  job.master_port = int(a.integer("master_port"));
  check(job.master_port > 0 && job.master_port < 65535, "--master_port must be in 1..65534, got " + std::to_string(job.master_port));
  std::string secret;
  if (auto it = env.find("ZEROTUNE_JOB_SECRET"); it != env.end() && !it->second.empty()) {
    (void)hex_decode(it->second, "ZEROTUNE_JOB_SECRET");
    secret = it->second;
  } else {
    secret = generate_job_secret();
  }
  std::vector<std::string> env_files;
  auto home = env.find("HOME");
  EnvMap ds_env = read_deepspeed_env(env, home == env.end() ? "" : home->second, job.cwd, env_files);
  for (auto& f : env_files) say("environment for the ranks from " + f);

  const bool no_ssh = a.flag("no_ssh");
  const int node_rank = int(a.integer("node_rank"));
  check(!a.given("node_rank") || no_ssh, "--node_rank is only for --no_ssh", "add --no_ssh, or drop --node_rank");
  check(!no_ssh || a.given("node_rank"), "--no_ssh needs --node_rank K (this machine's position among the nodes)");
  check(!no_ssh || !a.given("launcher"), "--no_ssh starts no runner, so --launcher " + runner + " would not be used",
        "drop one of them");
  check(!(runner == "slurm" && a.given("ssh_port")), "--ssh_port is not used by --launcher slurm");
  const size_t n_nodes = job.layout.nodes.size();
  const bool multi = sel.from_hostfile && (a.flag("force_multi") || n_nodes > 1) && !(no_ssh && n_nodes == 1);

  if (!multi) {
    check(!no_ssh || node_rank == 0, "--node_rank " + std::to_string(node_rank) + " but the job has one node");
    for (auto f : {"launcher", "launcher_args", "ssh_port", "no_ssh_check"})
      if (a.given(f)) say(std::string("--") + f + " is not used: the job runs on this machine only");
    std::string resolve_err;
    auto only = sel.from_hostfile ? resolve_host(host_part(job.layout.nodes[0].host), resolve_err) : std::nullopt;
    if (sel.from_hostfile && !(only && is_local_address(*only)))
      say("one node selected (" + job.layout.nodes[0].host + "): its ranks run on this machine; --force_multi starts "
          "them through --launcher instead");
    job.master_addr = a.given("master_addr") ? a.str("master_addr") : "127.0.0.1";
    job.env = ds_env;
    say("starting " + std::to_string(job.layout.world_size) + " rank(s) on this machine" +
        (job.cpu_ranks ? " (CPU ranks: no GPU)" : " with CUDA_VISIBLE_DEVICES=" + join_slots(job.layout.nodes[0].slots)));
    return run_local(job, secret, env);
  }

  job.env = exported_variables(env);
  for (auto& [k, v] : ds_env) job.env[k] = v;
  job.env.erase("ZEROTUNE_JOB_SECRET");
  job.choose_socket_ifname = true;
  std::vector<SockAddr> addrs;
  for (auto& n : job.layout.nodes) addrs.push_back(resolve_node(n));

  if (no_ssh) {
    check(node_rank >= 0 && size_t(node_rank) < n_nodes,
          "--node_rank " + std::to_string(node_rank) + " but the job has " + std::to_string(n_nodes) + " nodes (0.." +
              std::to_string(n_nodes - 1) + ")");
    auto it = env.find("ZEROTUNE_JOB_SECRET");
    check(it != env.end() && !it->second.empty(), "--no_ssh needs ZEROTUNE_JOB_SECRET, the same on every node",
          "e.g. `export ZEROTUNE_JOB_SECRET=$(head -c32 /dev/urandom | od -An -tx1 | tr -d ' \\n')` and copy the "
          "value to every node before starting them");
    if (a.given("master_addr")) {
      job.master_addr = a.str("master_addr");
    } else {
      check(!addrs[0].is_loopback(), "--no_ssh: node 0 (" + job.layout.nodes[0].host + ") resolves to the loopback address " + addrs[0].ip(),
            "give --master_addr with node 0's address on the network the nodes share (the same on every node)");
      job.master_addr = addrs[0].ip();
    }
    const int coord_port = job.master_port + 1;
    say("node " + std::to_string(node_rank) + " of " + std::to_string(n_nodes) + " (" +
        job.layout.nodes[size_t(node_rank)].host + "); node 0 coordinates at " + join_host_port(job.master_addr, coord_port));
    if (node_rank > 0) {
      AgentOptions ao;
      ao.coordinator_host = job.master_addr;
      ao.coordinator_port = coord_port;
      ao.node_rank = node_rank;
      ao.secret_hex = secret;
      ao.job = job;
      ao.connect_timeout_ms = 300000;
      ao.base_env = env;
      ao.label = "zerotune launch";
      return run_agent(ao);
    }
    CoordinatorOptions co;
    co.job = job;
    co.secret_hex = secret;
    co.runner.runner = "local";
    co.runner.self_exe = self;
    co.runner.cwd = job.cwd;
    co.runner.secret_hex = secret;
    co.runner.launcher_env = env;
    co.no_ssh = true;
    co.listen_port = coord_port;
    co.dial_addrs = {"127.0.0.1"};
    co.agent_connect_timeout_ms = 300000;
    return run_coordinator(co);
  }

  job.master_addr = a.given("master_addr") ? a.str("master_addr") : choose_master(job.layout, addrs);
  CoordinatorOptions co;
  co.job = job;
  co.secret_hex = secret;
  co.runner.runner = runner;
  co.runner.launcher_args = shell_split(a.opt_str("launcher_args").value_or(""), "--launcher_args");
  co.runner.ssh_port = int(a.integer("ssh_port"));
  co.runner.self_exe = self;
  co.runner.cwd = job.cwd;
  co.runner.secret_hex = secret;
  co.runner.launcher_env = env;
  co.runner.as_root = ::geteuid() == 0;
  check_runner_available(co.runner);
  co.ssh_check = !a.flag("no_ssh_check");
  for (size_t i = 0; i < n_nodes; ++i) {
    if (addrs[i].is_loopback()) {
      co.dial_addrs.push_back("127.0.0.1");
      continue;
    }
    std::string err;
    auto r = route_to(addrs[i], err);
    check(r.has_value(), "no route from this host to " + job.layout.nodes[i].host + " (" + addrs[i].ip() + "): " + err,
          "the launcher must reach every node over IP");
    co.dial_addrs.push_back(r->source);
  }
  std::string where;
  for (size_t i = 0; i < n_nodes; ++i) {
    const Node& n = job.layout.nodes[i];
    where += (i ? ", " : "") + n.host + " (rank" + (n.slots.size() > 1 ? "s " : " ") + std::to_string(job.layout.first_rank[i]) +
             (n.slots.size() > 1 ? "-" + std::to_string(job.layout.first_rank[i] + int(n.slots.size()) - 1) : "") + ")";
  }
  say("starting " + std::to_string(job.layout.world_size) + " ranks on " + std::to_string(n_nodes) + " nodes through " +
      runner + ": " + where + "; master " + join_host_port(job.master_addr, job.master_port));
  return run_coordinator(co);
}

int cmd_launch_agent(const std::vector<std::string>& argv) {
  ::signal(SIGPIPE, SIG_IGN);
  // The runner's process on this node (sshd's session, orted, slurmstepd, the launcher) is our parent: when it
  // goes, so do we (SIGTERM: our ranks are stopped first), even before the control connection is up.
  // A parent that died before the prctl leaves us adopted by init: the job is over already.
  const pid_t parent = ::getppid();
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (parent == 1 || ::getppid() != parent) return 1;
  Args a("launch-agent",
         "Internal: the per-node agent that `zerotune launch` starts through ssh, pdsh, mpirun or srun.",
         {{"coordinator", FlagKind::string, "", "HOST:PORT of the launcher's control socket", true, {}},
          {"node_rank", FlagKind::integer, "-1", "this node's rank in the job", false, {}},
          {"node_name", FlagKind::string, "", "this node's host name as in the hostfile (instead of --node_rank)", false, {}},
          {"node_from", FlagKind::string, "", "read the node identity from the runner's environment", false, {"ompi", "slurm"}},
          {"secret_from", FlagKind::string, "env", "where the job secret comes from", false, {"stdin", "env"}}});
  if (!a.parse(argv)) return 0;
  AgentOptions o;
  check(split_host_port(a.str("coordinator"), o.coordinator_host, o.coordinator_port),
        "launch-agent: --coordinator must be HOST:PORT, got '" + a.str("coordinator") + "'");
  o.base_env = current_environment();
  o.node_rank = int(a.integer("node_rank"));
  o.node_name = a.opt_str("node_name").value_or("");
  if (a.given("node_from")) identity_from_runner(a.str("node_from"), o.base_env, o);
  check(o.node_rank >= 0 || !o.node_name.empty(), "launch-agent: give --node_rank, --node_name or --node_from");
  if (a.str("secret_from") == "stdin") {
    std::getline(std::cin, o.secret_hex);
  } else {
    auto it = o.base_env.find("ZEROTUNE_JOB_SECRET");
    if (it != o.base_env.end()) o.secret_hex = it->second;
  }
  check(!o.secret_hex.empty(), "launch-agent: no job secret (" + a.str("secret_from") + ")");
  o.base_env.erase("ZEROTUNE_JOB_SECRET");
  o.label = "launch-agent";
  return run_agent(o);
}

}  // namespace zt::cli
