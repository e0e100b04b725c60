// ssh-setup's driver: this machine's key, the nodes' host keys (scanned, compared with known_hosts, recorded; checking
// stays on), the nodes' own keys authorized everywhere (one interactive login per node at most), the node-to-node matrix.
#include "cluster/ssh_setup.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "launch/env.hpp"
#include "launch/hostfile.hpp"
#include "launch/net.hpp"

namespace zt::cluster {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    while (!l.empty() && (l.back() == '\r' || l.back() == ' ')) l.pop_back();
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> w;
  std::istringstream in(s);
  for (std::string x; in >> x;) w.push_back(x);
  return w;
}

// The home directory ssh uses (the password database, not $HOME).
std::string user_home() {
  if (passwd* pw = getpwuid(getuid()); pw && pw->pw_dir && *pw->pw_dir) return pw->pw_dir;
  const char* h = std::getenv("HOME");
  check(h && *h, "cannot find this user's home directory (no passwd entry, no $HOME)", "pass --key with a key path");
  return h;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Appends lines to a file (created 0600 in a 0700 directory when missing), after a newline if the file lacks one.
void append_lines(const std::string& path, const std::vector<std::string>& add) {
  if (add.empty()) return;
  fs::path dir = fs::path(path).parent_path();
  if (!dir.empty() && !fs::exists(dir)) {
    fs::create_directories(dir);
    ::chmod(dir.c_str(), 0700);
  }
  std::string old = read_file(path);
  std::string text = (!old.empty() && old.back() != '\n') ? "\n" : "";
  for (auto& l : add) text += l + "\n";
  launch::Fd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  check(bool(fd), "cannot write " + path + ": " + std::strerror(errno), "check the file's owner and permissions");
  check(launch::write_all(fd.get(), text), "cannot write " + path + ": " + std::strerror(errno));
}

struct KeyLine {
  std::string type, blob;
};

// Keys of known_hosts-format lines (keyscan output, ssh-keygen -F output): "[@marker] names type blob [comment]".
std::vector<KeyLine> key_lines(const std::string& text) {
  std::vector<KeyLine> out;
  for (auto& l : lines_of(text)) {
    if (l[0] == '#' || l[0] == '@') continue;  // comments; @cert-authority/@revoked lines are not host keys
    auto w = words(l);
    if (w.size() >= 3) out.push_back({w[1], w[2]});
  }
  return out;
}

std::string type_label(const std::string& type) {
  if (type == "ssh-ed25519") return "ED25519";
  if (type.rfind("ecdsa-", 0) == 0) return "ECDSA";
  if (type == "ssh-rsa") return "RSA";
  return type;
}

// ssh -G's answer for one host: the settings that decide where it connects and which known_hosts it trusts.
struct Effective {
  std::string hostname, user, lookup;  // lookup: the known_hosts name ssh checks (alias, host or [host]:port)
  int port = 22;
  std::vector<std::string> known_files;  // user files first (ssh writes the first), then global ones
  bool proxied = false;                  // ProxyJump/ProxyCommand: ssh-keyscan cannot reach it directly
  std::string error;
};

Effective parse_effective(const std::string& out) {
  Effective e;
  std::vector<std::string> user_files, global_files;
  std::string alias;
  for (auto& l : lines_of(out)) {
    auto sp = l.find(' ');
    if (sp == std::string::npos) continue;
    std::string k = l.substr(0, sp), v = l.substr(sp + 1);
    if (k == "hostname") e.hostname = v;
    else if (k == "port") e.port = std::atoi(v.c_str());
    else if (k == "user") e.user = v;
    else if (k == "hostkeyalias") alias = v;
    else if (k == "userknownhostsfile") user_files = words(v);
    else if (k == "globalknownhostsfile") global_files = words(v);
    else if ((k == "proxyjump" || k == "proxycommand") && v != "none") e.proxied = true;
  }
  e.known_files = user_files;
  e.known_files.insert(e.known_files.end(), global_files.begin(), global_files.end());
  e.lookup = !alias.empty() && alias != "none" ? alias
             : e.port == 22                    ? e.hostname
                                               : "[" + e.hostname + "]:" + std::to_string(e.port);
  return e;
}

// Why nothing answered ssh-keyscan: a TCP connect says it in the words users know.
std::string connect_reason(const std::string& host, int port) {
  std::string err;
  launch::Fd fd = launch::connect_tcp(host, port, 5000, err);
  if (fd) return "port " + std::to_string(port) + " answers, but not with an ssh server's host key";
  return "cannot connect to " + host + " port " + std::to_string(port) + ": " + err;
}

bool contains(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

// The node keys and known_hosts lines installed on one node.
std::string stdin_items(const std::vector<std::string>& pubs, const std::vector<std::string>& known) {
  std::string s;
  for (auto& p : pubs) s += "A " + p + "\n";
  for (auto& k : known) s += "K " + k + "\n";
  return s;
}

struct LocalKey {
  std::string path, pub;
  bool created = false;
};

LocalKey ensure_local_key(const std::string& path, std::ostream& out) {
  LocalKey k;
  k.path = path;
  std::string host = "localhost";
  char hn[256] = {0};
  if (gethostname(hn, sizeof hn - 1) == 0 && *hn) host = hn;
  if (!fs::exists(path)) {
    fs::path dir = fs::path(path).parent_path();
    if (!dir.empty() && !fs::exists(dir)) {
      fs::create_directories(dir);
      ::chmod(dir.c_str(), 0700);
    }
    auto r = run_parallel({{{"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "zerotune@" + host, "-f", path}}}, 30000);
    check(r[0].ok(), "cannot create the key " + path + ": " + r[0].last_error_line(),
          "install openssh-client (ssh-keygen), or pass --key with an existing key");
    k.created = true;
  }
  if (fs::exists(path + ".pub")) {
    k.pub = lines_of(read_file(path + ".pub")).empty() ? "" : lines_of(read_file(path + ".pub"))[0];
  } else {
    auto r = run_parallel({{{"ssh-keygen", "-y", "-P", "", "-f", path}}}, 30000);
    check(r[0].ok(), path + " has no " + path + ".pub and its public key cannot be read without a passphrase",
          "write it once with `ssh-keygen -y -f " + path + " > " + path + ".pub`");
    k.pub = lines_of(r[0].out).empty() ? "" : lines_of(r[0].out)[0];
  }
  auto w = words(k.pub);
  check(w.size() >= 2 && !key_fingerprint(w[1]).empty(), path + ".pub is not an OpenSSH public key",
        "pass --key with an OpenSSH private key whose .pub sits beside it");
  out << "key: " << path << (k.created ? " (created) " : " ") << type_label(w[0]) << " " << key_fingerprint(w[1]) << "\n";
  // ssh in batch mode cannot ask for a passphrase: such a key works only through an agent
  const char* agent = std::getenv("SSH_AUTH_SOCK");
  if (!k.created && !(agent && *agent) && !run_parallel({{{"ssh-keygen", "-y", "-P", "", "-f", path}}}, 30000)[0].ok())
    out << "  warning: " << path << " has a passphrase and no ssh-agent runs here: batch-mode ssh cannot use it; "
        << "load it first: eval $(ssh-agent) && ssh-add " << path << "\n";
  return k;
}

}  // namespace

std::vector<SshNode> ssh_nodes(const std::string& hostfile, const std::string& user) {
  auto hf = launch::read_hostfile(hostfile, true);
  check(hf.has_value(), "hostfile " + hostfile + " not found", "pass --hostfile with your servers, one `NAME slots=N` per line");
  std::vector<SshNode> out;
  for (auto& e : hf->hosts) {
    SshNode n;
    n.entry = e.name;
    n.name = launch::host_part(e.name);
    n.target = e.name.find('@') == std::string::npos && !user.empty() ? user + "@" + e.name : e.name;
    n.line = e.line;
    out.push_back(n);
  }
  return out;
}

int run_ssh_setup(const SshSetupOptions& o, std::ostream& out) {
  std::vector<SshNode> nodes = ssh_nodes(o.hostfile, o.user);
  const size_t n = nodes.size();
  std::string names;
  for (auto& nd : nodes) names += (names.empty() ? "" : ", ") + nd.target;
  out << "ssh-setup: " << n << " node" << (n == 1 ? "" : "s") << " from " << o.hostfile << ": " << names << "\n";
  std::vector<std::string> problems(n);  // per node: why it was left out of the setup

  SshOptions hop = o.ssh;
  hop.batch = true;
  hop.strict_host_keys = "yes";
  const std::string key = o.key.empty() ? user_home() + "/.ssh/id_ed25519" : o.key;
  if (!o.check_only) {
    // ---- 1. this machine's key ----
    LocalKey lk = ensure_local_key(key, out);
    hop.identity = key;

    // ---- 2. what ssh here connects to, and which known_hosts it trusts ----
    std::vector<ProcSpec> g;
    for (auto& nd : nodes) {
      std::vector<std::string> a = {"ssh", "-G"};
      if (o.ssh.port > 0) a.insert(a.end(), {"-p", std::to_string(o.ssh.port)});
      for (auto& x : o.ssh.extra_args) a.push_back(x);
      a.insert(a.end(), {"--", nd.target});
      g.push_back({a});
    }
    auto gr = run_parallel(g, 30000);
    std::vector<Effective> eff(n);
    for (size_t i = 0; i < n; ++i) {
      check(gr[i].ok(), "ssh -G " + nodes[i].target + " failed: " + gr[i].last_error_line(),
            "install openssh-client, and check --ssh_args and your ~/.ssh/config");
      eff[i] = parse_effective(gr[i].out);
      check(!eff[i].known_files.empty(), "ssh -G " + nodes[i].target + " names no known_hosts file",
            "set UserKnownHostsFile in your ssh config");
    }

    // ---- 3. host keys: scanned, compared with what is known, recorded on first contact ----
    std::vector<ProcSpec> scans, lookups;
    std::vector<std::pair<size_t, std::string>> lookup_of;  // (node, file)
    for (size_t i = 0; i < n; ++i) {
      scans.push_back({{"ssh-keyscan", "-T", std::to_string(std::max(2, std::min(o.ssh.connect_timeout_s, 10))), "-p",
                        std::to_string(eff[i].port), eff[i].hostname}});
      for (auto& f : eff[i].known_files)
        if (fs::exists(f)) {
          lookups.push_back({{"ssh-keygen", "-F", eff[i].lookup, "-f", f}});
          lookup_of.push_back({i, f});
        }
    }
    auto sr = run_parallel(scans, 30000);
    auto lr = run_parallel(lookups, 30000);
    std::vector<std::vector<KeyLine>> known(n);
    for (size_t k = 0; k < lookups.size(); ++k)
      for (auto& kl : key_lines(lr[k].out)) known[lookup_of[k].first].push_back(kl);
    std::map<std::string, std::vector<std::string>> record;  // known_hosts file -> lines to add
    std::vector<bool> accept_new(n, false);
    out << "host keys:\n";
    for (size_t i = 0; i < n; ++i) {
      const std::string& name = nodes[i].name;
      std::vector<KeyLine> scanned = key_lines(sr[i].out);
      if (scanned.empty()) {
        if (eff[i].proxied && known[i].empty()) {
          // ssh-keyscan cannot go through a jump host: ssh itself records the key on first contact (accept-new).
          accept_new[i] = true;
          out << "  " << name << ": reached through a proxy; ssh records its host key on first contact (accept-new)\n";
        } else if (eff[i].proxied) {
          out << "  " << name << ": reached through a proxy; its host key is already known\n";
        } else {
          problems[i] = connect_reason(eff[i].hostname, eff[i].port);
          out << "  " << name << ": no host key: " << problems[i] << "\n";
        }
        continue;
      }
      auto ed = std::find_if(scanned.begin(), scanned.end(), [](const KeyLine& k) { return k.type == "ssh-ed25519"; });
      const KeyLine& shown = ed != scanned.end() ? *ed : scanned.front();
      std::string fp = type_label(shown.type) + " " + key_fingerprint(shown.blob);
      if (known[i].empty()) {
        for (auto& s : scanned) record[eff[i].known_files[0]].push_back(eff[i].lookup + " " + s.type + " " + s.blob);
        out << "  " << name << ": " << fp << " recorded in " << eff[i].known_files[0]
            << " (first contact: compare with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on " << name
            << " where the network is not trusted)\n";
        continue;
      }
      bool match = false, changed = false;
      for (auto& s : scanned)
        for (auto& k : known[i]) {
          if (k.type != s.type) continue;
          (k.blob == s.blob ? match : changed) = true;
        }
      if (changed && !match) {
        problems[i] = "its host key (" + fp + ") is not the one known_hosts holds for " + eff[i].lookup;
        out << "  " << name << ": HOST KEY CHANGED: " << problems[i]
            << "; it was reinstalled, or something intercepts the connection. Left out.\n"
            << "    fix: verify the fingerprint on " << name << "'s console (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), "
            << "then `ssh-keygen -R " << eff[i].lookup << "` and run ssh-setup again\n";
        continue;
      }
      out << "  " << name << ": " << fp << " already known\n";
    }
    for (auto& [file, add] : record) append_lines(file, add);

    // ---- 4. this machine's key onto every node, and every node's own key (created when missing) ----
    std::vector<std::string> node_pub(n);
    auto install_argv = [&](size_t i, bool batch) {
      SshOptions s = hop;
      s.batch = batch;
      if (accept_new[i]) s.strict_host_keys = "accept-new";
      return ssh_argv(s, nodes[i].target, "exec sh -c " + launch::shell_quote(install_script(true)));
    };
    auto take_round1 = [&](size_t i, const ProcResult& r) {
      for (auto& l : lines_of(r.out)) {
        if (l.rfind("ZT-NODE-KEY ", 0) == 0) node_pub[i] = l.substr(12);
        else if (l.rfind("ZT-WARN ", 0) == 0) out << "  " << nodes[i].name << ": warning: " << l.substr(8) << "\n";
        else if (l.rfind("ZT-ERROR ", 0) == 0) problems[i] = l.substr(9);
      }
      if (r.ok() && !node_pub[i].empty()) {
        out << "  " << nodes[i].name << ": key authorized; node key ~/.ssh/id_ed25519"
            << (contains(r.out, "ZT-CREATED") ? " (created)" : "") << "\n";
        problems[i].clear();
        return true;
      }
      if (problems[i].empty()) problems[i] = r.last_error_line();
      return false;
    };
    out << "install:\n";
    std::vector<ProcSpec> r1;
    std::vector<size_t> r1_nodes;
    for (size_t i = 0; i < n; ++i)
      if (problems[i].empty()) {
        r1.push_back({install_argv(i, true), stdin_items({lk.pub}, {})});
        r1_nodes.push_back(i);
      }
    auto rr1 = run_parallel(r1, (o.ssh.connect_timeout_s + 60) * 1000);
    std::vector<size_t> need_password;
    for (size_t k = 0; k < r1_nodes.size(); ++k) {
      size_t i = r1_nodes[k];
      if (take_round1(i, rr1[k])) continue;
      if (contains(problems[i], "Permission denied") && o.allow_prompt) need_password.push_back(i);
      else out << "  " << nodes[i].name << ": " << problems[i] << "\n";
    }
    // One interactive login per node that accepts none of our keys: ssh asks for the password on the terminal.
    bool tty = launch::Fd(::open("/dev/tty", O_RDWR | O_CLOEXEC)).get() >= 0;
    for (size_t i : need_password) {
      if (!tty) {
        problems[i] += " (no terminal for a password prompt)";
        out << "  " << nodes[i].name << ": " << problems[i] << "\n";
        continue;
      }
      out << "  " << nodes[i].name << ": no key of ours is accepted; logging in once with ssh's own prompt (password) "
          << "to install it:" << std::endl;
      ProcSpec interactive(install_argv(i, false), stdin_items({lk.pub}, {}));
      interactive.inherit_stderr = true;
      RunningProc p(interactive);
      ProcResult r = p.finish(std::chrono::steady_clock::now() + std::chrono::minutes(5));
      if (!take_round1(i, r)) out << "  " << nodes[i].name << ": " << problems[i] << "\n";
    }

    // ---- 5. trust among the nodes: every node's key and every verified host key on every node ----
    std::vector<std::string> pubs = {lk.pub}, known_lines;
    for (size_t i = 0; i < n; ++i)
      if (!node_pub[i].empty()) pubs.push_back(node_pub[i]);
    // The nodes name each other as the hostfile does; the keys are the ones verified from here (ssh above checked
    // them with StrictHostKeyChecking=yes), read back from this machine's known_hosts.
    std::vector<ProcSpec> reread;
    std::vector<std::pair<size_t, std::string>> reread_of;
    for (size_t i = 0; i < n; ++i)
      if (problems[i].empty())
        for (auto& f : eff[i].known_files)
          if (fs::exists(f)) {
            reread.push_back({{"ssh-keygen", "-F", eff[i].lookup, "-f", f}});
            reread_of.push_back({i, f});
          }
    auto rr = run_parallel(reread, 30000);
    std::set<std::string> seen;
    for (size_t k = 0; k < reread.size(); ++k) {
      size_t i = reread_of[k].first;
      std::string label = o.ssh.port > 0 && o.ssh.port != 22 ? "[" + nodes[i].name + "]:" + std::to_string(o.ssh.port)
                                                              : nodes[i].name;
      for (auto& kl : key_lines(rr[k].out)) {
        std::string line = label + " " + kl.type + " " + kl.blob;
        if (seen.insert(line).second) known_lines.push_back(line);
      }
    }
    std::vector<ProcSpec> r2;
    std::vector<size_t> r2_nodes;
    for (size_t i = 0; i < n; ++i)
      if (problems[i].empty()) {
        r2.push_back({ssh_argv(hop, nodes[i].target, "exec sh -c " + launch::shell_quote(install_script(false))),
                      stdin_items(pubs, known_lines)});
        r2_nodes.push_back(i);
      }
    auto rr2 = run_parallel(r2, (o.ssh.connect_timeout_s + 60) * 1000);
    size_t trusted = 0;
    for (size_t k = 0; k < r2_nodes.size(); ++k) {
      size_t i = r2_nodes[k];
      if (rr2[k].ok()) {
        ++trusted;
        continue;
      }
      problems[i] = rr2[k].last_error_line();
      out << "  " << nodes[i].name << ": distributing keys failed: " << problems[i] << "\n";
    }
    out << "trust: " << pubs.size() << " public keys (this machine's and " << pubs.size() - 1 << " nodes') and "
        << known_lines.size() << " host keys installed on " << trusted << " of " << n << " nodes\n";
  } else if (fs::exists(key)) {
    hop.identity = key;
  }

  // ---- 6. proof: ssh from every node to every node, asked through a first hop from here ----
  SshMatrix m;
  for (auto& nd : nodes) m.names.push_back(nd.name);
  m.cells.assign(n, std::vector<std::string>(n));
  m.row_error.assign(n, "");
  std::vector<ProcSpec> rows;
  for (size_t i = 0; i < n; ++i) {
    // Row i asks the targets starting at i + 1: at any moment the nodes probe different targets, so no sshd sees
    // a burst of n connections (MaxStartups).
    std::string items;
    for (size_t k = 0; k < n; ++k) {
      size_t j = (i + 1 + k) % n;
      items += std::to_string(j) + " " + nodes[j].target + "\n";
    }
    rows.push_back({ssh_argv(hop, nodes[i].target, "exec sh -c " + launch::shell_quote(matrix_script(o.ssh.port, o.matrix_timeout_s))),
                    items});
  }
  auto mr = run_parallel(rows, (o.ssh.connect_timeout_s + int(n) * (o.matrix_timeout_s + 5) + 30) * 1000);
  for (size_t i = 0; i < n; ++i) {
    std::vector<bool> got(n, false);
    for (auto& l : lines_of(mr[i].out)) {
      if (l.rfind("ZT-MATRIX ", 0) != 0) continue;
      std::istringstream in(l.substr(10));
      size_t j = 0;
      int rc = 0;
      if (!(in >> j >> rc) || j >= n) continue;
      std::string err;
      std::getline(in, err);
      if (!err.empty() && err[0] == ' ') err.erase(0, 1);
      got[j] = true;
      m.cells[i][j] = rc == 0 ? "" : err.empty() ? "ssh exited with code " + std::to_string(rc) : err;
    }
    bool any = std::find(got.begin(), got.end(), true) != got.end();
    if (!any) {
      m.row_error[i] = mr[i].last_error_line();
      continue;
    }
    for (size_t j = 0; j < n; ++j)
      if (!got[j]) m.cells[i][j] = "no answer: the session on " + nodes[i].name + " ended (" + mr[i].last_error_line() + ")";
  }
  out << "ssh from every node to every node (BatchMode=yes, no agent; rows: from, columns: to):\n" << format_matrix(m);
  if (m.all_ok()) {
    out << "all " << n * n << " ok: every node reaches every node without a password\n";
    return 0;
  }
  out << "problems:\n" << explain_matrix(m, o.ssh.port);
  return 1;
}

}  // namespace zt::cluster
