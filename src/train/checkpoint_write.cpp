// Writing checkpoints: the state snapshot into host memory on the training thread, the rank's files written and
// fsynced by a background thread (safetensors layout, crc32c computed while writing), and the commit: every rank reports
// its durable files, rank 0 writes manifest.json and then `latest`, and prunes to --save_total_limit.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "core/crc32c.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/mmap.hpp"
#include "ops/elementwise.hpp"
#include "train/checkpoint.hpp"
#include "train/checkpoint_format.hpp"

namespace zt::train {

namespace fs = std::filesystem;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::string mib(double bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f MiB", bytes / 1048576.0);
  return b;
}
std::string secs(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f s", s);
  return b;
}

// One unit's contiguous range of this rank's owned trainable elements, snapshotted into host memory.
struct Piece {
  int unit = 0;
  int64_t begin = 0, numel = 0;  // logical elements of the unit's trainable buffer
  Tensor master, exp_avg, exp_avg_sq;
};

// A file written through a hidden temporary name beside it (".<name>.tmp"), with a crc32c over every byte; fsync and
// rename on commit, removed unless committed (core/mmap's AtomicFile).
class DurableFile {
 public:
  explicit DurableFile(const std::string& path)
      : file_(path, (fs::path(path).parent_path() / ("." + fs::path(path).filename().string() + ".tmp")).string()) {}
  void write(const void* data, size_t n) {
    crc_ = crc32c(data, n, crc_);
    bytes_ += int64_t(n);
    file_.write(data, n);
  }
  void commit() { file_.commit(); }
  uint32_t crc() const { return crc_; }
  int64_t bytes() const { return bytes_; }

 private:
  AtomicFile file_;
  uint32_t crc_ = 0;
  int64_t bytes_ = 0;
};

struct WriteResult {
  std::string error;                   // empty: every file is durable
  int64_t shard_bytes = 0;
  uint32_t shard_crc = 0;
  std::vector<CheckpointFile> files;   // rank 0's state and config files
  int64_t bytes = 0;
  double seconds = 0;
};

// What the background thread writes for one save.
struct Job {
  int64_t step = 0;
  std::string dir;
  int rank = 0, world = 1, stage = 0;
  const std::vector<Piece>* pieces = nullptr;  // null: this rank writes no shard (stage 0, rank > 0)
  std::string state, config;                   // rank 0 only
  bool crash = false;                          // the test hook
};

// The shard: safetensors layout (readable by SafetensorsFile), metadata naming each unit's logical range.
void write_shard(const Job& job, WriteResult& r) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  nlohmann::ordered_json md = nlohmann::ordered_json::object();
  md["format"] = "zerotune-checkpoint-shard";
  md["step"] = std::to_string(job.step);
  md["rank"] = std::to_string(job.rank);
  md["world_size"] = std::to_string(job.world);
  md["zero_stage"] = std::to_string(job.stage);
  for (const Piece& p : *job.pieces) md[ckpt::unit_key(p.unit, "begin")] = std::to_string(p.begin);
  h["__metadata__"] = std::move(md);
  std::vector<const Tensor*> order;
  uint64_t off = 0;
  for (const Piece& p : *job.pieces) {
    const std::pair<const char*, const Tensor*> ts[] = {{"master", &p.master}, {"exp_avg", &p.exp_avg}, {"exp_avg_sq", &p.exp_avg_sq}};
    for (auto [what, t] : ts) {
      h[ckpt::unit_key(p.unit, what)] = {{"dtype", "F32"}, {"shape", {p.numel}}, {"data_offsets", {off, off + uint64_t(p.numel) * 4}}};
      off += uint64_t(p.numel) * 4;
      order.push_back(t);
    }
  }
  std::string header = h.dump();
  header.append((8 - header.size() % 8) % 8, ' ');
  const std::string path = (fs::path(job.dir) / ckpt::shard_name(job.rank)).string();
  DurableFile f(path);
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(header.size()) >> (8 * i));
  f.write(len, 8);
  f.write(header.data(), header.size());
  uint64_t written = 0;
  for (const Tensor* t : order) {
    const char* p = static_cast<const char*>(t->raw());
    for (size_t done = 0, n = t->nbytes(); done < n;) {
      const size_t chunk = std::min<size_t>(n - done, size_t(16) << 20);
      f.write(p + done, chunk);
      done += chunk;
      written += chunk;
      if (job.crash && written * 2 >= off) {
        log::warn("ZEROTUNE_TEST_CRASH_DURING_SAVE: killing this process halfway through writing " + path);
        ::kill(::getpid(), SIGKILL);
      }
    }
  }
  f.commit();
  r.shard_bytes = f.bytes();
  r.shard_crc = f.crc();
  r.bytes += f.bytes();
}

