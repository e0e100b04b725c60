// JSON via nlohmann::json (Debian's nlohmann-json3-dev), plus helpers that read typed fields with errors
// naming the file and key path.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace zt {

using Json = nlohmann::json;

// Parses text; on error names `source` (a file path) and the byte offset.
Json parse_json(const std::string& text, const std::string& source);
Json load_json_file(const std::string& path);

// Typed access: `where` is a human label like "config.json" used in errors ("config.json: key
// 'hidden_size' must be an integer, got string").
int64_t json_int(const Json& j, const std::string& key, const std::string& where);
std::optional<int64_t> json_opt_int(const Json& j, const std::string& key, const std::string& where);
double json_number(const Json& j, const std::string& key, const std::string& where);
std::optional<double> json_opt_number(const Json& j, const std::string& key, const std::string& where);
bool json_opt_bool(const Json& j, const std::string& key, bool dflt, const std::string& where);
std::string json_string(const Json& j, const std::string& key, const std::string& where);
std::optional<std::string> json_opt_string(const Json& j, const std::string& key, const std::string& where);

}  // namespace zt
