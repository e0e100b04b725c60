// GPU uploads: a worker takes a free staging buffer (waiting for the copy that last read it), copies its chunk
// from host memory into it, and queues the host-to-device copy (+ a conversion kernel from a device scratch of the
// buffer when the dtypes differ) on the copy stream. Events order the copy stream against the caller's stream.
#include "ops/cuda/transfer.hpp"

#include <condition_variable>
#include <deque>
#include <cstring>
#include <mutex>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"
#include "ops/cuda/elementwise.hpp"
#include "ops/cuda/runtime.hpp"

namespace zt::cuda {

namespace {

bool gpu_float(DType t) { return t == DType::f32 || t == DType::bf16 || t == DType::f16; }

class CudaUploadBackend : public ops::UploadBackend {
 public:
  CudaUploadBackend(int device, size_t chunk_bytes, int buffers) : device_(device), chunk_bytes_(chunk_bytes) {
    require_initialized("upload", Device::CUDA(device));
    DeviceGuard g(device_);
    try {
      ZT_CUDA(cudaStreamCreateWithFlags(&copy_, cudaStreamNonBlocking));
      ZT_CUDA(cudaEventCreateWithFlags(&entry_, cudaEventDisableTiming));
      ZT_CUDA(cudaEventCreateWithFlags(&exit_, cudaEventDisableTiming));
      slots_.resize(size_t(buffers));
      for (size_t i = 0; i < slots_.size(); ++i) {
        ZT_CUDA(cudaHostAlloc(&slots_[i].host, chunk_bytes_, cudaHostAllocDefault));
        ZT_CUDA(cudaEventCreateWithFlags(&slots_[i].done, cudaEventDisableTiming));
        free_.push_back(int(i));
      }
    } catch (...) {
      release_all();
      throw;
    }
  }
  ~CudaUploadBackend() override { release_all(); }

  void run(const ops::UploadChunk& c) override {
    DeviceGuard g(device_);
    const int k = acquire();
    struct Release {  // the buffer goes back even when a call below throws
      CudaUploadBackend* b;
      int k;
      ~Release() { b->release(k); }
    } rel{this, k};
    Slot& s = slots_[size_t(k)];
    ZT_CUDA(cudaEventSynchronize(s.done));  // the copy that last read this buffer has finished
    const bool convert_on_gpu = c.dst_t != c.src_t && gpu_float(c.dst_t) && gpu_float(c.src_t);
    if (c.dst_t == c.src_t || convert_on_gpu) std::memcpy(s.host, c.src, c.src_bytes());
    else convert(s.host, c.dst_t, c.src, c.src_t, size_t(c.n));  // e.g. f64 files: on the CPU, into the buffer
    if (convert_on_gpu) {
      if (!s.scratch) ZT_CUDA(cudaMalloc(&s.scratch, chunk_bytes_));
      ZT_CUDA(cudaMemcpyAsync(s.scratch, s.host, c.src_bytes(), cudaMemcpyHostToDevice, copy_));
      cuda::convert(c.dst, c.dst_t, s.scratch, c.src_t, c.n, copy_);
    } else {
      ZT_CUDA(cudaMemcpyAsync(c.dst, s.host, size_t(c.n) * dtype_size(c.dst_t), cudaMemcpyHostToDevice, copy_));
    }
    ZT_CUDA(cudaEventRecord(s.done, copy_));
  }

  void begin() override {
    DeviceGuard g(device_);
    ZT_CUDA(cudaEventRecord(entry_, current(device_).stream()));
    ZT_CUDA(cudaStreamWaitEvent(copy_, entry_, 0));
  }

  void fence() override {
    DeviceGuard g(device_);
    ZT_CUDA(cudaEventRecord(exit_, copy_));
    ZT_CUDA(cudaStreamWaitEvent(current(device_).stream(), exit_, 0));
  }

  void synchronize() override {
    DeviceGuard g(device_);
    ZT_CUDA(cudaStreamSynchronize(copy_));
  }

 private:
  void release_all() {  // also after a failed constructor
    int prev = -1;
    cudaGetDevice(&prev);
    cudaSetDevice(device_);
    if (copy_) cudaStreamSynchronize(copy_);
    for (Slot& s : slots_) {
      if (s.host) cudaFreeHost(s.host);
      if (s.scratch) cudaFree(s.scratch);
      if (s.done) cudaEventDestroy(s.done);
    }
    slots_.clear();
    if (entry_) cudaEventDestroy(entry_);
    if (exit_) cudaEventDestroy(exit_);
    if (copy_) cudaStreamDestroy(copy_);
    entry_ = exit_ = nullptr;
    copy_ = nullptr;
    if (prev >= 0) cudaSetDevice(prev);
  }

  struct Slot {
    void* host = nullptr;     // pinned, chunk_bytes
    void* scratch = nullptr;  // device, chunk_bytes, allocated on the first conversion
    cudaEvent_t done = nullptr;
  };
  int acquire() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return !free_.empty(); });
    const int k = free_.front();  // the longest free: its copy is the likeliest to have finished
    free_.pop_front();
    return k;
  }
  void release(int k) {
    {
      std::lock_guard g(mu_);
      free_.push_back(k);
    }
    cv_.notify_one();
  }

  int device_;
  size_t chunk_bytes_;
  cudaStream_t copy_ = nullptr;
  cudaEvent_t entry_ = nullptr, exit_ = nullptr;
  std::vector<Slot> slots_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int> free_;  // FIFO
};

}  // namespace

std::unique_ptr<ops::UploadBackend> make_upload_backend(int device, size_t chunk_bytes, int buffers) {
  return std::make_unique<CudaUploadBackend>(device, chunk_bytes, buffers);
}

}  // namespace zt::cuda