void write_small(const std::string& dir, const std::string& name, const std::string& kind, const std::string& text, WriteResult& r) {
  DurableFile f((fs::path(dir) / name).string());
  f.write(text.data(), text.size());
  f.commit();
  r.files.push_back({name, kind, 0, f.bytes(), f.crc()});
  r.bytes += f.bytes();
}

void write_job(const Job& job, WriteResult& r) {
  const double t0 = now();
  try {
    std::error_code ec;
    fs::create_directories(job.dir, ec);
    check(!ec && fs::is_directory(job.dir), "cannot create checkpoint directory " + job.dir + ": " + ec.message(),
          "check --output_dir (it must be writable, and shared by the nodes of a multi-node job)");
    if (job.pieces) write_shard(job, r);
    if (job.rank == 0) {
      write_small(job.dir, ckpt::kState, "state", job.state, r);
      write_small(job.dir, ckpt::kConfig, "config", job.config, r);
    }
    ckpt::fsync_dir(job.dir);
  } catch (const Error& e) {
    r.error = e.describe();
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  r.seconds = now() - t0;
}

}  // namespace

struct CheckpointWriter::Impl {
  std::vector<Piece> pieces;
  std::vector<std::pair<int, int64_t>> places;  // segment i -> (piece, offset in it)
  bool writes_shard = true;
  // the save in flight
  struct Pending {
    int64_t step = 0;
    std::string dir;
    Job job;
    WriteResult result;
    std::atomic<bool> done{false};
    std::thread thread;
    double copied = 0;   // seconds the step loop spent copying the state into host memory
  };
  std::unique_ptr<Pending> pending;

  ~Impl() {
    if (pending && pending->thread.joinable()) pending->thread.join();
  }
};

CheckpointWriter::CheckpointWriter(Trainer& trainer, CheckpointOptions opt)
    : trainer_(trainer), opt_(std::move(opt)), impl_(std::make_unique<Impl>()) {
  check(!opt_.root.empty(), "internal: a CheckpointWriter needs a directory");
  check(opt_.save_steps >= 0 && opt_.save_total_limit >= 0, "internal: negative checkpoint cadence");
  dist::ZeroEngine& eng = trainer_.engine();
  const auto& segs = eng.segments();
  check(segs.size() == trainer_.optimizer().num_params(), "internal: the optimizer's parameters are not the engine's segments");
  impl_->writes_shard = !(eng.stage() == 0 && eng.comm().rank() != 0);  // stage 0: every rank holds the same state
  for (size_t i = 0; i < segs.size(); ++i) {
    check(trainer_.optimizer().param(int(i)).name == segs[i].name, "internal: optimizer parameter " + std::to_string(i) + " is not segment " + segs[i].name);
    auto [u, info] = eng.layout().find(segs[i].name);
    check(u >= 0 && info, "internal: segment " + segs[i].name + " is not in the layout");
    const int64_t pos = info->offset + segs[i].offset, n = segs[i].master.numel();
    auto& ps = impl_->pieces;
    if (ps.empty() || ps.back().unit != u) ps.push_back({u, pos, 0, {}, {}, {}});
    Piece& p = ps.back();
    check(pos == p.begin + p.numel, "internal: the segments of unit " + std::to_string(u) + " are not contiguous");
    impl_->places.emplace_back(int(ps.size()) - 1, p.numel);
    p.numel += n;
  }
  // Host buffers for the snapshots, allocated and touched once here so that no save pays for page faults; page-locked
  // when the state is on a GPU (faster device-to-host copies; with --offload it is in host memory already).
  const bool on_gpu = !segs.empty() && segs[0].master.device().is_cuda();
  if (impl_->writes_shard)
    for (Piece& p : impl_->pieces)
      for (Tensor* t : {&p.master, &p.exp_avg, &p.exp_avg_sq}) {
        *t = on_gpu ? ops::empty_pinned({p.numel}, DType::f32) : Tensor::empty({p.numel}, DType::f32);
        std::memset(t->raw(), 0, t->nbytes());
      }
}

CheckpointWriter::~CheckpointWriter() = default;

