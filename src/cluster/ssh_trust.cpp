// The node side of ssh-setup and its report: the POSIX sh scripts run on the nodes (data on stdin), key fingerprints
// as ssh prints them, and the node-to-node matrix with one fix per distinct failure.
#include <openssl/evp.h>

#include <algorithm>
#include <map>

#include "cluster/ssh_setup.hpp"

namespace zt::cluster {

namespace {

bool contains(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

std::string b64_encode(const unsigned char* p, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, int(n));
  out.resize(size_t(len));
  return out;
}

std::string fix_for(const std::string& error, const std::string& from, const std::string& to, int port) {
  const std::string again = "then run zerotune cluster ssh-setup again";
  if (contains(error, "Permission denied"))
    return to + " does not accept the key of " + from + ": check on " + to +
           " that sshd allows public keys (PubkeyAuthentication, AuthorizedKeysFile, AllowUsers, PermitRootLogin) and that "
           "the home directory and ~/.ssh are not writable by others (sshd's StrictModes); " + again;
  if (contains(error, "Host key verification failed") || contains(error, "IDENTIFICATION HAS CHANGED") ||
      contains(error, "No ED25519 host key") || contains(error, "host key"))
    return from + " does not have " + to + "'s verified host key (or it changed): " + again +
           " (after reinstalling " + to + ", remove its old key first: ssh-keygen -R " + to + ")";
  if (contains(error, "Could not resolve") || contains(error, "Name or service not known") ||
      contains(error, "Temporary failure in name resolution"))
    return from + " cannot resolve " + to + ": add every node to /etc/hosts on every node (or to DNS), or use IP "
           "addresses in the hostfile";
  if (contains(error, "Connection refused"))
    return "nothing listens for ssh on " + to + " port " + std::to_string(port > 0 ? port : 22) +
           ": start sshd there (apt-get install openssh-server; service ssh start) or pass --ssh_port";
  if (contains(error, "No route to host") || contains(error, "timed out") || contains(error, "Network is unreachable"))
    return to + " is not reachable from " + from + ": check that it is up, its address, and firewalls between them";
  if (contains(error, "not available") || contains(error, "not allowed"))
    return "the account on " + to + " does not allow logins: give the user a login shell, or pass --user";
  return "run `ssh -v " + to + " true` on " + from + " to see more";
}

}  // namespace

bool SshMatrix::all_ok() const {
  for (auto& e : row_error)
    if (!e.empty()) return false;
  for (auto& row : cells)
    for (auto& c : row)
      if (!c.empty()) return false;
  return true;
}

std::string key_fingerprint(const std::string& blob) {
  if (blob.empty() || blob.size() % 4 != 0) return "";
  std::string raw(blob.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()), reinterpret_cast<const unsigned char*>(blob.data()),
                          int(blob.size()));
  if (n < 0) return "";
  size_t len = size_t(n);
  for (size_t i = blob.size(); i > 0 && blob[i - 1] == '='; --i) --len;  // DecodeBlock counts the padding as zeros
  unsigned char md[32];
  unsigned int md_len = 0;
  if (!EVP_Digest(raw.data(), len, md, &md_len, EVP_sha256(), nullptr)) return "";
  std::string b = b64_encode(md, md_len);
  while (!b.empty() && b.back() == '=') b.pop_back();
  return "SHA256:" + b;
}

std::string install_script(bool make_key) {
  std::string s =
      "set -f\n"
      "umask 077\n"
      "d=\"$HOME/.ssh\"\n"
      "[ -d \"$d\" ] || mkdir -p \"$d\" || { echo \"ZT-ERROR cannot create $d on $(uname -n)\"; exit 3; }\n"
      "add() {\n"
      "  [ -f \"$1\" ] || : >\"$1\" || return 1\n"
      "  grep -qF -- \"$2\" \"$1\" && return 0\n"
      "  if [ -s \"$1\" ] && [ -n \"$(tail -c 1 \"$1\")\" ]; then echo >>\"$1\"; fi\n"
      "  printf '%s\\n' \"$3\" >>\"$1\"\n"
      "}\n"
      "while IFS= read -r l; do\n"
      "  case \"$l\" in\n"
      "    \"A \"*) k=${l#A }; set -- $k\n"
      "      add \"$d/authorized_keys\" \"$2\" \"$k\" || { echo \"ZT-ERROR cannot write $d/authorized_keys on $(uname -n)\"; exit 3; } ;;\n"
      "    \"K \"*) k=${l#K }\n"
      "      add \"$d/known_hosts\" \"$k\" \"$k\" || { echo \"ZT-ERROR cannot write $d/known_hosts on $(uname -n)\"; exit 3; } ;;\n"
      "  esac\n"
      "done\n";
  if (make_key)
    s +=
        "k=\"$d/id_ed25519\"\n"
        "if [ ! -f \"$k\" ]; then\n"
        "  command -v ssh-keygen >/dev/null 2>&1 || { echo \"ZT-ERROR ssh-keygen is not installed on $(uname -n) (Debian/Ubuntu: "
        "apt-get install openssh-client)\"; exit 4; }\n"
        "  ssh-keygen -q -t ed25519 -N '' -C \"zerotune@$(uname -n)\" -f \"$k\" </dev/null >/dev/null 2>&1 || "
        "{ echo \"ZT-ERROR ssh-keygen could not create $k on $(uname -n)\"; exit 4; }\n"
        "  echo ZT-CREATED\n"
        "fi\n"
        "ssh-keygen -y -P '' -f \"$k\" >/dev/null 2>&1 || echo \"ZT-WARN $k on $(uname -n) has a passphrase: ssh from this "
        "node in batch mode needs an agent holding it\"\n"
        "if [ -f \"$k.pub\" ]; then p=$(head -n 1 \"$k.pub\"); else p=$(ssh-keygen -y -P '' -f \"$k\" 2>/dev/null) || "
        "{ echo \"ZT-ERROR $k on $(uname -n) has no $k.pub and a passphrase: write it with ssh-keygen -y -f $k > $k.pub\"; "
        "exit 5; }; fi\n"
        "echo \"ZT-NODE-KEY $p\"\n";
  return s;
}

