// JSON parsing and typed field access with path-naming errors.
#include "core/json.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/mmap.hpp"

namespace zt {

Json parse_json(const std::string& text, const std::string& source) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    fail(source + ": invalid JSON at byte " + std::to_string(e.byte) + ": " + e.what(), "fix the file's syntax");
  } catch (const Json::exception& e) {  // e.g. out_of_range: a number too large for a double
    fail(source + ": invalid JSON: " + e.what(), "fix the file's content");
  }
}

Json load_json_file(const std::string& path) { return parse_json(read_file(path), path); }

static const Json* find(const Json& j, const std::string& key, const std::string& where) {
  check(j.is_object(), where + ": expected a JSON object");
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<int64_t> json_opt_int(const Json& j, const std::string& key, const std::string& where) {
  const Json* v = find(j, key, where);
  if (!v) return std::nullopt;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9e15) return int64_t(d);
  }
  fail(where + ": key '" + key + "' must be an integer, got " + v->dump());
}

int64_t json_int(const Json& j, const std::string& key, const std::string& where) {
  auto v = json_opt_int(j, key, where);
  check(v.has_value(), where + ": required key '" + key + "' is missing");
  return *v;
}

std::optional<double> json_opt_number(const Json& j, const std::string& key, const std::string& where) {
  const Json* v = find(j, key, where);
  if (!v) return std::nullopt;
  check(v->is_number(), where + ": key '" + key + "' must be a number, got " + v->dump());
  return v->get<double>();
}

double json_number(const Json& j, const std::string& key, const std::string& where) {
  auto v = json_opt_number(j, key, where);
  check(v.has_value(), where + ": required key '" + key + "' is missing");
  return *v;
}

bool json_opt_bool(const Json& j, const std::string& key, bool dflt, const std::string& where) {
  const Json* v = find(j, key, where);
  if (!v) return dflt;
  check(v->is_boolean(), where + ": key '" + key + "' must be true or false, got " + v->dump());
  return v->get<bool>();
}

std::optional<std::string> json_opt_string(const Json& j, const std::string& key, const std::string& where) {
  const Json* v = find(j, key, where);
  if (!v) return std::nullopt;
  check(v->is_string(), where + ": key '" + key + "' must be a string, got " + v->dump());
  return v->get<std::string>();
}

std::string json_string(const Json& j, const std::string& key, const std::string& where) {
  auto v = json_opt_string(j, key, where);
  check(v.has_value(), where + ": required key '" + key + "' is missing");
  return *v;
}

}  // namespace zt
