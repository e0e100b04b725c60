// Command lines of the runners that start agents on the nodes.
#include "launch/runners.hpp"

#include "core/error.hpp"
#include "launch/net.hpp"
#include "launch/process.hpp"

namespace zt::launch {

bool is_supported_runner(const std::string& n) { return n == "ssh" || n == "pdsh" || n == "openmpi" || n == "slurm"; }

std::string unsupported_runner_reason(const std::string& n) {
  if (n == "mvapich" || n == "mpich" || n == "impi")
    return "--launcher " + n + " is not supported: zerotune starts one agent per node with ssh (default), pdsh, "
           "openmpi or slurm, and its ranks do not use MPI";
  return "";
}

std::string runner_program(const std::string& r) {
  if (r == "ssh") return "ssh";
  if (r == "pdsh") return "pdsh";
  if (r == "openmpi") return "mpirun";
  if (r == "slurm") return "srun";
  return "";
}

std::string runner_package(const std::string& r) {
  if (r == "ssh") return "openssh-client";
  if (r == "pdsh") return "pdsh";
  if (r == "openmpi") return "openmpi-bin";
  if (r == "slurm") return "slurm-client";
  return "";
}

void check_runner_available(const RunnerContext& ctx) {
  std::string prog = runner_program(ctx.runner);
  if (prog.empty()) return;
  std::vector<std::string> env = env_strings(ctx.launcher_env);
  check(!find_executable(prog, env).empty(),
        "--launcher " + ctx.runner + " needs the `" + prog + "` program, which is not in PATH",
        "install Debian's " + runner_package(ctx.runner) + " (apt-get install " + runner_package(ctx.runner) + ")" +
            (ctx.runner == "pdsh" ? " and openssh-client" : ""));
  if (ctx.runner == "pdsh")
    check(!find_executable("ssh", env).empty(), "--launcher pdsh runs ssh, which is not in PATH",
          "install Debian's openssh-client (apt-get install openssh-client)");
}

static std::vector<std::string> ssh_options(const RunnerContext& ctx) {
  std::vector<std::string> o = {"-o", "BatchMode=yes", "-o", "ConnectTimeout=" + std::to_string(ctx.ssh_connect_timeout_s)};
  if (ctx.ssh_port > 0) o.insert(o.end(), {"-p", std::to_string(ctx.ssh_port)});
  return o;
}

std::vector<std::string> ssh_check_command(const RunnerContext& ctx, const std::string& host) {
  std::vector<std::string> argv = {"ssh"};
  for (auto& o : ssh_options(ctx)) argv.push_back(o);
  for (auto& a : ctx.launcher_args) argv.push_back(a);
  argv.insert(argv.end(), {"--", host, "true"});
  return argv;
}

// The agent's command line on a node; `identity` is e.g. {"--node_rank", "2"}.
static std::string agent_shell_command(const RunnerContext& ctx, const std::string& coordinator,
                                       const std::vector<std::string>& identity, const std::string& secret_from) {
  std::string cmd = "cd " + shell_quote(ctx.cwd) + " && exec " + shell_quote(ctx.self_exe) +
                    " launch-agent --coordinator " + shell_quote(coordinator);
  for (auto& w : identity) cmd += " " + shell_quote(w);
  return cmd + " --secret_from " + secret_from;
}

static std::vector<std::string> agent_argv(const RunnerContext& ctx, const std::string& coordinator,
                                           const std::string& node_from) {
  return {ctx.self_exe, "launch-agent", "--coordinator", coordinator, "--node_from", node_from, "--secret_from", "env"};
}

std::vector<RunnerCommand> runner_commands(const RunnerContext& ctx, const WorldLayout& layout,
                                           const std::vector<std::string>& coordinator) {
  check(!coordinator.empty(), "internal: no coordinator address");
  std::vector<RunnerCommand> out;
  const size_t n = layout.nodes.size();
  std::vector<int> all;
  for (size_t i = 0; i < n; ++i) all.push_back(int(i));
  std::string hosts;
  for (auto& node : layout.nodes) hosts += (hosts.empty() ? "" : ",") + node.host;
  if (ctx.runner == "ssh") {
    for (size_t i = 0; i < n; ++i) {
      RunnerCommand c;
      c.argv = {"ssh"};
      for (auto& o : ssh_options(ctx)) c.argv.push_back(o);
      for (auto& a : ctx.launcher_args) c.argv.push_back(a);
      c.argv.insert(c.argv.end(), {"--", layout.nodes[i].host,
                                   agent_shell_command(ctx, coordinator[std::min(i, coordinator.size() - 1)],
                                                       {"--node_rank", std::to_string(i)}, "stdin")});
      c.env = ctx.launcher_env;
      c.stdin_data = ctx.secret_hex + "\n";
      c.nodes = {int(i)};
      c.label = "ssh " + layout.nodes[i].host;
      out.push_back(std::move(c));
    }
    return out;
  }
  RunnerCommand c;
  c.env = ctx.launcher_env;
  c.nodes = all;
  if (ctx.runner == "pdsh") {
    // pdsh cannot feed a secret through stdin to every host: it goes into the remote command line, as DeepSpeed's
    // pdsh runner does with all exported variables. %h is the host as listed after -w; % must be doubled.
    std::string cmd = agent_shell_command(ctx, coordinator[0], {"--node_name", "%h"}, "env");
    std::string escaped;
    for (char ch : cmd) escaped += ch == '%' ? std::string("%%") : std::string(1, ch);
    size_t h = escaped.find("%%h");
    escaped.replace(h, 3, "%h");
    escaped = "ZEROTUNE_JOB_SECRET=" + ctx.secret_hex + " && export ZEROTUNE_JOB_SECRET && " + escaped;
    c.argv = {"pdsh", "-S", "-N", "-f", "1024", "-w", hosts};
    for (auto& a : ctx.launcher_args) c.argv.push_back(a);
    c.argv.push_back(escaped);
    if (!c.env.count("PDSH_RCMD_TYPE")) c.env["PDSH_RCMD_TYPE"] = "ssh";
    std::string append;
    for (auto& o : ssh_options(ctx)) append += (append.empty() ? "" : " ") + o;
    if (auto it = c.env.find("PDSH_SSH_ARGS_APPEND"); it != c.env.end() && !it->second.empty())
      append = it->second + " " + append;
    c.env["PDSH_SSH_ARGS_APPEND"] = append;
    c.label = "pdsh";
  } else if (ctx.runner == "openmpi") {
    std::string host_slots;
    for (auto& node : layout.nodes) {
      check(node.host.find('@') == std::string::npos,
            "--launcher openmpi: host '" + node.host + "' (hostfile line " + std::to_string(node.hostfile_line) +
                ") names a user; mpirun cannot log in as another user per host",
            "set the user in ~/.ssh/config (Host/User) and list the bare host name, or use --launcher ssh");
      host_slots += (host_slots.empty() ? "" : ",") + node.host + ":1";
    }
    c.argv = {"mpirun"};
    if (ctx.as_root) c.argv.push_back("--allow-run-as-root");
    c.argv.insert(c.argv.end(), {"-n", std::to_string(n), "--host", host_slots, "--map-by", "ppr:1:node", "--bind-to",
                                 "none", "--wdir", ctx.cwd, "-x", "ZEROTUNE_JOB_SECRET"});
    // mpirun starts its daemons with ssh: our options go after any the user set in OMPI_MCA_plm_rsh_args.
    std::string rsh;
    for (auto& o : ssh_options(ctx)) rsh += (rsh.empty() ? "" : " ") + o;
    if (auto it = c.env.find("OMPI_MCA_plm_rsh_args"); it != c.env.end() && !it->second.empty())
      rsh = it->second + " " + rsh;
    c.env["OMPI_MCA_plm_rsh_args"] = rsh;
    for (auto& a : ctx.launcher_args) c.argv.push_back(a);
    for (auto& a : agent_argv(ctx, coordinator[0], "ompi")) c.argv.push_back(a);
    c.env["ZEROTUNE_JOB_SECRET"] = ctx.secret_hex;
    c.label = "mpirun";
  } else if (ctx.runner == "slurm") {
    std::string bare;
    for (auto& node : layout.nodes) bare += (bare.empty() ? "" : ",") + host_part(node.host);
    c.argv = {"srun", "--nodes", std::to_string(n), "--ntasks", std::to_string(n), "--ntasks-per-node", "1",
              "--nodelist", bare, "--kill-on-bad-exit=1", "--chdir", ctx.cwd, "--export", "ALL"};
    for (auto& a : ctx.launcher_args) c.argv.push_back(a);
    for (auto& a : agent_argv(ctx, coordinator[0], "slurm")) c.argv.push_back(a);
    c.env["ZEROTUNE_JOB_SECRET"] = ctx.secret_hex;
    c.label = "srun";
  } else if (ctx.runner == "local") {
    c.argv = {ctx.self_exe, "launch-agent", "--coordinator", coordinator[0], "--node_rank", "0", "--secret_from", "stdin"};
    c.stdin_data = ctx.secret_hex + "\n";
    c.nodes = {0};
    c.label = "local agent";
  } else {
    fail("internal: unknown runner " + ctx.runner);
  }
  out.push_back(std::move(c));
  return out;
}

}  // namespace zt::launch
