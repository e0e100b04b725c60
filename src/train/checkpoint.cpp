// The checkpoint format: names, the manifest and loop position as JSON (read back with errors naming the file and key),
// directory listing, fsync of directories, whole-file checksums and the ranks' small all-gather.
#include "train/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/crc32c.hpp"
#include "core/error.hpp"
#include "core/mmap.hpp"
#include "ops/elementwise.hpp"
#include "train/checkpoint_format.hpp"

namespace zt::train {

namespace fs = std::filesystem;

std::string checkpoint_name(int64_t step) { return "step_" + std::to_string(step); }

namespace ckpt {

std::string shard_name(int rank) {
  char b[64];
  std::snprintf(b, sizeof b, "shard_rank%05d.safetensors", rank);
  return b;
}

std::string unit_key(int unit, const char* what) { return "unit." + std::to_string(unit) + "." + what; }

const char* dtype_flag(DType t) {
  switch (t) {
    case DType::f32: return "fp32";
    case DType::bf16: return "bf16";
    case DType::f16: return "fp16";
    default: return dtype_name(t);
  }
}

Json manifest_json(const CheckpointManifest& m) {
  Json units = Json::array();
  for (const auto& u : m.units) {
    Json ps = Json::array();
    for (const auto& p : u.params) ps.push_back({{"name", p.name}, {"shape", p.shape}, {"offset", p.offset}});
    units.push_back({{"name", u.name}, {"trainable_numel", u.trainable_numel}, {"params", ps}});
  }
  Json files = Json::array();
  for (const auto& f : m.files)
    files.push_back({{"name", f.name}, {"kind", f.kind}, {"rank", f.rank}, {"bytes", f.bytes}, {"crc32c", f.crc32c}});
  Json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["step"] = m.step;
  j["world_size"] = m.world_size;
  j["zero_stage"] = m.zero_stage;
  j["state_dtype"] = "fp32";
  j["compute_dtype"] = m.compute_dtype;
  j["model_name_or_path"] = m.model_name_or_path;
  j["lora"] = {{"dim", m.lora.dim}, {"module_name", m.lora.module_name}, {"only_optimize_lora", m.lora.only_optimize_lora}};
  j["units"] = std::move(units);
  j["files"] = std::move(files);
  return j;
}

CheckpointManifest manifest_from_json(const Json& j, const std::string& dir) {
  const std::string where = (fs::path(dir) / kManifest).string();
  const std::string hint = "the manifest is written by zerotune when a checkpoint completes; pick another checkpoint";
  check(j.is_object(), where + ": expected a JSON object", hint);
  check(json_opt_string(j, "format", where).value_or("") == kFormat, where + ": not a zerotune checkpoint manifest (no \"format\": \"" +
                                                                         std::string(kFormat) + "\")", hint);
  const int64_t version = json_int(j, "version", where);
  check(version == kVersion, where + ": checkpoint format version " + std::to_string(version) + ", this zerotune reads version " +
                                 std::to_string(kVersion), "use the zerotune version that wrote it");
  CheckpointManifest m;
  m.dir = dir;
  m.step = json_int(j, "step", where);
  m.world_size = int(json_int(j, "world_size", where));
  m.zero_stage = int(json_int(j, "zero_stage", where));
  check(m.world_size >= 1 && m.zero_stage >= 0 && m.zero_stage <= 3 && m.step >= 0, where + ": bad world_size, zero_stage or step", hint);
  m.compute_dtype = json_string(j, "compute_dtype", where);
  m.model_name_or_path = json_opt_string(j, "model_name_or_path", where).value_or("");
  check(j.contains("lora") && j["lora"].is_object(), where + ": 'lora' must be an object", hint);
  m.lora.dim = int(json_int(j["lora"], "dim", where + " lora"));
  m.lora.module_name = json_string(j["lora"], "module_name", where + " lora");
  m.lora.only_optimize_lora = json_opt_bool(j["lora"], "only_optimize_lora", false, where + " lora");
  check(j.contains("units") && j["units"].is_array() && j.contains("files") && j["files"].is_array(),
        where + ": 'units' and 'files' must be arrays", hint);
  try {
    for (const auto& ju : j["units"]) {
      CheckpointManifest::Unit u;
      u.name = ju.at("name").get<std::string>();
      u.trainable_numel = ju.at("trainable_numel").get<int64_t>();
      for (const auto& jp : ju.at("params")) u.params.push_back({jp.at("name").get<std::string>(), jp.at("shape").get<Shape>(), jp.at("offset").get<int64_t>()});
      m.units.push_back(std::move(u));
    }
    for (const auto& jf : j["files"]) {
      CheckpointFile f{jf.at("name").get<std::string>(), jf.at("kind").get<std::string>(), jf.at("rank").get<int>(),
                       jf.at("bytes").get<int64_t>(), jf.at("crc32c").get<uint32_t>()};
      check(!f.name.empty() && f.name.find('/') == std::string::npos && f.name[0] != '.',
            where + ": file name '" + f.name + "' is not a plain file name", hint);
      m.files.push_back(std::move(f));
    }
  } catch (const nlohmann::json::exception& e) {
    fail(where + ": malformed 'units' or 'files' entry (" + e.what() + ")", hint);
  }
  return m;
}

Json position_json(const LoopPosition& p) {
  Json j = {{"epoch", p.epoch},
            {"step_in_epoch", p.step_in_epoch},
            {"micro_steps", p.micro_steps},
            {"applied_steps", p.applied_steps},
            {"skipped_steps", p.skipped_steps},
            {"scheduler_step", p.scheduler_step},
            {"optimizer_step", p.optimizer_step}};
  if (p.loss_scaler) {
    const auto& s = *p.loss_scaler;
    j["loss_scaler"] = {{"cur_scale", s.cur_scale},
                        {"cur_iter", s.cur_iter},
                        {"last_overflow_iter", s.last_overflow_iter},
                        {"cur_hysteresis", s.cur_hysteresis},
                        {"skipped_steps", s.skipped_steps}};
  } else {
    j["loss_scaler"] = nullptr;
  }
  return j;
}

LoopPosition position_from_json(const Json& j, const std::string& where) {
  check(j.is_object(), where + ": 'position' must be an object");
  LoopPosition p;
  p.epoch = json_int(j, "epoch", where);
  p.step_in_epoch = json_int(j, "step_in_epoch", where);
  p.micro_steps = json_int(j, "micro_steps", where);
  p.applied_steps = json_int(j, "applied_steps", where);
  p.skipped_steps = json_int(j, "skipped_steps", where);
  p.scheduler_step = json_int(j, "scheduler_step", where);
  p.optimizer_step = json_int(j, "optimizer_step", where);
  if (j.contains("loss_scaler") && !j["loss_scaler"].is_null()) {
    const Json& s = j["loss_scaler"];
    const std::string w = where + " loss_scaler";
    p.loss_scaler = LossScaler::State{json_number(s, "cur_scale", w), json_int(s, "cur_iter", w), json_int(s, "last_overflow_iter", w),
                                      json_int(s, "cur_hysteresis", w), json_int(s, "skipped_steps", w)};
  }
  return p;
}

std::optional<int64_t> parse_step_name(const std::string& name) {
  if (!name.starts_with("step_") || name.size() == 5 || name.size() > 5 + 18) return std::nullopt;
  int64_t v = 0;
  for (size_t i = 5; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    v = v * 10 + (name[i] - '0');
  }
  return v;
}

std::vector<std::pair<int64_t, std::string>> list_step_dirs(const std::string& root) {
  std::vector<std::pair<int64_t, std::string>> r;
  std::error_code ec;
  for (const auto& de : fs::directory_iterator(root, ec)) {
    auto n = parse_step_name(de.path().filename().string());
    if (n && de.is_directory(ec)) r.emplace_back(*n, de.path().string());
  }
  std::sort(r.begin(), r.end());
  return r;
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  check(fd >= 0, "cannot open directory " + dir + " to flush it", "check that it exists and is readable");
  const int rc = ::fsync(fd);
  ::close(fd);
  check(rc == 0, "cannot flush directory " + dir, "check the file system");
}

uint32_t file_crc32c(const std::string& path) {
  auto f = MappedFile::open(path);
  return crc32c(f->data(), f->size());
}

std::vector<int64_t> all_gather_i64(dist::Comm& comm, Device dev, const std::vector<int64_t>& mine) {
  const int64_t n = int64_t(mine.size()), w = comm.size();
  Tensor in = Tensor::empty({n}, DType::i64);
  std::copy(mine.begin(), mine.end(), in.data<int64_t>());
  if (w == 1) return mine;
  Tensor out = Tensor::empty({n * w}, DType::i64);
  if (dev.is_cuda()) {
    Tensor din = Tensor::empty({n}, DType::i64, dev), dout = Tensor::empty({n * w}, DType::i64, dev);
    ops::copy(din, in);
    comm.wait_for_compute();
    comm.all_gather(dout, din);
    comm.compute_waits();
    ops::copy(out, dout);
  } else {
    comm.all_gather(out, in);
  }
  return std::vector<int64_t>(out.data<int64_t>(), out.data<int64_t>() + n * w);
}

}  // namespace ckpt

CheckpointManifest read_checkpoint_manifest(const std::string& dir) {
  const fs::path p = fs::path(dir) / ckpt::kManifest;
  std::error_code ec;
  check(fs::is_directory(dir, ec), "checkpoint " + dir + " is not a directory", "pass a step_N directory under <output_dir>/checkpoints");
  check(fs::exists(p, ec), "checkpoint " + dir + " is incomplete: " + p.string() + " is missing (the save did not finish)",
        "resume from an earlier checkpoint, or use --resume auto to pick the newest complete one");
  return ckpt::manifest_from_json(load_json_file(p.string()), dir);
}

void verify_checkpoint(const CheckpointManifest& m) {
  bool state = false, config = false;
  for (const CheckpointFile& f : m.files) {
    const std::string path = (fs::path(m.dir) / f.name).string();
    const std::string hint = "the checkpoint is damaged; resume from an earlier one (--resume auto skips it)";
    std::error_code ec;
    check(fs::exists(path, ec), "checkpoint " + m.dir + " is missing " + f.name + " (rank " + std::to_string(f.rank) + "'s " + f.kind + ")", hint);
    const auto size = int64_t(fs::file_size(path, ec));
    check(!ec && size == f.bytes, "checkpoint file " + path + " is " + std::to_string(size) + " bytes, the manifest says " +
                                      std::to_string(f.bytes) + " (truncated or partly written)", hint);
    const uint32_t crc = ckpt::file_crc32c(path);
    char b[96];
    std::snprintf(b, sizeof b, " (crc32c %08x, the manifest says %08x)", crc, f.crc32c);
    check(crc == f.crc32c, "checkpoint file " + path + " is corrupt" + b, hint);
    state |= f.kind == "state";
    config |= f.kind == "config";
  }
  check(state && config, "checkpoint " + m.dir + ": the manifest lists no " + std::string(state ? ckpt::kConfig : ckpt::kState),
        "pick another checkpoint");
}

std::string checkpoint_dir_of(const std::string& path) {
  std::error_code ec;
  const fs::path p(path);
  if (fs::exists(p / ckpt::kManifest, ec)) return path;
  for (const fs::path& root : {p, p / "checkpoints"}) {
    if (!fs::exists(root / ckpt::kLatest, ec)) continue;
    std::string tag = read_file((root / ckpt::kLatest).string());
    while (!tag.empty() && (tag.back() == '\n' || tag.back() == ' ')) tag.pop_back();
    check(ckpt::parse_step_name(tag).has_value(), (root / ckpt::kLatest).string() + " holds '" + tag + "', not a step_N name",
          "point --checkpoint at a step_N directory instead");
    return (root / tag).string();
  }
  return path;  // read_checkpoint_manifest names what is missing
}

}  // namespace zt::train
