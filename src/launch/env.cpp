// Environment helpers for launches: exported prefixes, .deepspeed_env files, job secrets, core lists and
// shell quoting.
#include "launch/env.hpp"

#include <sched.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "core/error.hpp"

extern char** environ;

namespace zt::launch {

const char* const kExportedPrefixes[6] = {"NCCL", "PYTHON", "UCX", "MV2", "ZEROTUNE_", "GLOO_"};

EnvMap current_environment() {
  EnvMap env;
  for (char** e = environ; e && *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (!eq) continue;
    env.emplace(std::string(*e, size_t(eq - *e)), std::string(eq + 1));
  }
  return env;
}

std::vector<std::string> env_strings(const EnvMap& env) {
  std::vector<std::string> out;
  out.reserve(env.size());
  for (auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

EnvMap exported_variables(const EnvMap& env) {
  EnvMap out;
  for (auto& [k, v] : env)
    for (const char* p : kExportedPrefixes)
      if (k.rfind(p, 0) == 0) out[k] = v;
  return out;
}

static bool valid_name(const std::string& k) {
  if (k.empty() || (k[0] >= '0' && k[0] <= '9')) return false;
  for (char c : k)
    if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  return true;
}

EnvMap parse_env_file(const std::string& text, const std::string& path) {
  EnvMap out;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos || line[b] == '#') continue;
    std::string where = path + " line " + std::to_string(lineno);
    size_t eq = line.find('=');
    check(eq != std::string::npos, where + ": expected KEY=VALUE, got '" + line + "'",
          "one variable per line, e.g. NCCL_IB_DISABLE=1; # starts a comment line");
    std::string key = line.substr(b, eq - b), value = line.substr(eq + 1);
    check(valid_name(key), where + ": '" + key + "' is not a variable name", "names are letters, digits and _");
    if (value.size() >= 2 && (value[0] == '"' || value[0] == '\'') && value.back() == value[0])
      value = value.substr(1, value.size() - 2);
    out[key] = value;
  }
  return out;
}

EnvMap read_deepspeed_env(const EnvMap& launcher_env, const std::string& home, const std::string& cwd,
                          std::vector<std::string>& files_read) {
  std::string name = ".deepspeed_env";
  if (auto it = launcher_env.find("DS_ENV_FILE"); it != launcher_env.end() && !it->second.empty()) name = it->second;
  EnvMap out;
  std::vector<std::string> dirs;
  if (!home.empty()) dirs.push_back(home);
  dirs.push_back(cwd);
  for (auto& dir : dirs) {
    std::string path = name[0] == '/' ? name : dir + "/" + name;
    if (std::find(files_read.begin(), files_read.end(), path) != files_read.end()) continue;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    std::ifstream f(path, std::ios::binary);
    check(bool(f), "cannot read " + path, "check its permissions (it is the DeepSpeed environment file)");
    std::stringstream ss;
    ss << f.rdbuf();
    for (auto& [k, v] : parse_env_file(ss.str(), path)) out[k] = v;
    files_read.push_back(path);
  }
  return out;
}

std::string generate_job_secret() {
  unsigned char buf[32];
  size_t got = 0;
  while (got < sizeof buf) {
    ssize_t n = ::getrandom(buf + got, sizeof buf - got, 0);
    if (n < 0 && errno == EINTR) continue;
    check(n > 0, std::string("getrandom failed: ") + std::strerror(errno));
    got += size_t(n);
  }
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned char c : buf) s += hex[c >> 4], s += hex[c & 15];
  return s;
}

std::string hex_decode(const std::string& hex, const std::string& what) {
  auto nib = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    fail(what + " is not hexadecimal", "use 64 hex digits, e.g. from `head -c32 /dev/urandom | od -An -tx1 | tr -d ' \\n'`");
  };
  check(hex.size() % 2 == 0 && hex.size() >= 32, what + " must be at least 32 hex digits (an even number)",
        "use 64 hex digits, e.g. from `head -c32 /dev/urandom | od -An -tx1 | tr -d ' \\n'`");
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) out += char(nib(hex[i]) * 16 + nib(hex[i + 1]));
  return out;
}

std::vector<int> parse_core_list(const std::string& text, const std::string& flag) {
  std::vector<int> out;
  auto num = [&](const std::string& s) {
    check(!s.empty() && s.size() <= 5 && s.find_first_not_of("0123456789") == std::string::npos,
          flag + " '" + text + "': '" + s + "' is not a core number", "e.g. 0-7,16-23");
    return std::stoi(s);
  };
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    size_t dash = item.find('-');
    int a = num(item.substr(0, dash)), b = dash == std::string::npos ? a : num(item.substr(dash + 1));
    check(a <= b, flag + " '" + text + "': range '" + item + "' is backwards", "write low-high, e.g. 0-7");
    for (int c = a; c <= b; ++c)
      if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  }
  check(!out.empty(), flag + " is empty", "e.g. 0-7,16-23");
  return out;
}

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> out;
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) out.push_back(c);
  return out;
}

std::vector<int> cores_for_rank(const std::vector<int>& cores, int local_size, int local_rank) {
  size_t per = cores.size() / size_t(local_size);
  return std::vector<int>(cores.begin() + long(per * size_t(local_rank)), cores.begin() + long(per * size_t(local_rank + 1)));
}

std::string shell_quote(const std::string& w) {
  if (!w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,@+%") ==
                        std::string::npos)
    return w;
  std::string s = "'";
  for (char c : w) s += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return s + "'";
}

std::vector<std::string> shell_split(const std::string& text, const std::string& flag) {
  std::vector<std::string> out;
  std::string cur;
  bool have = false;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote == '\'') {
      if (c == '\'') quote = 0;
      else cur += c;
    } else if (quote == '"') {
      if (c == '"') quote = 0;
      else if (c == '\\' && i + 1 < text.size() && std::strchr("\"\\$`", text[i + 1])) cur += text[++i];
      else cur += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      have = true;
    } else if (c == '\\' && i + 1 < text.size()) {
      cur += text[++i];
      have = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (have) out.push_back(cur);
      cur.clear();
      have = false;
    } else {
      cur += c;
      have = true;
    }
  }
  check(!quote, flag + " '" + text + "' has an unterminated " + (quote == '"' ? "double" : "single") + " quote");
  if (have) out.push_back(cur);
  return out;
}

}  // namespace zt::launch
