// Streaming checkpoint loads: each unit's parameters go from the mapped shards straight into parameter views on any
// device through ops::Uploader (worker threads, pinned staging, async copies, dtype conversion on the GPU), with a
// progress report; no host copy of the model is made.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/progress.hpp"
#include "io/hf_checkpoint.hpp"
#include "model/params.hpp"
#include "ops/transfer.hpp"

namespace zt {

struct LoadOptions {
  bool progress = true;        // report on stderr (a bar on a terminal, else lines at each tenth)
  ops::UploadOptions upload;   // threads, chunk size, staging buffers
};

struct LoadStats {
  size_t tensors = 0;
  uint64_t bytes = 0;  // checkpoint bytes read
  double seconds = 0;  // from the loader's construction to the end of the last copy on the device
  double gb_per_s() const { return seconds > 0 ? double(bytes) / 1e9 / seconds : 0.0; }
  std::string str() const;  // "loaded N tensors, X GB in Y s (Z GB/s)"
};

class CheckpointLoader {
 public:
  // Loads parameters of `layout` from `ckpt` into tensors on `dev`. The progress total is the checkpoint bytes of the
  // layout's parameters present in `ckpt`.
  CheckpointLoader(const HfCheckpoint& ckpt, const model::ModelLayout& layout, Device dev, LoadOptions opt = {});
  ~CheckpointLoader();
  CheckpointLoader(const CheckpointLoader&) = delete;
  CheckpointLoader& operator=(const CheckpointLoader&) = delete;

  // Every parameter of `u` found in the checkpoint into its view in `dst` (on the loader's device), converting float
  // dtypes; shapes are checked. Returns how many. When it returns, the copies are ordered before later work of this
  // thread on the device (GPU; the host does not wait for them) or done (CPU). = queue_unit + fence.
  size_t load_unit(const model::UnitLayout& u, const model::UnitParams& dst);
  // The same in two halves, so the caller can work on the host while the copies run: queues the tensors `pick`
  // accepts (all when null), which worker threads start copying at once ...
  size_t queue_unit(const model::UnitLayout& u, const model::UnitParams& dst,
                    const std::function<bool(const model::ParamInfo&)>& pick = nullptr);
  // ... and orders everything queued before later work of this thread on the device (done, on the CPU).
  void fence();
  // Waits for the device and stops the progress report.
  LoadStats finish();

 private:
  const HfCheckpoint& ckpt_;
  std::chrono::steady_clock::time_point start_;  // before the uploader's set-up (pinned buffers), which counts
  std::vector<Tensor> keep_;  // source views that must outlive their copies (aligned copies of misaligned data)
  ops::Uploader up_;          // destroyed (drained) before keep_
  std::unique_ptr<ByteProgress> progress_;  // polls up_: stopped before it
  size_t tensors_ = 0;
  uint64_t bytes_ = 0;
  bool finished_ = false;
  LoadStats stats_;
};

}  // namespace zt
