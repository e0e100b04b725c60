// Reading checkpoints: which one --resume means (falling back past corrupt or partial ones), restoring it onto this run's
// world size and ZeRO stage (each rank reads the saved slices that overlap the elements it owns now), and putting the
// shards of any world size together for export.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/mmap.hpp"
#include "io/safetensors.hpp"
#include "ops/elementwise.hpp"
#include "train/checkpoint.hpp"
#include "train/checkpoint_format.hpp"

namespace zt::train {

namespace fs = std::filesystem;

namespace {

// The shard files of a checkpoint, mapped, and which logical slice of which unit each holds.
class ShardSet {
 public:
  explicit ShardSet(const CheckpointManifest& m) : dir_(m.dir) {
    for (const CheckpointFile& f : m.files) {
      if (f.kind != "shard") continue;
      const std::string path = (fs::path(m.dir) / f.name).string();
      files_.push_back(std::make_unique<SafetensorsFile>(SafetensorsFile::open(path)));
      const SafetensorsFile& sf = *files_.back();
      for (const auto& [key, value] : sf.metadata()) {
        if (!key.starts_with("unit.") || !key.ends_with(".begin")) continue;
        const std::string us = key.substr(5, key.size() - 11);
        Slice s;
        s.file = files_.size() - 1;
        try {
          s.unit = std::stoi(us);
          s.begin = std::stoll(value);
        } catch (...) {
          fail(path + ": bad metadata " + key + " = '" + value + "'", "the shard is damaged; pick another checkpoint");
        }
        check(s.unit >= 0 && size_t(s.unit) < m.units.size() && s.begin >= 0, path + ": metadata " + key + " names no unit of the manifest");
        for (const char* what : {"master", "exp_avg", "exp_avg_sq"}) {
          const std::string name = ckpt::unit_key(s.unit, what);
          check(sf.contains(name) && sf.info(name).dtype == DType::f32 && sf.info(name).shape.size() == 1,
                path + ": tensor " + name + " is missing or not a 1-D F32 tensor", "the shard is damaged; pick another checkpoint");
        }
        s.numel = sf.info(ckpt::unit_key(s.unit, "master")).shape[0];
        check(sf.info(ckpt::unit_key(s.unit, "exp_avg")).shape[0] == s.numel && sf.info(ckpt::unit_key(s.unit, "exp_avg_sq")).shape[0] == s.numel &&
                  s.begin + s.numel <= m.units[size_t(s.unit)].trainable_numel,
              path + ": unit " + std::to_string(s.unit) + "'s slice does not fit the manifest");
        slices_.push_back(s);
      }
    }
  }

  // dst[0, n) <- `what` ("master", "exp_avg", "exp_avg_sq") of unit u's logical elements [begin, begin + n).
  void read(int u, int64_t begin, int64_t n, const char* what, float* dst) const {
    int64_t covered = 0;
    for (const Slice& s : slices_) {
      if (s.unit != u) continue;
      const int64_t lo = std::max(begin, s.begin), hi = std::min(begin + n, s.begin + s.numel);
      if (lo >= hi) continue;
      Tensor v = files_[s.file]->view(ckpt::unit_key(u, what));
      std::memcpy(dst + (lo - begin), v.data<float>() + (lo - s.begin), size_t(hi - lo) * 4);
      covered += hi - lo;
    }
    check(covered == n, "checkpoint " + dir_ + ": the shards cover " + std::to_string(covered) + " of unit " + std::to_string(u) +
                            "'s elements [" + std::to_string(begin) + ", " + std::to_string(begin + n) + ")",
          "a shard file is missing from the manifest; pick another checkpoint");
  }

