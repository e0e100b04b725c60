// Error formatting.
#include "core/error.hpp"

#include <cstring>

namespace zt {

static std::string short_path(const char* file) {
  const char* s = std::strstr(file, "src/");
  if (!s) s = std::strstr(file, "tests/");
  return s ? s : file;
}

Error::Error(std::string what, std::string hint, std::source_location where)
    : std::runtime_error(std::move(what)), hint_(std::move(hint)) {
  where_ = short_path(where.file_name()) + ":" + std::to_string(where.line());
}

std::string Error::describe() const {
  std::string s = what();
  if (!hint_.empty()) s += "\n  hint: " + hint_;
  s += "\n  at " + where_;
  return s;
}

}  // namespace zt
