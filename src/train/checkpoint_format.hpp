// Internal to the checkpoint files (checkpoint_*.cpp): file names, the manifest and loop position as JSON, directory
// listing and fsync, and the small all-gather the ranks use to agree.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/json.hpp"
#include "dist/comm.hpp"
#include "train/checkpoint.hpp"

namespace zt::train::ckpt {

inline constexpr const char* kManifest = "manifest.json";
inline constexpr const char* kState = "trainer_state.json";
inline constexpr const char* kConfig = "train_config.json";
inline constexpr const char* kLatest = "latest";
inline constexpr const char* kFormat = "zerotune-checkpoint";
inline constexpr int kVersion = 1;

std::string shard_name(int rank);  // "shard_rank00003.safetensors"
// Tensor names and metadata keys inside a shard for unit u.
std::string unit_key(int unit, const char* what);  // "unit.3.master", "unit.3.exp_avg", "unit.3.begin", ...

Json manifest_json(const CheckpointManifest& m);
CheckpointManifest manifest_from_json(const Json& j, const std::string& dir);

Json position_json(const LoopPosition& p);
LoopPosition position_from_json(const Json& j, const std::string& where);

// "step_12" -> 12; anything else -> nullopt.
std::optional<int64_t> parse_step_name(const std::string& name);
// The step_N directories under root (complete or not), ascending by N.
std::vector<std::pair<int64_t, std::string>> list_step_dirs(const std::string& root);

// Makes a rename or unlink inside `dir` durable.
void fsync_dir(const std::string& dir);
// CRC-32C of a whole file (mapped).
uint32_t file_crc32c(const std::string& path);

// Every rank's `mine` (the same length on every rank), in rank order: the ranks' agreement on a save or a resume.
std::vector<int64_t> all_gather_i64(dist::Comm& comm, Device dev, const std::vector<int64_t>& mine);

const char* dtype_flag(DType t);  // "fp32", "bf16", "fp16"

}  // namespace zt::train::ckpt
