// The multi-host doctor: per-host reports over ssh (parallel), the master-port probe, consistency of builds and
// libraries across hosts, and the collective test run through `zerotune launch` as a real job would start.
#include "cluster/fleet.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "launch/env.hpp"
#include "launch/hostfile.hpp"
#include "launch/net.hpp"

namespace zt::cluster {

namespace {

using Clock = std::chrono::steady_clock;
using launch::shell_quote;

bool contains(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

// "node0, node1: A; node2: B" from groups of hosts sharing a value.
std::string describe_groups(const std::map<std::string, std::vector<std::string>>& groups) {
  std::string s;
  for (auto& [value, hosts] : groups) s += (s.empty() ? "" : "; ") + join(hosts, ", ") + ": " + value;
  return s;
}

bool has_facts(const DoctorReport& r) { return r.facts.is_object() && r.facts.contains("build"); }

int gpu_count(const DoctorReport& r) {
  if (!r.facts.contains("nvml") || !r.facts["nvml"].contains("gpus") || !r.facts["nvml"]["gpus"].is_array()) return 0;
  return int(r.facts["nvml"]["gpus"].size());
}

std::string build_text(const Json& b) {
  int cuda = b.value("cuda_version", 0);
  std::string s = cuda ? "CUDA " + cuda_version_text(cuda) + " build (GPU code for " + b.value("cuda_architectures", std::string("?")) + ")"
                       : "CPU build";
  std::string sha = b.value("exe_sha256", std::string());
  if (!sha.empty()) s += ", sha256 " + sha.substr(0, 12);
  return s;
}

std::string ssh_fix(const std::string& err, const std::string& host, const std::string& hostfile) {
  if (contains(err, "Permission denied") || contains(err, "Host key verification failed") ||
      contains(err, "IDENTIFICATION HAS CHANGED"))
    return "zerotune cluster ssh-setup --hostfile " + hostfile + " installs your key on " + host +
           " and records its verified host key; `ssh -o BatchMode=yes " + host + " true` must work from here";
  if (contains(err, "Could not resolve") || contains(err, "Name or service not known"))
    return "this machine cannot resolve " + host + ": add it to /etc/hosts (or DNS), or put its IP address in the hostfile";
  if (contains(err, "Connection refused"))
    return "nothing listens for ssh on " + host + ": start sshd there (apt-get install openssh-server), or pass --ssh_port";
  return "check that " + host + " is up and reachable from here (its address in the hostfile, firewalls), then "
         "`ssh -o BatchMode=yes " + host + " true`";
}

}  // namespace

DoctorReport unreachable_report(const std::string& host, int rc, const std::string& err, const std::string& hostfile) {
  DoctorReport r;
  r.host = host;
  r.facts = Json::object();
  r.checks.push_back({"ssh", Status::fail,
                      "cannot run zerotune doctor there over ssh (BatchMode): " + err +
                          (rc >= 0 && rc != 255 ? " (exit code " + std::to_string(rc) + ")" : ""),
                      ssh_fix(err, host, hostfile)});
  return r;
}

std::vector<Check> consistency_checks(const std::vector<DoctorReport>& reports, const std::vector<int>& slots) {
  std::vector<Check> out;
  std::vector<size_t> have;
  for (size_t i = 0; i < reports.size(); ++i)
    if (has_facts(reports[i])) have.push_back(i);
  if (have.empty()) return out;
  const std::string on_all = " on all " + std::to_string(have.size()) + " host" + (have.size() == 1 ? "" : "s") +
                             (have.size() < reports.size() ? " that answered" : "");

  // one zerotune build
  std::map<std::string, std::vector<std::string>> builds, kinds;
  for (size_t i : have) {
    const Json& b = reports[i].facts["build"];
    builds[build_text(b)].push_back(reports[i].host);
    kinds[std::to_string(b.value("cuda_version", 0)) + "/" + b.value("cuda_architectures", std::string())].push_back(reports[i].host);
  }
  const std::string same_fix = "install one zerotune binary at the same path on every host (cluster init puts it in the image)";
  if (builds.size() == 1) out.push_back({"zerotune build", Status::ok, builds.begin()->first + on_all, ""});
  else if (kinds.size() > 1)
    out.push_back({"zerotune build", Status::fail, "different kinds of zerotune build: " + describe_groups(builds), same_fix});
  else
    out.push_back({"zerotune build", Status::warn,
                   "different zerotune binaries: " + describe_groups(builds) + "; ranks of different builds may disagree",
                   same_fix});

  // GPUs against the hostfile's slots
  int total_gpus = 0;
  for (size_t i : have) total_gpus += gpu_count(reports[i]);
  if (total_gpus == 0) {
    int ranks = 0;
    for (size_t i : have) ranks += i < slots.size() ? slots[i] : 0;
    out.push_back({"gpus", Status::info,
                   "no GPUs on any host: the job runs " + std::to_string(ranks) + " CPU ranks (the hostfile's slots) over Gloo", ""});
  } else {
    std::vector<std::string> none, short_of;
    for (size_t i : have) {
      int g = gpu_count(reports[i]), s = i < slots.size() ? slots[i] : 0;
      if (g == 0) none.push_back(reports[i].host);
      else if (g < s) short_of.push_back(reports[i].host + " (slots=" + std::to_string(s) + ", " + std::to_string(g) + " GPUs)");
    }
    if (!none.empty())
      out.push_back({"gpus", Status::fail,
                     "no GPU on " + join(none, ", ") + " while other hosts have GPUs: GPU and CPU ranks cannot train together",
                     "give those hosts their GPUs (driver, container GPU reservation) or leave them out of the hostfile"});
    else if (!short_of.empty())
      out.push_back({"gpus", Status::fail, "fewer GPUs than the hostfile's slots: " + join(short_of, ", "),
                     "set slots=<GPUs> for each host in the hostfile, or check nvidia-smi there"});
    else
      out.push_back({"gpus", Status::ok, std::to_string(total_gpus) + " GPUs; every host has at least its slots", ""});
  }

  // NCCL and the driver: one version everywhere
  std::map<std::string, std::vector<std::string>> nccl, driver;
  std::vector<std::string> no_nccl;
  for (size_t i : have) {
    const Json& f = reports[i].facts;
    if (f.contains("nccl") && f["nccl"].value("found", false)) nccl[nccl_version_text(f["nccl"].value("version", 0))].push_back(reports[i].host);
    else no_nccl.push_back(reports[i].host);
    if (f.contains("nvml") && f["nvml"].value("loaded", false))
      driver[f["nvml"].value("driver_version", std::string("?"))].push_back(reports[i].host);
  }
  if (nccl.empty())
    out.push_back({"nccl versions", Status::info, "NCCL on no host" + std::string(total_gpus ? "" : ": CPU ranks use Gloo"), ""});
  else if (nccl.size() > 1)
    out.push_back({"nccl versions", total_gpus ? Status::fail : Status::warn,
                   "NCCL versions differ: " + describe_groups(nccl) + "; ranks with different NCCL versions can fail or hang at start",
                   "install the same libnccl2 version on every host (or the same container image)"});
  else if (!no_nccl.empty() && total_gpus)
    out.push_back({"nccl versions", Status::fail,
                   "NCCL " + nccl.begin()->first + " on " + join(nccl.begin()->second, ", ") + " but missing on " + join(no_nccl, ", "),
                   "install libnccl2 (the same version) on those hosts"});
  else
    out.push_back({"nccl versions", Status::ok, "NCCL " + nccl.begin()->first + " on " + join(nccl.begin()->second, ", "), ""});
  if (driver.size() > 1)
    out.push_back({"driver versions", Status::warn, "NVIDIA drivers differ: " + describe_groups(driver),
                   "the same driver everywhere avoids surprises; each host's cuda row says whether its driver runs this build"});
  else if (driver.size() == 1)
    out.push_back({"driver versions", Status::ok, "NVIDIA driver " + driver.begin()->first + " on " + join(driver.begin()->second, ", "), ""});
  return out;
}

std::vector<Check> collective_checks(const std::vector<BenchRow>& rows, int ranks, const std::string& backend, int hosts) {
  std::vector<Check> out;
  if (rows.empty()) return out;
  int64_t wrong = 0;
  const BenchRow* best = &rows.front();
  for (auto& r : rows) {
    wrong += r.wrong;
    if (r.busbw_gbs > best->busbw_gbs) best = &r;
  }
  char buf[256];
  std::snprintf(buf, sizeof buf, "all_reduce over %d ranks on %d host%s (%s): latency %.1f us at %s, bus bandwidth %.3f GB/s at %s",
                ranks, hosts, hosts == 1 ? "" : "s", backend.c_str(), rows.front().time_us, bench_size_text(rows.front().bytes).c_str(),
                best->busbw_gbs, bench_size_text(best->bytes).c_str());
  out.push_back({"collective", wrong ? Status::fail : Status::ok,
                 std::string(buf) + (wrong ? "; " + std::to_string(wrong) + " elements came back wrong" : ""),
                 wrong ? "the sums are wrong: a faulty link, NIC or GPU; run the test per pair of hosts to find it" : ""});
  for (auto& r : rows) {
    std::snprintf(buf, sizeof buf, "time %.1f us, algbw %.3f GB/s, busbw %.3f GB/s (%d iterations), %lld wrong", r.time_us,
                  r.algbw_gbs, r.busbw_gbs, r.iters, (long long)r.wrong);
    out.push_back({"all_reduce " + bench_size_text(r.bytes), r.wrong ? Status::fail : Status::info, buf, ""});
  }
  return out;
}

FleetReport run_fleet_doctor(const FleetOptions& o) {
  auto hf = launch::read_hostfile(o.hostfile, true);
  check(hf.has_value(), "hostfile " + o.hostfile + " not found", "pass --hostfile with your servers, one `NAME slots=N` per line");
  const auto& entries = hf->hosts;
  const size_t n = entries.size();
  const std::string master = launch::host_part(entries[0].name);
  const std::string zt = shell_quote(o.zerotune);
  const std::string port = std::to_string(o.master_port);
  FleetReport fr;
  fr.cluster.host = "cluster";
  fr.cluster.facts = Json::object();
  std::vector<int> slots;
  for (auto& e : entries) slots.push_back(e.slots);

  // ---- every host's own doctor, in parallel ----
  std::string env;
  if (o.nccl_socket_ifname) env = "NCCL_SOCKET_IFNAME=" + shell_quote(*o.nccl_socket_ifname) + "; export NCCL_SOCKET_IFNAME; ";
  std::vector<ProcSpec> doctors;
  for (auto& e : entries)
    doctors.push_back({ssh_argv(o.ssh, e.name, env + "exec " + zt + " doctor --json --master_addr " + shell_quote(master) +
                                                   " --master_port " + port + " --data_dir " + shell_quote(o.data_dir))});
  auto dr = run_parallel(doctors, (o.ssh.connect_timeout_s + 90) * 1000);
  std::vector<bool> reachable(n, false);
  for (size_t i = 0; i < n; ++i) {
    const std::string host = launch::host_part(entries[i].name);
    const ProcResult& r = dr[i];
    int rc = r.exit_code();
    char ms[64];
    std::snprintf(ms, sizeof ms, "%.0f ms", r.seconds * 1000);
    if (r.timed_out || rc == 255 || rc < 0) {
      fr.hosts.push_back(unreachable_report(host, rc, r.last_error_line(), o.hostfile));
      continue;
    }
    reachable[i] = true;
    Check ssh_ok{"ssh", Status::ok, "logged in as " + entries[i].name + " (BatchMode) and ran the doctor in " + std::string(ms), ""};
    DoctorReport rep;
    bool parsed = false;
    if (rc == 0 || rc == 1) {
      try {
        rep = report_from_json(Json::parse(r.out), "zerotune doctor --json on " + host);
        parsed = true;
      } catch (const std::exception&) {
      }
    }
    if (parsed) {
      if (rep.host != host) ssh_ok.detail += "; its hostname is " + rep.host;
      rep.host = host;
      rep.checks.insert(rep.checks.begin(), ssh_ok);
    } else {
      rep = DoctorReport{};
      rep.host = host;
      rep.facts = Json::object();
      rep.checks.push_back(ssh_ok);
      if (rc == 127 || contains(r.last_error_line(), "not found") || contains(r.last_error_line(), "No such file"))
        rep.checks.push_back({"zerotune", Status::fail, o.zerotune + " is not there: " + r.last_error_line(),
                              "install zerotune at " + o.zerotune + " on every host (the launcher runs the same path there)"});
      else
        rep.checks.push_back({"zerotune", Status::fail, "zerotune doctor failed there (exit code " + std::to_string(rc) + "): " +
                                                            r.last_error_line(),
                              "run `" + o.zerotune + " doctor` on " + host + " to see why"});
    }
    fr.hosts.push_back(rep);
  }

  // ---- the master port, from every node ----
  bool port_ok = false;
  const std::string port_fix = "open TCP port " + port + " on " + master + " to the other nodes (and the ports Gloo and NCCL " +
                               "pick, 1024-65535, between all nodes), or choose another --master_port";
  if (!reachable[0]) {
    for (size_t i = 0; i < n; ++i)
      if (reachable[i])
        fr.hosts[i].checks.push_back({"master port", Status::fail, "not tested: the master " + master + " is unreachable over ssh",
                                      "fix the master's ssh row first"});
  } else {
    ProcSpec ls{ssh_argv(o.ssh, entries[0].name, "exec " + zt + " port-probe --listen " + port + " --timeout_s 120")};
    ls.keep_stdin_open = true;
    RunningProc listener(ls);
    bool up = listener.wait_for_output("ZT-LISTENING", Clock::now() + std::chrono::seconds(o.ssh.connect_timeout_s + 30));
    if (!up) {
      ProcResult lr = listener.finish(Clock::now() + std::chrono::seconds(5));
      std::string err = lr.last_error_line();
      fr.hosts[0].checks.push_back({"master port", Status::fail, "cannot listen on port " + port + " on the master: " + err,
                                    contains(err, "in use") ? "another program holds the port (ss -ltnp 'sport = :" + port +
                                                                  "' shows which): stop it or choose another --master_port"
                                                            : "run `zerotune port-probe --listen " + port + "` on " + master +
                                                                  " to see why"});
      for (size_t i = 1; i < n; ++i)
        if (reachable[i])
          fr.hosts[i].checks.push_back({"master port", Status::info, "not tested: nothing could listen on the master", ""});
    } else {
      std::vector<ProcSpec> connects;
      std::vector<size_t> who;
      for (size_t i = 0; i < n; ++i)
        if (reachable[i]) {
          connects.push_back({ssh_argv(o.ssh, entries[i].name, "exec " + zt + " port-probe --connect " +
                                                                  shell_quote(launch::join_host_port(master, o.master_port)) +
                                                                  " --timeout_ms 5000")});
          who.push_back(i);
        }
      auto cr = run_parallel(connects, (o.ssh.connect_timeout_s + 30) * 1000);
      listener.close_stdin();
      listener.finish(Clock::now() + std::chrono::seconds(10));
      port_ok = true;
      for (size_t k = 0; k < who.size(); ++k) {
        size_t i = who[k];
        std::string ok_line;
        for (auto& l : lines_of(cr[k].out))
          if (l.rfind("ZT-PORT-OK ", 0) == 0) ok_line = l.substr(11);
        if (cr[k].ok() && !ok_line.empty()) {
          fr.hosts[i].checks.push_back({"master port", Status::ok, master + ":" + port + " answered in " + ok_line + " ms", ""});
        } else {
          port_ok = false;
          fr.hosts[i].checks.push_back({"master port", Status::fail, cr[k].last_error_line(), port_fix});
        }
      }
    }
  }

  // ---- one build, one NCCL, GPUs against slots ----
  for (auto& c : consistency_checks(fr.hosts, slots)) fr.cluster.checks.push_back(c);

  // ---- the collective test over every rank ----
  size_t down = size_t(std::count(reachable.begin(), reachable.end(), false));
  if (!o.collective) {
    fr.cluster.checks.push_back({"collective", Status::info, "skipped (--no_collective)", ""});
  } else if (down) {
    fr.cluster.checks.push_back({"collective", Status::fail,
                                 "not run: " + std::to_string(down) + " of " + std::to_string(n) + " hosts are unreachable over ssh",
                                 "fix the ssh rows first"});
  } else if (!port_ok) {
    fr.cluster.checks.push_back({"collective", Status::fail, "not run: the master port is not reachable from every node",
                                 "fix the master port rows first"});
  } else {
    ProcSpec ls;
    ls.argv = {o.zerotune, "launch", "--hostfile", o.hostfile, "--master_port", port, "--no_local_rank"};
    if (!o.launcher_args.empty()) ls.argv.insert(ls.argv.end(), {"--launcher_args", o.launcher_args});
    if (o.ssh.port > 0) ls.argv.insert(ls.argv.end(), {"--ssh_port", std::to_string(o.ssh.port)});
    ls.argv.insert(ls.argv.end(), {"--", o.zerotune, "comm-bench"});
    if (!o.bench_sizes.empty()) {
      ls.argv.push_back("--sizes");
      for (int64_t s : o.bench_sizes) ls.argv.push_back(std::to_string(s));
    }
    ls.env_set = o.rank_env;
    // A broken network must fail the test in a minute, not after the training defaults (5 and 10 minutes).
    if (!std::getenv("ZEROTUNE_RDZV_TIMEOUT")) ls.env_set["ZEROTUNE_RDZV_TIMEOUT"] = "60";
    if (!std::getenv("ZEROTUNE_COMM_TIMEOUT")) ls.env_set["ZEROTUNE_COMM_TIMEOUT"] = "60";
    if (o.nccl_socket_ifname) ls.env_set["NCCL_SOCKET_IFNAME"] = *o.nccl_socket_ifname;
    ls.cwd = "/";  // the ranks start in the launcher's directory, which must exist on every node
    RunningProc job(ls);
    ProcResult jr = job.finish(Clock::now() + std::chrono::seconds(o.collective_timeout_s));
    for (auto& l : lines_of(jr.out + "\n" + jr.err)) {
      if (l.rfind("[rank 0] ", 0) != 0) continue;
      if (auto b = parse_bench_line(l)) {
        fr.bench.push_back(b->row);
        fr.bench_ranks = b->ranks;
        fr.bench_backend = b->backend;
      }
    }
    if (!jr.ok() || fr.bench.empty()) {
      std::string why;
      for (auto& l : lines_of(jr.err))
        if (l.rfind("zerotune launch: ", 0) == 0) why = l.substr(17);
      if (why.empty()) why = jr.last_error_line();
      fr.cluster.checks.push_back({"collective", Status::fail,
                                   "zerotune launch ... comm-bench " + std::string(jr.timed_out ? "timed out" : "failed") + ": " + why,
                                   "run `zerotune launch -H " + o.hostfile + " -- " + o.zerotune +
                                       " comm-bench` to see every rank's output (NCCL_DEBUG=INFO for NCCL)"});
      auto all = lines_of(jr.out + jr.err);
      size_t from = all.size() > 30 ? all.size() - 30 : 0;
      for (size_t k = from; k < all.size(); ++k) fr.collective_output += all[k] + "\n";
      fr.bench.clear();
    } else {
      for (auto& c : collective_checks(fr.bench, fr.bench_ranks, fr.bench_backend, int(n))) fr.cluster.checks.push_back(c);
    }
  }
  return fr;
}

Json fleet_json(const FleetReport& r) {
  Json hosts = Json::array();
  for (auto& h : r.hosts) hosts.push_back(report_json(h));
  Json coll = nullptr;
  if (!r.bench.empty()) {
    Json rows = Json::array();
    for (auto& b : r.bench)
      rows.push_back({{"bytes", b.bytes}, {"count", b.count}, {"iters", b.iters}, {"time_us", b.time_us},
                      {"algbw_gbs", b.algbw_gbs}, {"busbw_gbs", b.busbw_gbs}, {"wrong", b.wrong}});
    coll = {{"op", "all_reduce"}, {"dtype", "float32"}, {"ranks", r.bench_ranks}, {"backend", r.bench_backend}, {"rows", rows}};
  }
  return {{"hosts", hosts}, {"cluster", report_json(r.cluster)}, {"collective", coll}, {"blocking", fleet_exit_status(r) != 0}};
}

std::string format_fleet(const FleetReport& r, int width) {
  std::vector<DoctorReport> all = r.hosts;
  all.push_back(r.cluster);
  std::string out = format_table(all, width);
  if (!r.bench.empty()) out += "\n" + format_bench_table(r.bench, r.bench_ranks, r.bench_backend);
  if (!r.collective_output.empty()) out += "\ncollective test output (last lines):\n" + r.collective_output;
  return out;
}

int fleet_exit_status(const FleetReport& r) {
  std::vector<DoctorReport> all = r.hosts;
  all.push_back(r.cluster);
  return doctor_exit_status(all);
}

}  // namespace zt::cluster