 private:
  struct Slice {
    size_t file = 0;
    int unit = 0;
    int64_t begin = 0, numel = 0;
  };
  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::vector<Slice> slices_;
};

// Flags whose change makes a resumed run differ from the uninterrupted one (the rest only change where things go).
bool flag_changes_trajectory(const std::string& k) {
  static const char* same[] = {"output_dir", "resume", "save_steps", "save_each_epoch", "save_total_limit", "metrics_file",
                               "enable_tensorboard", "tensorboard_path", "print_loss", "local_rank", "deepspeed", "data_output_path",
                               "zero_stage", "offload", "per_device_train_batch_size", "gradient_checkpointing", "deepspeed_config"};
  return std::none_of(std::begin(same), std::end(same), [&](const char* s) { return k == s; });
}

}  // namespace

void check_layout_matches(const CheckpointManifest& m, const model::ModelLayout& layout) {
  const std::string hint = "use the base model and the --lora_dim, --lora_module_name and --only_optimize_lora the checkpoint was "
                           "written with (" + (fs::path(m.dir) / ckpt::kConfig).string() + " has them)";
  const std::string head = "checkpoint " + m.dir + " does not fit this model: ";
  check(m.units.size() == layout.units.size(), head + "it has " + std::to_string(m.units.size()) + " units, the model " +
                                                   std::to_string(layout.units.size()), hint);
  for (size_t u = 0; u < m.units.size(); ++u) {
    const auto& cu = m.units[u];
    const auto& lu = layout.units[u];
    check(cu.name == lu.name && cu.trainable_numel == lu.trainable_numel,
          head + "unit " + cu.name + " has " + std::to_string(cu.trainable_numel) + " trainable elements there, unit " + lu.name + " " +
              std::to_string(lu.trainable_numel) + " here", hint);
    std::vector<const model::ParamInfo*> mine;
    for (const auto& p : lu.params)
      if (p.trainable) mine.push_back(&p);
    check(mine.size() == cu.params.size(), head + "unit " + cu.name + " trains " + std::to_string(cu.params.size()) + " parameters there, " +
                                               std::to_string(mine.size()) + " here", hint);
    for (size_t i = 0; i < mine.size(); ++i)
      check(mine[i]->name == cu.params[i].name && mine[i]->shape == cu.params[i].shape && mine[i]->offset == cu.params[i].offset,
            head + "trainable parameter " + cu.params[i].name + " " + shape_str(cu.params[i].shape) + " there, " + mine[i]->name + " " +
                shape_str(mine[i]->shape) + " here", hint);
  }
}

std::optional<std::string> find_resume_checkpoint(const std::string& spec, const std::string& root) {
  if (spec != "auto") {
    const std::string dir = checkpoint_dir_of(spec);
    verify_checkpoint(read_checkpoint_manifest(dir));
    return dir;
  }
  std::error_code ec;
  const auto dirs = ckpt::list_step_dirs(root);
  const fs::path latest = fs::path(root) / ckpt::kLatest;
  const bool has_latest = fs::exists(latest, ec);
  if (dirs.empty() && !has_latest) {
    log::info("--resume auto: no checkpoint under " + root + "; starting from the beginning");
    return std::nullopt;
  }
  int64_t newest = INT64_MAX;
  if (has_latest) {
    std::string tag = read_file(latest.string());
    while (!tag.empty() && (tag.back() == '\n' || tag.back() == ' ')) tag.pop_back();
    auto n = ckpt::parse_step_name(tag);
    if (n) newest = *n;
    else log::warn(latest.string() + " holds '" + tag + "', not a step_N name; looking at every checkpoint");
  }
  std::string tried;
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    if (it->first > newest) continue;  // written after the last commit: never completed
    try {
      verify_checkpoint(read_checkpoint_manifest(it->second));
      if (!tried.empty() || (has_latest && it->first != newest))
        log::warn("--resume auto: falling back to " + it->second + ", the newest complete checkpoint" +
                  (has_latest ? " before " + (fs::path(root) / checkpoint_name(newest)).string() : std::string()));
      return it->second;
    } catch (const Error& e) {
      log::warn("--resume auto: skipping " + it->second + ": " + e.what());
      tried += "\n  " + it->second + ": " + e.what();
    }
  }
  if (!has_latest) {
    log::warn("--resume auto: no checkpoint under " + root + " was ever completed; starting from the beginning");
    return std::nullopt;
  }
  fail("--resume auto: no usable checkpoint under " + root + " (latest names " + checkpoint_name(newest) + ")" +
           (tried.empty() ? std::string(": its directory is gone") : tried),
       "resume from a copy of a good checkpoint with --resume <dir>, or start again without --resume");
}

std::optional<std::string> agree_resume_checkpoint(const std::string& spec, const std::string& root, dist::Comm& comm, Device dev) {
  // Rank 0 decides (verifying every file once); -1: start fresh, -2: rank 0 failed, else the step chosen.
  int64_t code = -2;
  std::optional<std::string> chosen;
  std::optional<Error> err;
  if (comm.rank() == 0) {
    try {
      chosen = find_resume_checkpoint(spec, root);
      code = chosen ? read_checkpoint_manifest(*chosen).step : -1;
    } catch (const Error& e) {
      err = e;
    }
  }
  code = ckpt::all_gather_i64(comm, dev, {code})[0];
  if (err) throw *err;
  check(code != -2, "rank 0 could not find the checkpoint to resume from (its error says why)");
  if (code == -1) return std::nullopt;
  if (comm.rank() == 0) return chosen;
  return spec == "auto" ? (fs::path(root) / checkpoint_name(code)).string() : checkpoint_dir_of(spec);
}