void CheckpointWriter::on_boundary(const LoopPosition& pos, bool epoch_ended) {
  const int64_t step = pos.global_step();
  const bool due = (opt_.save_steps > 0 && step % opt_.save_steps == 0) || (opt_.save_each_epoch && epoch_ended);
  if (due) save(pos);
  else try_commit(false);  // commit a finished write as soon as every rank has one
}

void CheckpointWriter::on_end(const LoopPosition&) { finish(); }

void CheckpointWriter::finish() {
  if (impl_->pending) try_commit(true, "the end of training");
}

void CheckpointWriter::save(const LoopPosition& pos) {
  if (impl_->pending) try_commit(true, "the next save was due");
  const double t1 = now();
  dist::ZeroEngine& eng = trainer_.engine();
  const int rank = eng.comm().rank();
  auto pending = std::make_unique<Impl::Pending>();
  pending->step = pos.global_step();
  pending->dir = (fs::path(opt_.root) / checkpoint_name(pending->step)).string();
  if (rank == 0) {
    // A checkpoint of this step from an earlier run is no longer complete once files of this one land beside it.
    std::error_code ec;
    if (fs::exists(fs::path(pending->dir) / ckpt::kManifest, ec)) {
      fs::remove(fs::path(pending->dir) / ckpt::kManifest, ec);
      ckpt::fsync_dir(pending->dir);
    }
  }
  // The snapshot: this rank's masters and moments into the host buffers.
  Impl& im = *impl_;
  if (im.writes_shard) {
    const auto& segs = eng.segments();
    for (size_t i = 0; i < segs.size(); ++i) {
      const auto [pi, off] = im.places[i];
      const Piece& p = im.pieces[size_t(pi)];
      const int64_t n = segs[i].master.numel();
      const auto& st = trainer_.optimizer().param(int(i));
      ops::copy(p.master.narrow(off, n), segs[i].master);
      ops::copy(p.exp_avg.narrow(off, n), st.exp_avg);
      ops::copy(p.exp_avg_sq.narrow(off, n), st.exp_avg_sq);
    }
  }
  Job& job = pending->job;
  job.step = pending->step;
  job.dir = pending->dir;
  job.rank = rank;
  job.world = eng.comm().size();
  job.stage = eng.stage();
  job.pieces = im.writes_shard ? &im.pieces : nullptr;
  job.crash = opt_.crash_during_save_step == pending->step;
  if (rank == 0) {
    Json state = {{"step", pending->step},
                  {"position", ckpt::position_json(pos)},
                  {"run",
                   {{"micro_batches_per_epoch", opt_.run.micro_batches_per_epoch},
                    {"samples_per_micro_step", opt_.run.samples_per_micro_step},
                    {"gradient_accumulation_steps", opt_.run.gradient_accumulation_steps}}},
                  // Every random stream of the run restarts from these: dropout masks are seeded per micro-step
                  // (seed * 0x9E3779B97F4A7C15 + micro_steps), the data order is the seeded split (the same every epoch),
                  // and the LoRA initialisation is in the saved weights.
                  {"rng", {{"seed", opt_.config.contains("flags") && opt_.config["flags"].contains("seed") ? opt_.config["flags"]["seed"] : Json(nullptr)},
                           {"dropout_stream", "seed * 0x9E3779B97F4A7C15 + micro_steps"}}}};
    job.state = state.dump(2) + "\n";
    job.config = opt_.config.dump(2) + "\n";
  }
  Impl::Pending* pp = pending.get();
  pending->thread = std::thread([pp] {
    write_job(pp->job, pp->result);
    pp->done.store(true, std::memory_order_release);
  });
  pending->copied = now() - t1;
  im.pending = std::move(pending);
}

