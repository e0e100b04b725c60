// Implementation of the CUDA runtime layer: error translation, the device allocator behind zt::Buffer,
// per-thread contexts (stream, cuBLASLt handle, workspace, scratch) and device guards.
#include "ops/cuda/runtime.hpp"

#include <cublasLt.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <string>

#include "core/log.hpp"

namespace zt::cuda {

namespace {
constexpr int kMaxDevices = 64;
constexpr size_t kWorkspaceBytes = size_t(32) << 20;  // cuBLASLt's recommendation for Hopper

std::string hint_for(cudaError_t e) {
  switch (e) {
    case cudaErrorMemoryAllocation:
      return "the GPU is out of memory: lower the micro-batch size or sequence length, enable activation checkpointing, "
             "or check nvidia-smi for other processes on this GPU";
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver:
      return "no usable GPU or driver: check nvidia-smi, CUDA_VISIBLE_DEVICES and that the driver supports CUDA 13";
    case cudaErrorInvalidDevice:
      return "the device index is out of range: check CUDA_VISIBLE_DEVICES and --device / LOCAL_RANK";
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorUnsupportedPtxVersion:
      return "this build has no code for this GPU: rebuild with its architecture in CMAKE_CUDA_ARCHITECTURES";
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
      return "a kernel touched invalid memory (a bug, or a tensor freed while in use): rerun with "
             "CUDA_LAUNCH_BLOCKING=1 or compute-sanitizer to find the kernel";
    default:
      return "rerun with CUDA_LAUNCH_BLOCKING=1 to locate the failing call";
  }
}

struct ThreadContexts {
  std::array<std::unique_ptr<Context>, kMaxDevices> own{};
  std::array<Context*, kMaxDevices> scoped{};
};
ThreadContexts& thread_contexts() {
  thread_local ThreadContexts t;
  return t;
}

std::atomic<bool> g_initialized{false};  // set once by initialize(); CUDA itself keeps the rest
}  // namespace

void check_cuda(cudaError_t e, const char* call, std::source_location where) {
  if (e == cudaSuccess) [[likely]] return;
  cudaGetLastError();  // clear a sticky-less error so later calls are not blamed for it
  throw Error(std::string("CUDA error in ") + call + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")",
              hint_for(e), where);
}

void check_cublas(int status, const char* call, std::source_location where) {
  if (status == CUBLAS_STATUS_SUCCESS) [[likely]] return;
  std::string hint = "check the matrix shapes, dtypes and alignment passed to cuBLASLt";
  if (status == CUBLAS_STATUS_NOT_SUPPORTED)
    hint = "cuBLASLt has no kernel for this dtype/layout combination on this GPU; use f32, bf16 or f16 storage";
  else if (status == CUBLAS_STATUS_ALLOC_FAILED)
    hint = "the GPU is out of memory";
  throw Error(std::string("cuBLAS error in ") + call + ": status " + std::to_string(status), hint, where);
}

void check_launch(const char* kernel, std::source_location where) {
  const cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) [[likely]] return;
  throw Error(std::string("CUDA kernel launch failed: ") + kernel + ": " + cudaGetErrorName(e) + " (" +
                  cudaGetErrorString(e) + ")",
              hint_for(e), where);
}

