// Bulk host-to-device uploads (checkpoint loads): many tensors from host memory that stays valid (e.g. mapped
// files) into device tensors, split into chunks that worker threads copy in parallel, converting float dtypes.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/tensor.hpp"

namespace zt::ops {

// One piece of an upload: n elements of src_t at `src` (host) to dst_t at `dst` (on the uploader's device).
struct UploadChunk {
  void* dst = nullptr;
  DType dst_t = DType::f32;
  const void* src = nullptr;
  DType src_t = DType::f32;
  int64_t n = 0;
  size_t src_bytes() const { return size_t(n) * dtype_size(src_t); }
};

// What a device does with chunks (ops/cpu: convert in place; ops/cuda: pinned staging, async copies on a copy stream,
// conversion kernels). run() is called from several worker threads at once.
class UploadBackend {
 public:
  virtual ~UploadBackend() = default;
  virtual void run(const UploadChunk& c) = 0;
  // Called on the uploading thread by each upload() before its chunks are handed out: its copies must not overtake
  // work queued earlier on this thread's stream of the device (e.g. a memset of the destination).
  virtual void begin() {}
  // Called on the uploading thread once every chunk queued so far has returned from run(): orders the copies
  // before later work on this thread's stream (GPU) and returns without waiting for the device.
  virtual void fence() {}
  virtual void synchronize() {}  // waits until the device has finished every copy
};

struct UploadOptions {
  int threads = 0;                          // host copy threads (0: up to 8, fewer on small machines)
  size_t chunk_bytes = size_t(16) << 20;    // source bytes per chunk (= one staging buffer on a GPU)
  int staging_buffers = 0;                  // GPU pinned staging buffers (0: 2 per thread + 2)
};

class Uploader {
 public:
  explicit Uploader(Device dev, UploadOptions opt = {});
  ~Uploader();  // drains what is queued (errors are dropped: call finish() to see them)
  Uploader(const Uploader&) = delete;
  Uploader& operator=(const Uploader&) = delete;

  Device device() const { return dev_; }
  // Queues dst (contiguous, on the device) = n = dst.numel() elements of src_t read from host memory `src`, which must
  // stay valid and unchanged until the next fence(). Float dtypes convert into each other (round to nearest even);
  // others must match. The copies land after work this thread queued on the device before the call.
  void upload(const Tensor& dst, const void* src, DType src_t);
  // Waits for the worker threads to take every queued chunk through the host side; on a GPU the copies are then
  // ordered before work queued afterwards on this thread's stream of the device (without waiting for them), on the
  // CPU they are done. Rethrows the first error of a worker.
  void fence();
  // fence() and wait for the device.
  void finish();
  // Source bytes through the host side so far (for progress).
  uint64_t bytes_done() const { return bytes_done_.load(std::memory_order_relaxed); }

 private:
  void worker();

  Device dev_;
  UploadOptions opt_;
  std::unique_ptr<UploadBackend> backend_;
  std::mutex mu_;
  std::condition_variable work_cv_, idle_cv_;
  std::deque<UploadChunk> queue_;
  int64_t in_flight_ = 0;  // queued + running chunks
  bool stopping_ = false, begun_ = false;
  std::exception_ptr error_;
  std::atomic<uint64_t> bytes_done_{0};
  std::vector<std::thread> threads_;
};

// The CPU backend (ops/transfer.cpp) and, in CUDA builds, the GPU one (ops/cuda/transfer.cpp).
std::unique_ptr<UploadBackend> make_cpu_upload_backend();

}  // namespace zt::ops