bool CheckpointWriter::try_commit(bool wait, const char* why) {
  Impl& im = *impl_;
  if (!im.pending) return true;
  Impl::Pending& p = *im.pending;
  const double tw = now();
  if (wait && p.thread.joinable()) p.thread.join();
  const double t0 = now(), waited = t0 - tw;  // the step loop waited for this rank's write to finish
  const bool done = p.done.load(std::memory_order_acquire);
  dist::ZeroEngine& eng = trainer_.engine();
  dist::Comm& comm = eng.comm();
  const WriteResult& r = p.result;
  constexpr int K = 7;
  const std::vector<int64_t> mine = {done ? 1 : 0, done && !r.error.empty() ? 1 : 0, r.shard_bytes, int64_t(r.shard_crc),
                                     done && im.writes_shard ? 1 : 0, int64_t(r.seconds * 1e6), r.bytes};
  const std::vector<int64_t> all = ckpt::all_gather_i64(comm, eng.device(), mine);
  const int world = comm.size();
  for (int q = 0; q < world; ++q) {
    if (!all[size_t(q * K + 1)]) continue;
    if (p.thread.joinable()) p.thread.join();
    const std::string what = "checkpoint " + p.dir + " could not be written: " +
                             (q == comm.rank() ? r.error : "rank " + std::to_string(q) + " failed to write its files (its log says why)");
    im.pending.reset();
    fail(what, "fix the cause (disk space, permissions of --output_dir) and resume from the last complete checkpoint");
  }
  for (int q = 0; q < world; ++q)
    if (!all[size_t(q * K)]) return false;  // not every rank has its files on disk yet: ask again at a later boundary
  if (p.thread.joinable()) p.thread.join();
  if (comm.rank() == 0) {
    CheckpointManifest m;
    m.step = p.step;
    m.world_size = world;
    m.zero_stage = eng.stage();
    m.compute_dtype = ckpt::dtype_flag(eng.dtype());
    m.model_name_or_path = opt_.model_name_or_path;
    m.lora = eng.model().lora();
    for (const auto& ul : eng.layout().units) {
      CheckpointManifest::Unit u{ul.name, ul.trainable_numel, {}};
      for (const auto& pi : ul.params)
        if (pi.trainable) u.params.push_back({pi.name, pi.shape, pi.offset});
      m.units.push_back(std::move(u));
    }
    int64_t total = 0;
    double slowest = 0;
    for (int q = 0; q < world; ++q) {
      const int64_t* a = &all[size_t(q * K)];
      if (a[4]) m.files.push_back({ckpt::shard_name(q), "shard", q, a[2], uint32_t(a[3])});
      total += a[6];
      slowest = std::max(slowest, double(a[5]) * 1e-6);
    }
    for (const CheckpointFile& f : r.files) m.files.push_back(f);
    write_file_atomic((fs::path(p.dir) / ckpt::kManifest).string(), ckpt::manifest_json(m).dump(2) + "\n");
    // Anything else in the directory is from an earlier save of this step (another world size) or a crash.
    std::error_code ec;
    for (const auto& de : fs::directory_iterator(p.dir, ec)) {
      const std::string n = de.path().filename().string();
      bool listed = n == ckpt::kManifest;
      for (const CheckpointFile& f : m.files) listed |= f.name == n;
      if (!listed) fs::remove_all(de.path(), ec);
    }
    ckpt::fsync_dir(p.dir);
    write_file_atomic((fs::path(opt_.root) / ckpt::kLatest).string(), checkpoint_name(p.step) + "\n");
    ckpt::fsync_dir(opt_.root);
    if (opt_.save_total_limit > 0) {
      int64_t kept = 1;
      auto dirs = ckpt::list_step_dirs(opt_.root);
      for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
        if (it->first == p.step) continue;
        const bool complete = fs::exists(fs::path(it->second) / ckpt::kManifest, ec);
        if (complete && kept < opt_.save_total_limit) {
          ++kept;
          continue;
        }
        if (!complete && it->first > p.step) continue;  // not ours to judge (a later save of an earlier run)
        fs::remove_all(it->second, ec);
        if (ec) log::warn("could not remove old checkpoint " + it->second + ": " + ec.message());
        else log::info("removed " + std::string(complete ? "old checkpoint " : "incomplete checkpoint ") + it->second +
                       " (--save_total_limit " + std::to_string(opt_.save_total_limit) + ")");
      }
    }
    log::info("checkpoint " + p.dir + " complete: " + std::to_string(m.files.size()) + " files, " + mib(double(total)) +
              "; the step loop was blocked " + secs(p.copied + (now() - t0)) + " (state copied to host memory " + secs(p.copied) +
              ", commit " + secs(now() - t0) + ")" +
              (waited > 1e-3 ? ", and " + secs(waited) + " waiting for the write to finish (" +
                                   why + ")" : std::string()) +
              "; written in the background in " + secs(slowest) + " (" +
              mib(double(total) / std::max(slowest, 1e-6)) + "/s)");
  }
  im.pending.reset();
  ++committed_;
  return true;
}

}  // namespace zt::train
