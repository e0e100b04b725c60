// Errors that carry what went wrong, where (source location) and how to fix it.
// Library code throws zerotune::Error; only the CLI turns it into an exit status.
#pragma once
#include <source_location>
#include <stdexcept>
#include <string>

namespace zt {

class Error : public std::runtime_error {
 public:
  Error(std::string what, std::string hint = {},
        std::source_location where = std::source_location::current());
  const std::string& hint() const { return hint_; }
  const std::string& where() const { return where_; }
  // "what\n  hint: ...\n  at file:line" for printing to users.
  std::string describe() const;

 private:
  std::string hint_;
  std::string where_;
};

// Throws Error(what, hint) when cond is false. `what` is only built on failure when passed a lambda;
// for plain strings the cost is the string construction, so keep hot-path checks to cheap messages.
inline void check(bool cond, const std::string& what, const std::string& hint = {},
                  std::source_location where = std::source_location::current()) {
  if (!cond) [[unlikely]] throw Error(what, hint, where);
}

[[noreturn]] inline void fail(const std::string& what, const std::string& hint = {},
                              std::source_location where = std::source_location::current()) {
  throw Error(what, hint, where);
}

}  // namespace zt
