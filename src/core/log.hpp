// Logging to stderr with a level and an optional rank prefix. Thread-safe line at a time.
#pragma once
#include <string>

namespace zt::log {

enum class Level { debug, info, warn, error };
void set_level(Level l);
void set_prefix(std::string prefix);  // e.g. "[rank 3] "
void write(Level l, const std::string& msg);
inline void debug(const std::string& m) { write(Level::debug, m); }
inline void info(const std::string& m) { write(Level::info, m); }
inline void warn(const std::string& m) { write(Level::warn, m); }
inline void error(const std::string& m) { write(Level::error, m); }
// Prints a warning once per distinct key for the life of the process.
void warn_once(const std::string& key, const std::string& msg);

}  // namespace zt::log
