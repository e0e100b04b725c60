// The CUDA runtime layer of the ops: error checks with file/line and a hint, backend start-up (device memory
// for zt::Buffer), and the per-thread Context (device, stream, cuBLASLt handle and workspace, scratch) ops run in.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>
#include <source_location>

#include "core/tensor.hpp"

typedef struct cublasLtContext* cublasLtHandle_t;

namespace zt::cuda {

// ---- errors ----
// Throws zt::Error naming the failed call, the CUDA error and a hint, at the caller's file:line.
void check_cuda(cudaError_t e, const char* call, std::source_location where = std::source_location::current());
// For cuBLAS/cuBLASLt status codes (cublasStatus_t as int, so this header needs no cuBLAS include).
void check_cublas(int status, const char* call, std::source_location where = std::source_location::current());
// After a kernel launch: the launch error (bad configuration, no kernel image for this GPU).
void check_launch(const char* kernel, std::source_location where = std::source_location::current());
#define ZT_CUDA(call) ::zt::cuda::check_cuda((call), #call)

// ---- backend ----
// Registers cudaMalloc/cudaFree as zt::Buffer's device allocator (idempotent, thread-safe) and returns the
// number of visible GPUs. Fails with a clear error when the driver or a GPU is missing.
int initialize();
bool initialized();

// Makes `device` current on this thread for its lifetime; restores the previous one.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

struct GemmCache;  // cuBLASLt plans per shape (ops/cuda/linear.cu)
struct GemmCacheDeleter {
  void operator()(GemmCache* c) const;
};

// Everything an op needs to run on one GPU: the stream its work is ordered on, the cuBLASLt handle and
// workspace, and a scratch arena that ops use within one call (valid until the next scratch() call).
class Context {
 public:
  // Owns a new non-blocking stream unless `stream` is given (then borrowed, not destroyed).
  explicit Context(int device, cudaStream_t stream = nullptr);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  cublasLtHandle_t lt();
  void* workspace() const { return workspace_; }
  size_t workspace_bytes() const { return workspace_bytes_; }
  GemmCache& gemm_cache();
  // At least `bytes` of device memory, 256-byte aligned; grows (never shrinks) on demand. Work queued earlier
  // on this stream may still read the old contents, so growth waits for the device before freeing.
  void* scratch(size_t bytes);
  // A pinned host area of at least `bytes` for small device-to-host results (valid until the next call).
  void* host_scratch(size_t bytes);
  void synchronize();
  const cudaDeviceProp& props() const { return props_; }
  // SMs GEMMs leave free for kernels running beside them on other streams (e.g. NCCL's while ZeRO-3 prefetches):
  // cuBLASLt plans target multiProcessorCount - margin SMs, so a persistent GEMM does not wait for busy SMs.
  int gemm_sm_margin() const { return gemm_sm_margin_; }
  void set_gemm_sm_margin(int sms) { gemm_sm_margin_ = sms < 0 ? 0 : sms; }

 private:
  int device_;
  cudaStream_t stream_ = nullptr;
  bool own_stream_ = false;
  cublasLtHandle_t lt_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
  void* scratch_ = nullptr;
  size_t scratch_bytes_ = 0;
  void* host_scratch_ = nullptr;
  size_t host_scratch_bytes_ = 0;
  std::unique_ptr<GemmCache, GemmCacheDeleter> gemm_cache_;
  cudaDeviceProp props_{};
  int gemm_sm_margin_ = 0;
};

// The context ops on `device` use on this thread: the innermost ContextScope's, else one this thread creates
// on first use (with its own stream) and keeps until the thread exits.
Context& current(int device);
inline Context& current(const Device& dev) { return current(dev.index); }

// Runs this thread's ops on `ctx`'s device in `ctx` (e.g. a communication-overlap stream) while alive.
class ContextScope {
 public:
  explicit ContextScope(Context& ctx);
  ~ContextScope();
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  int device_;
  Context* previous_;
};

// Copies `bytes` from the device to the host through ctx's stream and waits for them (small metadata reads).
void copy_to_host(void* dst, const void* src, size_t bytes, Context& ctx);

// Fails unless the backend was initialised: names the op and how to start it.
void require_initialized(const char* op, const Device& dev);

// What an op dispatcher holds while it launches on `dev`: the device made current and this thread's context.
class OpScope {
 public:
  OpScope(const Device& dev, const char* op) : guard_((require_initialized(op, dev), dev.index)), ctx_(current(dev.index)) {}
  Context& ctx() const { return ctx_; }
  cudaStream_t stream() const { return ctx_.stream(); }

 private:
  DeviceGuard guard_;
  Context& ctx_;
};

}  // namespace zt::cuda
