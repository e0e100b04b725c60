// Flag parsing with errors that name the flag and suggest the nearest known one.
#include "cli/args.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "core/error.hpp"
#include "core/strings.hpp"

namespace zt::cli {


Args::Args(std::string command, std::string summary, std::vector<Flag> flags)
    : command_(std::move(command)), summary_(std::move(summary)), flags_(std::move(flags)) {}

const Flag& Args::spec(const std::string& name) const {
  for (auto& f : flags_)
    if (f.name == name) return f;
  fail("internal: flag --" + name + " is not declared for '" + command_ + "'");
}

bool Args::parse(const std::vector<std::string>& argv) {
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(usage().c_str(), stdout);
      return false;
    }
    check(a.rfind("--", 0) == 0, "zerotune " + command_ + ": unexpected argument '" + a + "'",
          "flags start with --; see 'zerotune " + command_ + " --help'");
    std::string name = a.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const Flag* f = nullptr;
    for (auto& x : flags_)
      if (x.name == name) f = &x;
    if (!f) {
      std::string best;
      size_t bd = 4;
      for (auto& x : flags_)
        if (size_t d = edit_distance(name, x.name); d < bd) bd = d, best = x.name;
      fail("zerotune " + command_ + ": unknown flag --" + name,
           best.empty() ? "see 'zerotune " + command_ + " --help'" : "did you mean --" + best + "?");
    }
    auto& vals = values_[name];
    vals.clear();
    if (f->kind == FlagKind::boolean) {
      check(!has_value || value == "true" || value == "false" || value == "1" || value == "0",
            "zerotune " + command_ + ": --" + name + " is a switch; got '" + value + "'");
      vals.push_back(has_value ? ((value == "true" || value == "1") ? "1" : "0") : "1");
      continue;
    }
    if (f->kind == FlagKind::list) {
      if (has_value) vals.push_back(value);
      while (i + 1 < argv.size() && argv[i + 1].rfind("--", 0) != 0) vals.push_back(argv[++i]);
      continue;
    }
    if (!has_value) {
      check(i + 1 < argv.size(), "zerotune " + command_ + ": --" + name + " needs a value");
      value = argv[++i];
    }
    if (!f->choices.empty())
      check(std::find(f->choices.begin(), f->choices.end(), value) != f->choices.end(),
            "zerotune " + command_ + ": --" + name + " '" + value + "' is not one of the allowed values", "see --help");
    vals.push_back(value);
    // validate numbers now so the error names the flag
    if (f->kind == FlagKind::integer) (void)integer(name);
    if (f->kind == FlagKind::number) (void)number(name);
  }
  for (auto& f : flags_)
    check(!f.required || given(f.name), "zerotune " + command_ + ": --" + f.name + " is required", f.help);
  return true;
}

std::string Args::usage() const {
  std::ostringstream s;
  s << "usage: zerotune " << command_ << " [flags]\n\n" << summary_ << "\n\nflags:\n";
  for (auto& f : flags_) {
    std::string left = "  --" + f.name;
    switch (f.kind) {
      case FlagKind::string: left += " STR"; break;
      case FlagKind::integer: left += " INT"; break;
      case FlagKind::number: left += " NUM"; break;
      case FlagKind::list: left += " ITEM..."; break;
      case FlagKind::boolean: break;
    }
    s << left;
    if (left.size() < 34) s << std::string(34 - left.size(), ' ');
    else s << "\n" << std::string(34, ' ');
    s << f.help;
    if (!f.choices.empty()) {
      s << " {";
      for (size_t i = 0; i < f.choices.size(); ++i) s << (i ? "," : "") << f.choices[i];
      s << "}";
    }
    if (f.required) s << " (required)";
    else if (!f.default_value.empty()) s << " (default: " << f.default_value << ")";
    s << "\n";
  }
  s << "  --help                          show this help\n";
  return s.str();
}

bool Args::given(const std::string& name) const {
  (void)spec(name);
  return values_.count(name) > 0;
}

std::optional<std::string> Args::opt_str(const std::string& name) const {
  const Flag& f = spec(name);
  auto it = values_.find(name);
  if (it != values_.end() && !it->second.empty()) return it->second.back();
  if (!f.default_value.empty()) return f.default_value;
  return std::nullopt;
}

std::string Args::str(const std::string& name) const {
  auto v = opt_str(name);
  check(v.has_value(), "zerotune " + command_ + ": --" + name + " has no value", spec(name).help);
  return *v;
}

int64_t Args::integer(const std::string& name) const {
  std::string v = str(name);
  try {
    size_t pos = 0;
    long long x = std::stoll(v, &pos);
    if (pos == v.size()) return x;
  } catch (...) {
  }
  fail("zerotune " + command_ + ": --" + name + " must be an integer, got '" + v + "'");
}

double Args::number(const std::string& name) const {
  std::string v = str(name);
  try {
    size_t pos = 0;
    double x = std::stod(v, &pos);
    if (pos == v.size()) return x;
  } catch (...) {
  }
  fail("zerotune " + command_ + ": --" + name + " must be a number, got '" + v + "'");
}

bool Args::flag(const std::string& name) const {
  auto v = opt_str(name);
  return v && *v == "1";
}

std::vector<std::string> Args::list(const std::string& name) const {
  const Flag& f = spec(name);
  auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  std::vector<std::string> out;
  std::istringstream ss(f.default_value);
  for (std::string w; ss >> w;) out.push_back(w);
  return out;
}

}  // namespace zt::cli
