// The environment a launch hands to its ranks: which launcher variables travel to other nodes (DeepSpeed's
// prefixes), `.deepspeed_env` files, the job secret, CPU core lists, and shell quoting for runner command lines.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace zt::launch {

// An ordered KEY -> VALUE environment.
using EnvMap = std::map<std::string, std::string>;

// The calling process's environment.
EnvMap current_environment();
// "KEY=VALUE" strings for execve.
std::vector<std::string> env_strings(const EnvMap& env);

// Variables whose name starts with one of these prefixes travel from the launcher to every rank on every node:
// DeepSpeed's NCCL, PYTHON, UCX and MV2, plus ZEROTUNE_ (ours) and GLOO_ (Gloo's socket choice, as NCCL's).
extern const char* const kExportedPrefixes[6];
EnvMap exported_variables(const EnvMap& env);

// One `KEY=VALUE` per line; blank lines and lines starting with # are skipped; the value is everything after the
// first '=' (a trailing CR is dropped; one pair of matching surrounding quotes is removed, as the shell DeepSpeed
// hands the line to would). Errors name `path` and the line.
EnvMap parse_env_file(const std::string& text, const std::string& path);

// DeepSpeed's `.deepspeed_env`: the file name is $DS_ENV_FILE or `.deepspeed_env`, read from `home` and then from
// `cwd` (later files override earlier ones). Returns the variables and the files that were read.
EnvMap read_deepspeed_env(const EnvMap& launcher_env, const std::string& home, const std::string& cwd,
                          std::vector<std::string>& files_read);

// A fresh job secret: 32 bytes from getrandom(2), as 64 lowercase hex digits.
std::string generate_job_secret();
// Decodes hex digits into bytes; `what` names the source for the error.
std::string hex_decode(const std::string& hex, const std::string& what);

// "0-3,8,10-11" -> {0,1,2,3,8,10,11} (DeepSpeed's --bind_core_list syntax); `flag` names the flag in errors.
std::vector<int> parse_core_list(const std::string& text, const std::string& flag);
// The CPUs this process may run on (sched_getaffinity).
std::vector<int> allowed_cpus();
// DeepSpeed's --bind_cores_to_rank split: `cores` divided evenly among `local_size` ranks, the remainder unused.
std::vector<int> cores_for_rank(const std::vector<int>& cores, int local_size, int local_rank);

// POSIX-shell single-quoting of one word.
std::string shell_quote(const std::string& word);
// Splits --launcher_args the way a POSIX shell splits words (single and double quotes, backslash escapes).
std::vector<std::string> shell_split(const std::string& text, const std::string& flag);

}  // namespace zt::launch
