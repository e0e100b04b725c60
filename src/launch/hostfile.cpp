// Hostfile parsing and resource selection (DeepSpeed runner.py's fetch_hostfile, parse_resource_filter and the
// --num_nodes/--num_gpus rules), with errors naming the hostfile line or the flag.
#include "launch/hostfile.hpp"

#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/stat.h>

#include "core/error.hpp"

namespace zt::launch {

namespace {

constexpr int kMaxSlots = 4096;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string strip(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// Matches `^(\S+)\s+slots=(\d+)` at the start of `line`; returns false when it does not match.
bool match_entry(const std::string& line, std::string& name, std::string& digits) {
  size_t i = 0;
  while (i < line.size() && !is_space(line[i])) ++i;
  if (i == 0) return false;
  name = line.substr(0, i);
  size_t j = i;
  while (j < line.size() && is_space(line[j])) ++j;
  if (j == i || line.compare(j, 6, "slots=") != 0) return false;
  j += 6;
  size_t k = j;
  while (k < line.size() && line[k] >= '0' && line[k] <= '9') ++k;
  if (k == j) return false;
  digits = line.substr(j, k - j);
  return true;
}

std::string host_list(const std::vector<Node>& pool) {
  std::string s;
  for (auto& n : pool) s += (s.empty() ? "" : ", ") + n.host;
  return s;
}

std::string slot_list_text(const Node& n) {
  std::string s = n.slots.empty() ? "none" : join_slots(n.slots);
  if (n.hostfile_line) s += ", hostfile line " + std::to_string(n.hostfile_line);
  return s;
}

int parse_slot(const std::string& text, const std::string& flag, const std::string& spec) {
  check(!text.empty() && text.size() <= 6 && text.find_first_not_of("0123456789") == std::string::npos,
        flag + " '" + spec + "': slot '" + text + "' is not a slot number",
        "the syntax is NODE[:SLOT[,SLOT...]][@NODE...], e.g. worker-0@worker-1:0,2");
  return std::stoi(text);
}

}  // namespace

const HostEntry* Hostfile::find(const std::string& name) const {
  for (auto& h : hosts)
    if (h.name == name) return &h;
  return nullptr;
}

Hostfile parse_hostfile(const std::string& text, const std::string& path) {
  Hostfile hf;
  hf.path = path;
  std::istringstream in(text);
  std::string raw;
  int lineno = 0;
  const std::string fix = "each host line is `NAME slots=N` (e.g. `worker-1 slots=8`); lines starting with # are comments";
  while (std::getline(in, raw)) {
    ++lineno;
    std::string line = strip(raw);
    if (line.empty() || line[0] == '#') continue;
    std::string name, digits;
    std::string where = "hostfile " + path + " line " + std::to_string(lineno);
    check(match_entry(line, name, digits), where + ": bad entry '" + line + "'", fix);
    check(digits.size() <= 6 && std::stoi(digits) <= kMaxSlots,
          where + ": '" + line + "': slots=" + digits + " is more than " + std::to_string(kMaxSlots), fix);
    int slots = std::stoi(digits);
    check(slots > 0, where + ": '" + line + "': a host needs at least one slot",
          "comment the line out (#) to leave the host unused");
    if (const HostEntry* prev = hf.find(name))
      fail(where + ": host '" + name + "' is listed twice (also on line " + std::to_string(prev->line) + ")",
           "list each host once, with all its slots");
    hf.hosts.push_back({name, slots, lineno, line});
  }
  check(!hf.hosts.empty(), "hostfile " + path + " lists no hosts (it is empty or holds only comments)",
        "add lines like `worker-1 slots=8`, or leave out --hostfile to run on this machine only");
  return hf;
}

std::optional<Hostfile> read_hostfile(const std::string& path, bool explicit_path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (!explicit_path) return std::nullopt;
    fail("--hostfile " + path + " does not exist",
         "pass the path of a file with lines like `worker-1 slots=8`, or leave out --hostfile to run on this machine");
  }
  check(S_ISREG(st.st_mode), "--hostfile " + path + " is not a regular file");
  std::ifstream f(path, std::ios::binary);
  check(bool(f), "cannot read hostfile " + path, "check its permissions");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_hostfile(ss.str(), path);
}

std::vector<Node> filter_resources(const std::vector<Node>& pool, const std::string& spec, bool include,
                                   const std::string& flag) {
  const std::string syntax = "the syntax is NODE[:SLOT[,SLOT...]][@NODE...], e.g. worker-0@worker-1:0,2";
  std::vector<std::optional<std::set<int>>> chosen(pool.size());  // include: what to keep; exclude: what is left
  if (!include)
    for (size_t i = 0; i < pool.size(); ++i) chosen[i] = std::set<int>(pool[i].slots.begin(), pool[i].slots.end());
  check(!spec.empty(), flag + " is empty", syntax);
  size_t start = 0;
  while (start <= spec.size()) {
    size_t at = spec.find('@', start);
    std::string part = spec.substr(start, at == std::string::npos ? std::string::npos : at - start);
    start = at == std::string::npos ? spec.size() + 1 : at + 1;
    check(!part.empty(), flag + " '" + spec + "': empty node between '@' separators", syntax);
    std::string host = part;
    std::optional<std::vector<int>> slots;
    if (size_t colon = part.find(':'); colon != std::string::npos) {
      host = part.substr(0, colon);
      std::string list = part.substr(colon + 1);
      check(list.find(':') == std::string::npos, flag + " '" + spec + "': '" + part + "' has more than one ':'",
            syntax);
      check(!list.empty(), flag + " '" + spec + "': '" + part + "' has no slots after ':'", syntax);
      slots.emplace();
      size_t s = 0;
      while (s <= list.size()) {
        size_t comma = list.find(',', s);
        slots->push_back(parse_slot(list.substr(s, comma == std::string::npos ? std::string::npos : comma - s), flag,
                                    spec));
        s = comma == std::string::npos ? list.size() + 1 : comma + 1;
      }
    }
    size_t idx = pool.size();
    for (size_t i = 0; i < pool.size(); ++i)
      if (pool[i].host == host) idx = i;
    check(idx < pool.size(), flag + " '" + spec + "': host '" + host + "' is not among the available hosts",
          "available: " + host_list(pool));
    const Node& n = pool[idx];
    if (slots)
      for (int s : *slots)
        check(std::binary_search(n.slots.begin(), n.slots.end(), s),
              flag + " '" + spec + "': host '" + host + "' has no slot " + std::to_string(s),
              "its slots: " + slot_list_text(n));
    if (include) {
      if (!chosen[idx]) chosen[idx].emplace();
      if (slots) chosen[idx]->insert(slots->begin(), slots->end());
      else chosen[idx]->insert(n.slots.begin(), n.slots.end());
    } else if (slots) {
      for (int s : *slots) chosen[idx]->erase(s);
    } else {
      chosen[idx]->clear();
    }
  }
  std::vector<Node> out;
  for (size_t i = 0; i < pool.size(); ++i) {
    if (!chosen[i] || chosen[i]->empty()) continue;
    Node n = pool[i];
    n.slots.assign(chosen[i]->begin(), chosen[i]->end());
    out.push_back(std::move(n));
  }
  check(!out.empty(), flag + " '" + spec + "' leaves no slots to run on", "available: " + host_list(pool));
  return out;
}

int count_local_gpus() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/driver/nvidia/gpus")) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
    if (n > 0) return n;
  }
  // nvidia-smi may exist without the /proc entries (e.g. in some containers); absent, popen's shell prints nothing.
  if (FILE* p = ::popen("nvidia-smi -L 2>/dev/null", "r")) {
    char line[512];
    while (std::fgets(line, sizeof line, p))
      if (std::string(line).rfind("GPU ", 0) == 0) ++n;
    ::pclose(p);
  }
  return n;
}