LoopPosition restore_checkpoint(const CheckpointManifest& m, Trainer& trainer, const RunShape& run, const Json& config) {
  dist::ZeroEngine& eng = trainer.engine();
  check_layout_matches(m, eng.layout());
  const std::string spath = (fs::path(m.dir) / ckpt::kState).string();
  const Json state = load_json_file(spath);
  check(state.is_object() && state.contains("run") && state["run"].is_object() && state.contains("position"),
        spath + ": expected an object with 'run' and 'position'", "the checkpoint is damaged; pick another");
  const Json& sr = state["run"];
  const int64_t gas = json_int(sr, "gradient_accumulation_steps", spath), spm = json_int(sr, "samples_per_micro_step", spath),
                mbe = json_int(sr, "micro_batches_per_epoch", spath);
  const std::string where = "cannot resume from " + m.dir + ": ";
  check(gas == run.gradient_accumulation_steps,
        where + "it was written with " + std::to_string(gas) + " gradient-accumulation steps, this run has " +
            std::to_string(run.gradient_accumulation_steps), "resume with --gradient_accumulation_steps " + std::to_string(gas));
  check(spm == run.samples_per_micro_step,
        where + "it was written with " + std::to_string(spm) + " samples per micro-step (micro-batch x " + std::to_string(m.world_size) +
            " ranks), this run has " + std::to_string(run.samples_per_micro_step),
        "keep --per_device_train_batch_size x ranks equal (e.g. 2 ranks x 3 -> 3 ranks x 2) so that the data position carries over");
  check(mbe == run.micro_batches_per_epoch,
        where + "an epoch had " + std::to_string(mbe) + " micro-batches per rank there, " + std::to_string(run.micro_batches_per_epoch) + " here",
        "resume with the same --data_path, --data_split, --max_seq_len and --seed (the data decides the epoch length)");
  // Flags that change the trajectory: allowed (e.g. more epochs), but said.
  const std::string cpath = (fs::path(m.dir) / ckpt::kConfig).string();
  const Json saved = load_json_file(cpath);
  if (saved.is_object() && saved.contains("flags") && config.is_object() && config.contains("flags")) {
    std::string diffs;
    for (const auto& [k, v] : config["flags"].items()) {
      if (!flag_changes_trajectory(k)) continue;
      const Json old = saved["flags"].contains(k) ? saved["flags"][k] : Json(nullptr);
      if (old != v) diffs += "\n  --" + k + ": " + old.dump() + " -> " + v.dump();
    }
    if (!diffs.empty() && eng.comm().rank() == 0)
      log::warn("resuming " + m.dir + " with settings that differ from the saved run (the rest of the run will not be what it "
                "would have been):" + diffs);
  }

  // Each rank's optimizer slices, read from whichever saved shards overlap them (resharding is this overlap).
  ShardSet shards(m);
  const auto& segs = eng.segments();
  Optimizer& opt = trainer.optimizer();
  check(segs.size() == opt.num_params(), "internal: the optimizer's parameters are not the engine's segments");
  int64_t most = 0;
  for (const auto& s : segs) most = std::max(most, s.master.numel());
  Tensor host = Tensor::empty({std::max<int64_t>(most, 1)}, DType::f32);
  for (size_t i = 0; i < segs.size(); ++i) {
    auto [u, info] = eng.layout().find(segs[i].name);
    check(u >= 0 && info, "internal: segment " + segs[i].name + " is not in the layout");
    const int64_t pos = info->offset + segs[i].offset, n = segs[i].master.numel();
    const Tensor h = host.narrow(0, n);
    const auto& st = opt.param(int(i));
    const std::pair<const char*, Tensor> dsts[] = {{"master", segs[i].master}, {"exp_avg", st.exp_avg}, {"exp_avg_sq", st.exp_avg_sq}};
    for (const auto& [what, dst] : dsts) {
      shards.read(u, pos, n, what, h.data<float>());
      ops::copy(dst, h);
    }
  }
  eng.publish();  // masters -> compute-dtype parameters (gathered where replicated)
  LoopPosition pos = ckpt::position_from_json(state["position"], spath);
  trainer.resume_at(pos);
  if (eng.comm().rank() == 0)
    log::info("resumed from " + m.dir + " (written by " + std::to_string(m.world_size) + " rank(s) at ZeRO stage " +
              std::to_string(m.zero_stage) + "): global step " + std::to_string(pos.global_step()) + ", epoch " +
              std::to_string(pos.epoch + 1) + ", micro-batch " + std::to_string(pos.step_in_epoch) + " done");
  return pos;
}

std::unordered_map<std::string, Tensor> consolidate_checkpoint(const CheckpointManifest& m) {
  ShardSet shards(m);
  std::unordered_map<std::string, Tensor> out;
  for (size_t u = 0; u < m.units.size(); ++u)
    for (const auto& p : m.units[u].params) {
      Tensor t = Tensor::empty(p.shape, DType::f32);
      shards.read(int(u), p.offset, t.numel(), "master", t.data<float>());
      out.emplace(p.name, t);
    }
  return out;
}

}  // namespace zt::train
