// Command-line flags for zerotune subcommands: `--name value`, `--name=value`, switches, and list flags
// (`--data_path a b c`, argparse nargs='*'). Every flag carries help text so `--help` lists them all.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace zt::cli {

enum class FlagKind { string, integer, number, boolean, list };

struct Flag {
  // The tables write flags as {name, kind, default, help[, required[, choices]]}.
  Flag(std::string name_ = {}, FlagKind kind_ = FlagKind::string, std::string default_value_ = {}, std::string help_ = {},
       bool required_ = false, std::vector<std::string> choices_ = {})
      : name(std::move(name_)),
        kind(kind_),
        default_value(std::move(default_value_)),
        help(std::move(help_)),
        required(required_),
        choices(std::move(choices_)) {}
  std::string name;  // without leading dashes
  FlagKind kind = FlagKind::string;
  std::string default_value;  // as text; empty = none
  std::string help;
  bool required = false;
  std::vector<std::string> choices;  // allowed values, if any
};

class Args {
 public:
  Args(std::string command, std::string summary, std::vector<Flag> flags);
  // Parses argv (without program and subcommand). Returns false if --help was asked (usage printed).
  bool parse(const std::vector<std::string>& argv);
  std::string usage() const;

  bool given(const std::string& name) const;
  std::string str(const std::string& name) const;
  std::optional<std::string> opt_str(const std::string& name) const;
  int64_t integer(const std::string& name) const;
  double number(const std::string& name) const;
  bool flag(const std::string& name) const;
  std::vector<std::string> list(const std::string& name) const;

 private:
  const Flag& spec(const std::string& name) const;
  std::string command_, summary_;
  std::vector<Flag> flags_;
  std::map<std::string, std::vector<std::string>> values_;
};

}  // namespace zt::cli
