// stderr logger.
#include "core/log.hpp"

#include <cstdio>
#include <mutex>
#include <set>

namespace zt::log {

namespace {
std::mutex mu;
Level min_level = Level::info;
std::string prefix;
std::set<std::string> warned;
}  // namespace

void set_level(Level l) { std::lock_guard g(mu); min_level = l; }
void set_prefix(std::string p) { std::lock_guard g(mu); prefix = std::move(p); }

void write(Level l, const std::string& msg) {
  std::lock_guard g(mu);
  if (l < min_level) return;
  const char* tag = l == Level::warn ? "warning: " : l == Level::error ? "error: " : l == Level::debug ? "debug: " : "";
  std::fprintf(stderr, "%s%s%s\n", prefix.c_str(), tag, msg.c_str());
  std::fflush(stderr);
}

void warn_once(const std::string& key, const std::string& msg) {
  {
    std::lock_guard g(mu);
    if (!warned.insert(key).second) return;
  }
  write(Level::warn, msg);
}

}  // namespace zt::log