LocalDevices probe_local_devices() {
  LocalDevices d;
  d.gpu_count = count_local_gpus();
  if (const char* v = std::getenv("CUDA_VISIBLE_DEVICES")) d.cuda_visible_devices = v;
  return d;
}

namespace {

std::vector<Node> local_pool(const ResourceFlags& f, const LocalDevices& local, Selection& sel) {
  check(f.num_nodes <= 1, "--num_nodes " + std::to_string(f.num_nodes) + " but there is no hostfile: only this machine",
        "pass --hostfile with one `NAME slots=N` line per node");
  Node n{"localhost", {}, 0};
  std::vector<int> gpus;
  for (int i = 0; i < local.gpu_count; ++i) gpus.push_back(i);
  bool filtered = !f.include.empty() || !f.exclude.empty();
  if (local.cuda_visible_devices && !gpus.empty()) {
    const std::string& cvd = *local.cuda_visible_devices;
    if (filtered) {
      sel.notes.push_back("CUDA_VISIBLE_DEVICES=" + cvd + " is not used: " +
                          (f.include.empty() ? "--exclude" : "--include") + " chooses the GPUs");
    } else {
      std::vector<int> visible;
      std::string s = strip(cvd);
      size_t p = 0;
      while (!s.empty() && p <= s.size()) {
        size_t c = s.find(',', p);
        std::string item = strip(s.substr(p, c == std::string::npos ? std::string::npos : c - p));
        p = c == std::string::npos ? s.size() + 1 : c + 1;
        if (item == "-1") break;  // CUDA stops at the first invalid index
        check(!item.empty() && item.size() <= 4 && item.find_first_not_of("0123456789") == std::string::npos,
              "CUDA_VISIBLE_DEVICES='" + cvd + "': '" + item + "' is not a GPU index",
              "the launcher needs GPU indices (e.g. 0,1); unset CUDA_VISIBLE_DEVICES and use --include localhost:0,1");
        int g = std::stoi(item);
        check(g < local.gpu_count, "CUDA_VISIBLE_DEVICES='" + cvd + "' names GPU " + item + " but this machine has " +
                                       std::to_string(local.gpu_count) + " GPU(s)",
              "unset CUDA_VISIBLE_DEVICES or list existing GPUs");
        if (std::find(visible.begin(), visible.end(), g) == visible.end()) visible.push_back(g);
      }
      std::sort(visible.begin(), visible.end());
      gpus = visible;
      sel.notes.push_back("CUDA_VISIBLE_DEVICES=" + cvd + ": running on GPU(s) " +
                          (gpus.empty() ? std::string("none (CPU ranks)") : join_slots(gpus)));
    }
  }
  if (gpus.empty()) {
    sel.cpu_ranks = true;
    int n_cpu = f.num_gpus > 0 ? f.num_gpus : 1;
    for (int i = 0; i < n_cpu; ++i) n.slots.push_back(i);
  } else {
    n.slots = gpus;
  }
  return {n};
}

}  // namespace

