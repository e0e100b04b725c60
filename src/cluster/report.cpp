// Doctor output: a report to and from JSON (what a multi-host driver collects from `zerotune doctor --json` on each
// host) and one wrapped text table over any number of hosts, with the exit status that says whether training can run.
#include <algorithm>
#include <cstdio>
#include <sstream>

#include "cluster/doctor.hpp"
#include "core/error.hpp"

namespace zt::cluster {

namespace {

// Splits text into lines of at most `width` characters at spaces (words longer than that are cut).
std::vector<std::string> wrap(const std::string& text, size_t width) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string word, line;
  while (in >> word) {
    while (word.size() > width) {
      if (!line.empty()) lines.push_back(line), line.clear();
      lines.push_back(word.substr(0, width));
      word = word.substr(width);
    }
    if (line.empty()) line = word;
    else if (line.size() + 1 + word.size() <= width) line += " " + word;
    else lines.push_back(line), line = word;
  }
  if (!line.empty()) lines.push_back(line);
  if (lines.empty()) lines.push_back("");
  return lines;
}

std::string pad(const std::string& s, size_t w) { return s.size() >= w ? s : s + std::string(w - s.size(), ' '); }

}  // namespace

const char* status_name(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::info: return "info";
    case Status::warn: return "warn";
    case Status::fail: return "fail";
  }
  return "?";
}

Status parse_status(const std::string& name, const std::string& where) {
  for (Status s : {Status::ok, Status::info, Status::warn, Status::fail})
    if (name == status_name(s)) return s;
  fail(where + ": unknown check status '" + name + "'", "expected ok, info, warn or fail");
}

bool DoctorReport::blocking() const {
  return std::any_of(checks.begin(), checks.end(), [](const Check& c) { return c.status == Status::fail; });
}

std::string format_bytes(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (b < 1024) return std::to_string(b) + " B";
  double v = double(b);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

Json report_json(const DoctorReport& r) {
  Json checks = Json::array();
  for (auto& c : r.checks)
    checks.push_back({{"check", c.name}, {"status", status_name(c.status)}, {"detail", c.detail}, {"fix", c.fix}});
  return {{"host", r.host}, {"blocking", r.blocking()}, {"checks", checks},
          {"facts", r.facts.is_null() ? Json::object() : r.facts}};
}

DoctorReport report_from_json(const Json& j, const std::string& source) {
  check(j.is_object(), source + ": a doctor report must be a JSON object", "produce it with zerotune doctor --json");
  DoctorReport r;
  r.host = json_string(j, "host", source);
  check(j.contains("checks") && j["checks"].is_array(), source + ": 'checks' must be an array");
  for (size_t i = 0; i < j["checks"].size(); ++i) {
    const Json& c = j["checks"][i];
    std::string where = source + ": checks[" + std::to_string(i) + "]";
    check(c.is_object(), where + " must be an object");
    r.checks.push_back({json_string(c, "check", where), parse_status(json_string(c, "status", where), where),
                        json_opt_string(c, "detail", where).value_or(""), json_opt_string(c, "fix", where).value_or("")});
  }
  r.facts = j.contains("facts") ? j["facts"] : Json::object();
  return r;
}

std::string format_table(const std::vector<DoctorReport>& reports, int width) {
  bool hosts = reports.size() > 1;
  size_t hw = 4, cw = 5;
  for (auto& r : reports) {
    hw = std::max(hw, r.host.size());
    for (auto& c : r.checks) cw = std::max(cw, c.name.size());
  }
  size_t fixed = (hosts ? hw + 2 : 0) + cw + 2 + 8;
  size_t rest = size_t(std::max(40, width - int(fixed)));
  size_t dw = rest * 11 / 20, fw = rest - dw - 2;
  std::ostringstream out;
  if (!hosts && !reports.empty()) out << "host: " << reports[0].host << "\n";
  out << (hosts ? pad("HOST", hw + 2) : "") << pad("CHECK", cw + 2) << pad("STATUS", 8) << pad("DETAIL", dw + 2) << "FIX\n";
  int fails = 0, warns = 0;
  for (auto& r : reports)
    for (auto& c : r.checks) {
      fails += c.status == Status::fail;
      warns += c.status == Status::warn;
      auto d = wrap(c.detail, dw), f = wrap(c.fix, fw);
      for (size_t i = 0; i < std::max(d.size(), f.size()); ++i) {
        std::string line = (hosts ? pad(i ? "" : r.host, hw + 2) : "") + pad(i ? "" : c.name, cw + 2) +
                           pad(i ? "" : status_name(c.status), 8) + pad(i < d.size() ? d[i] : "", dw + 2) +
                           (i < f.size() ? f[i] : "");
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out << line << "\n";
      }
    }
  if (fails) out << "\n" << fails << (fails == 1 ? " problem blocks" : " problems block") << " training (fail)";
  else out << "\nnothing blocks training";
  if (warns) out << "; " << warns << " warning" << (warns == 1 ? "" : "s");
  out << "\n";
  return out.str();
}

int doctor_exit_status(const std::vector<DoctorReport>& reports) {
  for (auto& r : reports)
    if (r.blocking()) return 1;
  return 0;
}

}  // namespace zt::cluster
