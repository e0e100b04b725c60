// The uploader's chunk queue and worker threads, and the CPU backend (memcpy or dtype conversion straight into the
// destination). The GPU backend lives in ops/cuda/transfer.cpp.
#include "ops/transfer.hpp"

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#ifdef ZT_HAVE_CUDA
#include "ops/cuda/transfer.hpp"
#endif

namespace zt::ops {

namespace {

class CpuUploadBackend : public UploadBackend {
 public:
  void run(const UploadChunk& c) override {
    if (c.dst_t == c.src_t) std::memcpy(c.dst, c.src, c.src_bytes());
    else convert(c.dst, c.dst_t, c.src, c.src_t, size_t(c.n));
  }
};

int default_threads() {
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  return int(std::min(8u, hw));
}

}  // namespace

std::unique_ptr<UploadBackend> make_cpu_upload_backend() { return std::make_unique<CpuUploadBackend>(); }

Uploader::Uploader(Device dev, UploadOptions opt) : dev_(dev), opt_(opt) {
  if (opt_.threads <= 0) opt_.threads = default_threads();
  if (opt_.staging_buffers <= 0) opt_.staging_buffers = 2 * opt_.threads + 2;
  check(opt_.chunk_bytes >= 64, "upload chunk of " + std::to_string(opt_.chunk_bytes) + " bytes is too small");
  if (dev.is_cpu()) {
    backend_ = make_cpu_upload_backend();
  } else {
#ifdef ZT_HAVE_CUDA
    backend_ = cuda::make_upload_backend(dev.index, opt_.chunk_bytes, opt_.staging_buffers);
#else
    fail("cannot upload to " + dev.str() + ": this build has no CUDA backend", "build with -DZT_CUDA=ON");
#endif
  }
  for (int i = 0; i < opt_.threads; ++i) threads_.emplace_back([this] { worker(); });
}

Uploader::~Uploader() {
  {
    std::unique_lock lk(mu_);
    idle_cv_.wait(lk, [&] { return in_flight_ == 0; });
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
  try {
    backend_->synchronize();
  } catch (...) {
  }
}

void Uploader::upload(const Tensor& dst, const void* src, DType src_t) {
  check(dst.defined() && dst.is_contiguous(), "upload: the destination must be a defined, contiguous tensor");
  check(dst.device() == dev_, "upload: destination " + dst.str() + " is not on " + dev_.str());
  check(dst.dtype() == src_t || (is_float(dst.dtype()) && is_float(src_t)),
        std::string("upload: cannot convert ") + dtype_name(src_t) + " to " + dst.str(), "only float dtypes convert into each other");
  const int64_t n = dst.numel();
  if (n == 0) return;
  check(src != nullptr, "upload: no source bytes for " + dst.str());
  backend_->begin();  // after whatever this thread queued on the device so far (e.g. a memset of dst)
  begun_ = true;
  const int64_t per = std::max<int64_t>(1, int64_t(opt_.chunk_bytes / std::max(dtype_size(src_t), dtype_size(dst.dtype()))));
  {
    std::lock_guard g(mu_);
    for (int64_t lo = 0; lo < n; lo += per) {
      UploadChunk c;
      c.dst = static_cast<char*>(dst.raw()) + size_t(lo) * dtype_size(dst.dtype());
      c.dst_t = dst.dtype();
      c.src = static_cast<const char*>(src) + size_t(lo) * dtype_size(src_t);
      c.src_t = src_t;
      c.n = std::min(per, n - lo);
      queue_.push_back(c);
      ++in_flight_;
    }
  }
  work_cv_.notify_all();
}

void Uploader::fence() {
  std::exception_ptr err;
  {
    std::unique_lock lk(mu_);
    idle_cv_.wait(lk, [&] { return in_flight_ == 0; });
    err = error_;
    error_ = nullptr;
  }
  if (err) std::rethrow_exception(err);
  if (begun_) backend_->fence();
  begun_ = false;
}

void Uploader::finish() {
  fence();
  backend_->synchronize();
}

void Uploader::worker() {
  std::unique_lock lk(mu_);
  for (;;) {
    work_cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping
    UploadChunk c = queue_.front();
    queue_.pop_front();
    const bool skip = error_ != nullptr;  // after an error the rest of the queue is dropped
    lk.unlock();
    if (!skip) {
      try {
        backend_->run(c);
        bytes_done_.fetch_add(c.src_bytes(), std::memory_order_relaxed);
      } catch (...) {
        std::lock_guard g(mu_);
        if (!error_) error_ = std::current_exception();
      }
    }
    lk.lock();
    if (--in_flight_ == 0) idle_cv_.notify_all();
  }
}

}  // namespace zt::ops