Selection select_resources(const std::optional<Hostfile>& hostfile, const ResourceFlags& f, const LocalDevices& local) {
  Selection sel;
  check(f.include.empty() || f.exclude.empty(), "--include and --exclude cannot be used together",
        "use one of them: --include lists what to use, --exclude what to leave out");
  bool filtered = !f.include.empty() || !f.exclude.empty();
  check(!(filtered && (f.num_nodes >= 0 || f.num_gpus >= 0)),
        std::string("--num_nodes/--num_gpus cannot be combined with ") + (f.include.empty() ? "--exclude" : "--include"),
        "either pick hosts and slots with --include/--exclude, or counts with --num_nodes/--num_gpus");
  check(f.num_nodes == -1 || f.num_nodes >= 1, "--num_nodes must be at least 1, got " + std::to_string(f.num_nodes));
  check(f.num_gpus == -1 || f.num_gpus >= 1, "--num_gpus must be at least 1, got " + std::to_string(f.num_gpus));
  std::vector<Node> pool;
  if (hostfile) {
    sel.from_hostfile = true;
    for (auto& h : hostfile->hosts) {
      Node n{h.name, {}, h.line};
      for (int s = 0; s < h.slots; ++s) n.slots.push_back(s);
      pool.push_back(std::move(n));
    }
  } else {
    pool = local_pool(f, local, sel);
  }
  if (!f.include.empty()) pool = filter_resources(pool, f.include, true, "--include");
  if (!f.exclude.empty()) pool = filter_resources(pool, f.exclude, false, "--exclude");
  if (f.num_nodes > 0) {
    check(size_t(f.num_nodes) <= pool.size(),
          "--num_nodes " + std::to_string(f.num_nodes) + " but " +
              (hostfile ? "hostfile " + hostfile->path : std::string("this machine")) + " has " +
              std::to_string(pool.size()) + " node(s)",
          "add hosts to the hostfile or ask for fewer nodes");
    pool.resize(size_t(f.num_nodes));
  }
  if (f.num_gpus > 0 && !(sel.cpu_ranks && !hostfile)) {
    for (auto& n : pool) {
      check(size_t(f.num_gpus) <= n.slots.size(),
            "--num_gpus " + std::to_string(f.num_gpus) + " but host '" + n.host + "' has " +
                std::to_string(n.slots.size()) + " slot(s) (" + slot_list_text(n) + ")",
            "ask for at most " + std::to_string(n.slots.size()) + " per node, or raise slots= in the hostfile");
      n.slots.resize(size_t(f.num_gpus));
    }
  }
  sel.nodes = std::move(pool);
  return sel;
}

WorldLayout make_layout(std::vector<Node> nodes) {
  WorldLayout w;
  w.nodes = std::move(nodes);
  for (auto& n : w.nodes) {
    w.first_rank.push_back(w.world_size);
    w.world_size += int(n.slots.size());
  }
  return w;
}

std::string join_slots(const std::vector<int>& slots) {
  std::string s;
  for (int x : slots) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

}  // namespace zt::launch