int initialize() {
  static std::once_flag once;
  static int count = 0;
  std::call_once(once, [] {
    check_cuda(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
    check(count > 0, "no CUDA GPU is visible", "check nvidia-smi and CUDA_VISIBLE_DEVICES");
    check(count <= kMaxDevices, "more than " + std::to_string(kMaxDevices) + " GPUs visible", "set CUDA_VISIBLE_DEVICES");
    Buffer::set_cuda_allocator(
        [](size_t bytes, int device) -> void* {
          DeviceGuard g(device);
          void* p = nullptr;
          const cudaError_t e = cudaMalloc(&p, bytes);
          if (e != cudaSuccess) {
            size_t free_b = 0, total_b = 0;
            cudaGetLastError();
            cudaMemGetInfo(&free_b, &total_b);
            throw Error("cudaMalloc of " + std::to_string(bytes) + " bytes on cuda:" + std::to_string(device) +
                            " failed: " + cudaGetErrorString(e) + " (" + std::to_string(free_b >> 20) + " MiB free of " +
                            std::to_string(total_b >> 20) + " MiB)",
                        hint_for(e));
          }
          return p;
        },
        [](void* p, int device) {
          int prev = -1;
          cudaGetDevice(&prev);
          cudaSetDevice(device);
          const cudaError_t e = cudaFree(p);  // never throws: runs inside ~Buffer
          if (e != cudaSuccess) log::error(std::string("cudaFree failed: ") + cudaGetErrorString(e));
          if (prev >= 0) cudaSetDevice(prev);
        });
    g_initialized.store(true);
  });
  return count;
}

bool initialized() { return g_initialized.load(); }

void require_initialized(const char* op, const Device& dev) {
  if (!initialized())
    fail(std::string(op) + ": tensors on " + dev.str() + " but the CUDA backend was not initialised",
         "call zt::cuda::initialize() (ops/cuda/runtime.hpp) before creating CUDA tensors");
}

DeviceGuard::DeviceGuard(int device) {
  ZT_CUDA(cudaGetDevice(&previous_));
  if (previous_ != device) ZT_CUDA(cudaSetDevice(device));
}

DeviceGuard::~DeviceGuard() {
  int now = -1;
  if (cudaGetDevice(&now) == cudaSuccess && now != previous_ && previous_ >= 0) cudaSetDevice(previous_);
}

Context::Context(int device, cudaStream_t stream) : device_(device) {
  check(device >= 0 && device < kMaxDevices, "cuda::Context: bad device index " + std::to_string(device));
  DeviceGuard g(device);
  ZT_CUDA(cudaGetDeviceProperties(&props_, device));
  if (stream == nullptr) {
    ZT_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    own_stream_ = true;
  } else {
    stream_ = stream;
  }
  workspace_bytes_ = kWorkspaceBytes;
  ZT_CUDA(cudaMalloc(&workspace_, workspace_bytes_));
}

Context::~Context() {
  int prev = -1;
  cudaGetDevice(&prev);
  cudaSetDevice(device_);
  cudaStreamSynchronize(stream_);
  gemm_cache_.reset();
  if (lt_) cublasLtDestroy(lt_);
  cudaFree(workspace_);
  cudaFree(scratch_);
  cudaFreeHost(host_scratch_);
  if (own_stream_) cudaStreamDestroy(stream_);
  if (prev >= 0) cudaSetDevice(prev);
}

cublasLtHandle_t Context::lt() {
  if (!lt_) check_cublas(cublasLtCreate(&lt_), "cublasLtCreate");
  return lt_;
}

void* Context::scratch(size_t bytes) {
  if (bytes <= scratch_bytes_) return scratch_;
  DeviceGuard g(device_);
  const size_t want = std::max(bytes, scratch_bytes_ + scratch_bytes_ / 2);  // amortise repeated growth
  ZT_CUDA(cudaStreamSynchronize(stream_));
  ZT_CUDA(cudaFree(scratch_));
  scratch_ = nullptr;
  scratch_bytes_ = 0;
  ZT_CUDA(cudaMalloc(&scratch_, want));
  scratch_bytes_ = want;
  return scratch_;
}

void* Context::host_scratch(size_t bytes) {
  if (bytes <= host_scratch_bytes_) return host_scratch_;
  ZT_CUDA(cudaStreamSynchronize(stream_));
  ZT_CUDA(cudaFreeHost(host_scratch_));
  host_scratch_ = nullptr;
  host_scratch_bytes_ = 0;
  ZT_CUDA(cudaMallocHost(&host_scratch_, bytes));
  host_scratch_bytes_ = bytes;
  return host_scratch_;
}

void copy_to_host(void* dst, const void* src, size_t bytes, Context& ctx) {
  if (bytes == 0) return;
  ZT_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, ctx.stream()));
  ctx.synchronize();
}

void Context::synchronize() { ZT_CUDA(cudaStreamSynchronize(stream_)); }

Context& current(int device) {
  check(device >= 0 && device < kMaxDevices, "cuda device index " + std::to_string(device) + " out of range");
  ThreadContexts& t = thread_contexts();
  if (Context* c = t.scoped[size_t(device)]) return *c;
  auto& own = t.own[size_t(device)];
  if (!own) own = std::make_unique<Context>(device);
  return *own;
}

ContextScope::ContextScope(Context& ctx) : device_(ctx.device()) {
  ThreadContexts& t = thread_contexts();
  previous_ = t.scoped[size_t(device_)];
  t.scoped[size_t(device_)] = &ctx;
}

ContextScope::~ContextScope() { thread_contexts().scoped[size_t(device_)] = previous_; }

}  // namespace zt::cuda