std::string matrix_script(int port, int connect_timeout_s) {
  std::string p = port > 0 ? " -p " + std::to_string(port) : "";
  return "set -f\n"
         "while read -r j t; do\n"
         "  e=$(env -u SSH_AUTH_SOCK ssh -n -o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=" +
         std::to_string(connect_timeout_s) + p +
         " -- \"$t\" true 2>&1)\n"
         "  r=$?\n"
         "  e=$(printf '%s\\n' \"$e\" | sed '/^[[:space:]]*$/d' | tail -n 1)\n"
         "  printf 'ZT-MATRIX %s %s %s\\n' \"$j\" \"$r\" \"$e\"\n"
         "done\n";
}

std::string format_matrix(const SshMatrix& m) {
  const size_t n = m.names.size();
  std::vector<std::vector<std::string>> text(n, std::vector<std::string>(n));
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j)
      text[i][j] = !m.row_error[i].empty() ? "not asked" : m.cells[i][j].empty() ? "ok" : short_reason(m.cells[i][j]);
  std::string corner = "FROM \\ TO";
  size_t w0 = corner.size();
  for (auto& s : m.names) w0 = std::max(w0, s.size());
  std::vector<size_t> w(n);
  for (size_t j = 0; j < n; ++j) {
    w[j] = m.names[j].size();
    for (size_t i = 0; i < n; ++i) w[j] = std::max(w[j], text[i][j].size());
  }
  auto pad = [](const std::string& s, size_t width) { return s + std::string(width > s.size() ? width - s.size() : 0, ' '); };
  std::string out = pad(corner, w0 + 2);
  for (size_t j = 0; j < n; ++j) out += pad(m.names[j], w[j] + 2);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  out += "\n";
  for (size_t i = 0; i < n; ++i) {
    std::string line = pad(m.names[i], w0 + 2);
    for (size_t j = 0; j < n; ++j) line += pad(text[i][j], w[j] + 2);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string explain_matrix(const SshMatrix& m, int ssh_port) {
  const size_t n = m.names.size();
  std::string out;
  size_t asked = 0;
  for (size_t i = 0; i < n; ++i) {
    if (m.row_error[i].empty()) {
      ++asked;
      continue;
    }
    out += "  " + m.names[i] + " could not be asked (from here): " + m.row_error[i] + "\n    fix: " +
           fix_for(m.row_error[i], "this machine", m.names[i], ssh_port) + "\n";
  }
  // failures of one target with one reason, from several nodes, are one problem
  std::map<std::pair<size_t, std::string>, std::vector<size_t>> groups;
  std::vector<std::pair<size_t, std::string>> order;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      if (!m.row_error[i].empty() || m.cells[i][j].empty()) continue;
      std::string reason = m.cells[i][j];
      if (auto at = reason.find('@'), colon = reason.find(": "); at != std::string::npos && colon != std::string::npos && at < colon)
        reason = reason.substr(colon + 2);  // "root@node2: Permission denied" from every row is one reason
      auto key = std::make_pair(j, reason);
      if (!groups.count(key)) order.push_back(key);
      groups[key].push_back(i);
    }
  for (auto& key : order) {
    auto& froms = groups[key];
    std::string from_text;
    if (froms.size() == asked && asked > 1) from_text = "every node";
    else
      for (size_t f : froms) from_text += (from_text.empty() ? "" : ", ") + m.names[f];
    out += "  " + from_text + " -> " + m.names[key.first] + ": " + key.second + "\n    fix: " +
           fix_for(key.second, froms.size() == 1 ? m.names[froms[0]] : "the nodes", m.names[key.first], ssh_port) + "\n";
  }
  return out;
}

}  // namespace zt::cluster
