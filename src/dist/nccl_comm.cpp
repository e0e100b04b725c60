// The NCCL backend of Comm for CUDA tensors: a non-blocking communicator whose collectives run on the Comm's own
// stream, ordered against the caller's compute stream with events; a watchdog aborts it when work stops completing.
#include <cuda_runtime_api.h>
#include <nccl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "core/error.hpp"
#include "core/log.hpp"
#include "dist/backends.hpp"
#include "dist/socket.hpp"
#include "dist/store.hpp"
#include "ops/cuda/caching_allocator.hpp"
#include "ops/cuda/runtime.hpp"

// Copy-engine collectives: the zero-CTA policy and symmetric windows arrived in NCCL 2.27, copy-engine all-gathers
// in 2.28. With an older NCCL, ZEROTUNE_COMM_CE has no effect and every collective runs on SMs.
#define ZT_NCCL_COPY_ENGINE (NCCL_VERSION_CODE >= NCCL_VERSION(2, 28, 0))

namespace zt::dist {

namespace {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

std::string nccl_hint(ncclResult_t r) {
  switch (r) {
    case ncclSystemError:
      return "a system call inside NCCL failed (network or shared memory): rerun with NCCL_DEBUG=INFO; check that "
             "NCCL_SOCKET_IFNAME names the interface that connects the hosts, firewalls between them, and /dev/shm "
             "size in containers (--shm-size / --ipc=host)";
    case ncclRemoteError:
      return "another rank failed or its connection dropped: look for the first error in the other ranks' logs; "
             "NCCL_DEBUG=INFO names the peer";
    case ncclUnhandledCudaError:
      return "a CUDA call inside NCCL failed: check the GPUs with nvidia-smi; NCCL_DEBUG=INFO shows the call";
    case ncclInvalidUsage:
    case ncclInvalidArgument:
      return "the ranks disagree about a collective (order, size or dtype) or a buffer is invalid: rerun with "
             "NCCL_DEBUG=WARN to see which";
    default:
      return "rerun with NCCL_DEBUG=INFO (NCCL_DEBUG_SUBSYS=INIT,NET for start-up) to see why; check NCCL_SOCKET_IFNAME";
  }
}

ncclDataType_t nccl_dtype(DType dt) {
  switch (dt) {
    case DType::f32: return ncclFloat32;
    case DType::bf16: return ncclBfloat16;
    case DType::f16: return ncclFloat16;
    case DType::f64: return ncclFloat64;
    case DType::i32: return ncclInt32;
    case DType::i64: return ncclInt64;
  }
  fail("unknown dtype");
}

ncclRedOp_t nccl_op(ReduceOp op, DType dt) {
  switch (op) {
    case ReduceOp::sum: return ncclSum;
    case ReduceOp::max: return ncclMax;
    case ReduceOp::avg:
      check(is_float(dt), std::string("nccl: avg of an integer tensor (") + dtype_name(dt) + ") is not supported",
            "reduce with sum and divide where the rounding is what you want");
      return ncclAvg;
  }
  fail("unknown reduce op");
}

std::string secs(milliseconds t) { return std::to_string(t.count() / 1000) + " s"; }

class NcclComm final : public Comm {
 public:
  NcclComm(TcpStore& store, const BackendOptions& o, std::shared_ptr<void> keep_alive)
      : rank_(o.rank),
        size_(o.size),
        device_(o.cuda_device),
        max_ctas_(o.max_ctas),
        copy_engine_(o.copy_engine && ZT_NCCL_COPY_ENGINE),
        trace_(o.trace),
        timeout_(o.timeout),
        keep_alive_(std::move(keep_alive)) {
    who_ = "rank " + std::to_string(rank_) + " (GPU " + std::to_string(device_) + " on host " + hostname() + ")";
    try {
      init(store, o);
    } catch (...) {
      if (comm_) ncclCommAbort(comm_);
      comm_ = nullptr;
      release_cuda();
      throw;
    }
    watchdog_ = std::thread([this] { watch(); });
  }

  void init(TcpStore& store, const BackendOptions& o) {
    cuda::DeviceGuard guard(device_);
    ncclUniqueId id;
    const std::string key = o.key_prefix + "unique_id";
    if (rank_ == 0) {
      ncclResult_t r = ncclGetUniqueId(&id);
      if (r != ncclSuccess)
        fail(who_ + ": ncclGetUniqueId failed: " + ncclGetErrorString(r), nccl_hint(r));
      store.set(key, std::string(id.internal, sizeof id.internal));
    } else {
      std::string bytes = store.get(key, timeout_);
      check(bytes.size() == sizeof id.internal, who_ + ": the NCCL id from rank 0 has " + std::to_string(bytes.size()) +
                                                    " bytes, expected " + std::to_string(sizeof id.internal),
            "every node must run the same zerotune build and NCCL version");
      std::memcpy(id.internal, bytes.data(), sizeof id.internal);
    }
    // The highest priority: a gather issued beside compute gets its SMs as soon as any free up, instead of queueing
    // behind the compute kernels' waiting blocks (which left ZeRO-3's prefetch no overlap at all).
    int least = 0, greatest = 0;
    ZT_CUDA(cudaDeviceGetStreamPriorityRange(&least, &greatest));
    ZT_CUDA(cudaStreamCreateWithPriority(&stream_, cudaStreamNonBlocking, greatest));
    ZT_CUDA(cudaEventCreateWithFlags(&compute_event_, cudaEventDisableTiming));
    ZT_CUDA(cudaEventCreateWithFlags(&comm_event_, cudaEventDisableTiming));
    ZT_CUDA(cudaMalloc(&barrier_buf_, sizeof(float)));

    // Non-blocking: start-up and every call return at once and are polled, so a missing peer ends in a timeout
    // and ncclCommAbort instead of a hang.
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    if (o.max_ctas > 0) {
      config.maxCTAs = o.max_ctas;
      config.minCTAs = std::min(o.max_ctas, 4);
    }
    // Zero CTAs: gathers between registered buffers go to the copy engines and leave every SM to compute.
#if ZT_NCCL_COPY_ENGINE
    if (o.copy_engine) config.CTAPolicy = NCCL_CTA_POLICY_ZERO;
#endif
    ncclResult_t r = ncclCommInitRankConfig(&comm_, size_, id, rank_, &config);
    if (r == ncclInProgress || r == ncclSuccess) r = poll_ready(Clock::now() + timeout_);
    if (r != ncclSuccess) {
      std::string detail = last_error(r);
      if (r == ncclInProgress)
        fail(who_ + ": NCCL could not connect the " + std::to_string(size_) + " ranks within " + secs(timeout_),
             "a rank did not start NCCL or the hosts cannot reach each other: rerun with NCCL_DEBUG=INFO; check "
             "NCCL_SOCKET_IFNAME and firewalls; ZEROTUNE_COMM_TIMEOUT sets the wait");
      fail(who_ + ": NCCL could not set up the communicator: " + detail, nccl_hint(r));
    }
  }

  ~NcclComm() override {
    if (trace_) {
      try {
        report_trace();
      } catch (...) {
      }
    }
    {
      std::lock_guard<std::mutex> lk(watch_mu_);
      stopping_ = true;
    }
    watch_cv_.notify_all();
    if (watchdog_.joinable()) watchdog_.join();
    try {
      cuda::DeviceGuard guard(device_);
      std::lock_guard<std::mutex> lk(mu_);
      if (comm_) {
        // Let issued work finish (bounded), then finalize; anything that does not complete in time is aborted.
        const auto deadline = Clock::now() + std::min(timeout_, milliseconds(60s));
        bool drained = false;
        for (;;) {
          cudaError_t q = cudaStreamQuery(stream_);
          if (q == cudaSuccess) {
            drained = true;
            break;
          }
          ncclResult_t st = ncclSuccess;
          ncclCommGetAsyncError(comm_, &st);
          if ((q != cudaErrorNotReady) || (st != ncclSuccess && st != ncclInProgress) || Clock::now() > deadline) break;
          std::this_thread::sleep_for(1ms);
        }
        bool clean = false;
        if (drained) {
          ncclResult_t fr = ncclCommFinalize(comm_);
          clean = (fr == ncclSuccess || fr == ncclInProgress) && poll_ready(deadline) == ncclSuccess;
        }
        if (clean) ncclCommDestroy(comm_);
        else ncclCommAbort(comm_);
        comm_ = nullptr;
      }
    } catch (...) {
      if (comm_) ncclCommAbort(comm_);
      comm_ = nullptr;
    }
    release_cuda();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* backend() const override { return "nccl"; }
  int reserved_sms() const override { return max_ctas_; }
  bool copy_engine() const override { return copy_engine_; }

  // ncclMemAlloc'd memory registered as a symmetric window (a collective call). Any failure on the way falls back to
  // an ordinary allocation with a warning, unless the registration itself timed out (then the communicator aborts).
  Tensor collective_buffer(int64_t numel, DType dt) override {
#if !ZT_NCCL_COPY_ENGINE
    return Tensor();
  }
#else
    if (!copy_engine_ || numel <= 0) return Tensor();
    cuda::DeviceGuard guard(device_);
    const size_t bytes = (size_t(numel) * dtype_size(dt) + NCCL_WIN_REQUIRED_ALIGNMENT - 1) / NCCL_WIN_REQUIRED_ALIGNMENT *
                         NCCL_WIN_REQUIRED_ALIGNMENT;
    void* p = nullptr;
    ncclResult_t r = ncclMemAlloc(&p, bytes);
    if (r != ncclSuccess) {
      log::warn("nccl: " + who_ + ": ncclMemAlloc of " + std::to_string(bytes >> 20) + " MiB failed (" + last_error(r) +
                "); gathers into this buffer use SMs");
      return Tensor();
    }
    ncclWindow_t win = nullptr;
    {
      std::lock_guard<std::mutex> lk(mu_);
      throw_if_failed("window registration");
      r = ncclCommWindowRegister(comm_, p, bytes, &win, NCCL_WIN_COLL_SYMMETRIC);
      if (r == ncclInProgress || r == ncclSuccess) r = poll_ready(Clock::now() + timeout_);
      if (r == ncclInProgress) abort_locked("registering a gather buffer did not finish within " + secs(timeout_),
                                            "a peer stopped responding: see the other ranks' logs");
    }
    if (r != ncclSuccess || !win) {
      ncclMemFree(p);
      throw_if_failed("window registration");
      log::warn("nccl: " + who_ + ": registering a gather buffer failed (" + last_error(r) +
                "); its gathers use SMs. NCCL_DEBUG=INFO says why");
      return Tensor();
    }
    ZT_CUDA(cudaMemset(p, 0, bytes));
    registered_.push_back({p, bytes});
    cuda::count_external_bytes(std::ptrdiff_t(bytes));
    // The memory is freed with the communicator (its windows go with it): the Comm outlives its users.
    return Tensor::view_of(Buffer::wrap(p, bytes, Device::CUDA(device_), nullptr), 0, {numel}, dt);
  }
#endif

  void all_gather(Tensor out, const Tensor& in) override {
    expect_here(out, "all_gather out");
    expect_here(in, "all_gather in");
    check(out.dtype() == in.dtype(), "nccl all_gather: out and in differ in dtype");
    check(out.numel() == in.numel() * size_, "nccl all_gather: out has " + std::to_string(out.numel()) +
                                                 " elements, expected size() * in.numel() = " +
                                                 std::to_string(in.numel() * size_));
    if (in.numel() == 0) return;
    const void* send = in.raw();  // NCCL gathers in place when send is out's slice [rank * n, (rank + 1) * n)
    void* recv = out.raw();
    const size_t bytes = in.nbytes();
    enqueue("all_gather", [&](ncclComm_t c) { return ncclAllGather(send, recv, bytes, ncclUint8, c, stream_); },
            bytes * size_t(size_));
  }

  void reduce_scatter(Tensor out, const Tensor& in, ReduceOp op) override {
    expect_here(out, "reduce_scatter out");
    expect_here(in, "reduce_scatter in");
    check(out.dtype() == in.dtype(), "nccl reduce_scatter: out and in differ in dtype");
    check(in.numel() % size_ == 0 && out.numel() == in.numel() / size_,
          "nccl reduce_scatter: in has " + std::to_string(in.numel()) + " elements and out " +
              std::to_string(out.numel()) + "; expected in = size() * out with size() = " + std::to_string(size_));
    if (out.numel() == 0) return;
    ncclRedOp_t rop = nccl_op(op, in.dtype());
    ncclDataType_t dt = nccl_dtype(in.dtype());
    enqueue("reduce_scatter", [&](ncclComm_t c) {
      return ncclReduceScatter(in.raw(), out.raw(), size_t(out.numel()), dt, rop, c, stream_);
    });
  }

  void all_reduce(Tensor t, ReduceOp op) override {
    expect_here(t, "all_reduce tensor");
    if (t.numel() == 0) return;
    ncclRedOp_t rop = nccl_op(op, t.dtype());
    ncclDataType_t dt = nccl_dtype(t.dtype());
    enqueue("all_reduce", [&](ncclComm_t c) {
      return ncclAllReduce(t.raw(), t.raw(), size_t(t.numel()), dt, rop, c, stream_);
    });
  }

  void broadcast(Tensor t, int root) override {
    expect_here(t, "broadcast tensor");
    check(root >= 0 && root < size_, "nccl broadcast: root " + std::to_string(root) + " is not a rank of this job");
    if (t.numel() == 0) return;
    enqueue("broadcast", [&](ncclComm_t c) {
      return ncclBroadcast(t.raw(), t.raw(), t.nbytes(), ncclUint8, root, c, stream_);
    });
  }

  // A one-element all-reduce, then the host waits for it (polling for NCCL errors; aborting after the timeout).
  void barrier() override {
    enqueue("barrier", [&](ncclComm_t c) {
      return ncclAllReduce(barrier_buf_, barrier_buf_, 1, ncclFloat32, ncclSum, c, stream_);
    });
    cudaEvent_t done = pending_back();
    const auto deadline = Clock::now() + timeout_;
    for (auto sleep = 10us;; sleep = std::min<std::chrono::microseconds>(sleep * 2, 2ms)) {
      cudaError_t q = cudaEventQuery(done);
      if (q == cudaSuccess) return;
      if (q != cudaErrorNotReady) ZT_CUDA(q);
      {
        std::lock_guard<std::mutex> lk(mu_);
        throw_if_failed("barrier");
        ncclResult_t st = ncclSuccess;
        ncclCommGetAsyncError(comm_, &st);
        if (st != ncclSuccess && st != ncclInProgress) abort_locked("barrier: " + last_error(st), nccl_hint(st));
        if (Clock::now() > deadline)
          abort_locked("barrier did not complete within " + secs(timeout_),
                       "a rank stopped calling collectives or died: see the other ranks' logs");
        throw_if_failed("barrier");
      }
      std::this_thread::sleep_for(sleep);
    }
  }

  void wait_for_compute() override {
    cuda::DeviceGuard guard(device_);
    ZT_CUDA(cudaEventRecord(compute_event_, cuda::current(device_).stream()));
    ZT_CUDA(cudaStreamWaitEvent(stream_, compute_event_, 0));
  }

  void compute_waits() override {
    cuda::DeviceGuard guard(device_);
    ZT_CUDA(cudaEventRecord(comm_event_, stream_));
    ZT_CUDA(cudaStreamWaitEvent(cuda::current(device_).stream(), comm_event_, 0));
  }

  // Tickets: an event recorded on the comm stream per ticket, in a ring. A ticket older than the ring's length has had
  // its event recorded again later, so waiting on it waits longer than needed, never shorter.
  uint64_t ticket() override {
    cuda::DeviceGuard guard(device_);
    if (ticket_events_.empty()) {
      ticket_events_.resize(kTicketRing);
      for (auto& e : ticket_events_) ZT_CUDA(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    }
    const uint64_t t = ++tickets_;
    ZT_CUDA(cudaEventRecord(ticket_events_[t % kTicketRing], stream_));
    return t;
  }

  void compute_waits_for(uint64_t t) override {
    if (t == 0 || ticket_events_.empty()) return compute_waits();
    cuda::DeviceGuard guard(device_);
    cudaStream_t compute = cuda::current(device_).stream();
    cudaEvent_t before = trace_ ? trace_event(compute) : nullptr;
    ZT_CUDA(cudaStreamWaitEvent(compute, ticket_events_[t % kTicketRing], 0));
    if (trace_) add_span(waits_, before, trace_event(compute), 0);
  }

 private:
  struct Pending {
    cudaEvent_t event;
    Clock::time_point issued;
    const char* op;
  };

  void expect_here(const Tensor& t, const char* what) const {
    check(t.defined(), std::string("nccl ") + what + " is undefined");
    check(t.device() == Device::CUDA(device_), std::string("nccl ") + what + " is on " + t.device().str() +
                                                    ", the communicator on cuda:" + std::to_string(device_));
    check(t.is_contiguous(), std::string("nccl ") + what + " is not contiguous");
  }

  std::string last_error(ncclResult_t r) const {
    std::string s = ncclGetErrorString(r);
    const char* last = comm_ ? ncclGetLastError(comm_) : ncclGetLastError(nullptr);
    if (last && *last) s += std::string(" (") + last + ")";
    return s;
  }

  // Polls a non-blocking communicator until its last call finished; ncclInProgress means the deadline passed.
  // The first 200 us spin (a collective is usually issued within microseconds, and the host thread must get back to
  // queueing compute work); after that the sleeps double up to 1 ms.
  ncclResult_t poll_ready(Clock::time_point deadline) {
    const auto spin_until = Clock::now() + 200us;
    for (auto sleep = 10us;;) {
      ncclResult_t st = ncclInProgress;
      ncclResult_t r = ncclCommGetAsyncError(comm_, &st);
      if (r != ncclSuccess) return r;
      if (st != ncclInProgress) return st;
      const auto now = Clock::now();
      if (now > deadline) return ncclInProgress;
      if (now < spin_until) {
        std::this_thread::yield();
        continue;
      }
      std::this_thread::sleep_for(sleep);
      sleep = std::min<std::chrono::microseconds>(sleep * 2, 1ms);
    }
  }

  // Aborts the communicator (mu_ held): kernels stop, every later call fails with `what`.
  void abort_locked(const std::string& what, const std::string& hint) {
    if (failed_.empty()) {
      failed_ = what;
      failed_hint_ = hint;
      log::error("nccl: " + who_ + ": " + what + "; aborting the communicator");
    }
    if (comm_) {
      ncclCommAbort(comm_);
      comm_ = nullptr;
    }
  }

  void throw_if_failed(const char* op) {
    if (!failed_.empty()) fail("nccl " + std::string(op) + " on " + who_ + ": " + failed_, failed_hint_);
  }

  template <class F>
  void enqueue(const char* op, F&& call, size_t bytes = 0) {
    cuda::DeviceGuard guard(device_);
    std::lock_guard<std::mutex> lk(mu_);
    throw_if_failed(op);
    cudaEvent_t before = trace_ ? trace_event(stream_) : nullptr;
    ncclResult_t r = call(comm_);
    if (r == ncclInProgress || r == ncclSuccess) r = poll_ready(Clock::now() + timeout_);
    if (r == ncclInProgress) abort_locked(std::string(op) + " could not be issued within " + secs(timeout_),
                                          "a peer stopped responding: see the other ranks' logs");
    else if (r != ncclSuccess) abort_locked(std::string(op) + " failed: " + last_error(r), nccl_hint(r));
    throw_if_failed(op);
    if (trace_) add_span(std::strcmp(op, "all_gather") == 0 ? gathers_ : others_, before, trace_event(stream_), bytes);
    cudaEvent_t ev = take_event();
    ZT_CUDA(cudaEventRecord(ev, stream_));
    std::lock_guard<std::mutex> plk(pending_mu_);
    pending_.push_back({ev, Clock::now(), op});
  }

  cudaEvent_t pending_back() {
    std::lock_guard<std::mutex> plk(pending_mu_);
    return pending_.back().event;
  }

  cudaEvent_t take_event() {
    {
      std::lock_guard<std::mutex> plk(pending_mu_);
      if (!free_events_.empty()) {
        cudaEvent_t e = free_events_.back();
        free_events_.pop_back();
        return e;
      }
    }
    cudaEvent_t e;
    ZT_CUDA(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    return e;
  }

  // Watchdog: retires completed collectives; aborts on an asynchronous NCCL error or when the oldest unfinished
  // collective is older than the timeout (a peer died or hangs), so blocked streams are released.
  void watch() {
    cudaSetDevice(device_);
    std::unique_lock<std::mutex> wl(watch_mu_);
    while (!watch_cv_.wait_for(wl, 200ms, [&] { return stopping_; })) {
      std::string stalled;
      {
        std::lock_guard<std::mutex> plk(pending_mu_);
        while (!pending_.empty()) {
          // The barrier's event is polled by the caller; it stays valid until retired here after completion.
          cudaError_t q = cudaEventQuery(pending_.front().event);
          if (q == cudaErrorNotReady) {
            if (Clock::now() - pending_.front().issued > timeout_)
              stalled = std::string(pending_.front().op) + " has not completed within " + secs(timeout_);
            break;
          }
          free_events_.push_back(pending_.front().event);
          pending_.pop_front();
        }
      }
      std::lock_guard<std::mutex> lk(mu_);
      if (!comm_) continue;
      ncclResult_t st = ncclSuccess;
      ncclCommGetAsyncError(comm_, &st);
      if (st != ncclSuccess && st != ncclInProgress) abort_locked("asynchronous NCCL error: " + last_error(st), nccl_hint(st));
      else if (!stalled.empty())
        abort_locked(stalled, "a rank stopped calling collectives or died: see the other ranks' logs; "
                              "ZEROTUNE_COMM_TIMEOUT sets the limit");
    }
  }

  void release_cuda() {
    cudaSetDevice(device_);
    if (stream_) cudaStreamSynchronize(stream_);
    for (auto& p : pending_) cudaEventDestroy(p.event);
    pending_.clear();
    for (auto e : free_events_) cudaEventDestroy(e);
    free_events_.clear();
    if (compute_event_) cudaEventDestroy(compute_event_);
    if (comm_event_) cudaEventDestroy(comm_event_);
    for (auto e : ticket_events_) cudaEventDestroy(e);
    if (barrier_buf_) cudaFree(barrier_buf_);
    for (const Registered& m : registered_) {  // the communicator (and with it the windows) is gone by now
#if ZT_NCCL_COPY_ENGINE
      ncclMemFree(m.ptr);
#endif
      cuda::count_external_bytes(-std::ptrdiff_t(m.bytes));
    }
    registered_.clear();
    if (stream_) cudaStreamDestroy(stream_);
    compute_event_ = comm_event_ = nullptr;
    barrier_buf_ = nullptr;
    stream_ = nullptr;
  }

  // ZEROTUNE_COMM_TRACE: pairs of timing events around compute's waits for collectives (on the compute stream) and
  // around each collective (on the comm stream). Folded into totals every 512 spans, reported when the Comm ends.
  struct Span {
    cudaEvent_t from, to;
    size_t bytes;
  };
  struct Totals {
    int64_t count = 0;
    double ms = 0, max_ms = 0, bytes = 0;
  };
  cudaEvent_t trace_event(cudaStream_t s) {
    cudaEvent_t e = nullptr;
    {
      std::lock_guard<std::mutex> lk(trace_mu_);
      if (!trace_free_.empty()) {
        e = trace_free_.back();
        trace_free_.pop_back();
      }
    }
    if (!e) ZT_CUDA(cudaEventCreate(&e));
    ZT_CUDA(cudaEventRecord(e, s));
    return e;
  }
  void add_span(std::vector<Span>& v, cudaEvent_t from, cudaEvent_t to, size_t bytes) {
    std::lock_guard<std::mutex> lk(trace_mu_);
    v.push_back({from, to, bytes});
    if (waits_.size() + gathers_.size() + others_.size() >= 512) fold_locked();
  }
  void fold_locked() {
    auto fold = [&](std::vector<Span>& v, Totals& t) {
      for (const Span& sp : v) {
        float ms = 0;
        if (cudaEventSynchronize(sp.to) == cudaSuccess && cudaEventElapsedTime(&ms, sp.from, sp.to) == cudaSuccess) {
          ++t.count;
          t.ms += ms;
          t.max_ms = std::max(t.max_ms, double(ms));
          t.bytes += double(sp.bytes);
        }
        trace_free_.push_back(sp.from);
        trace_free_.push_back(sp.to);
      }
      v.clear();
    };
    fold(waits_, wait_totals_);
    fold(gathers_, gather_totals_);
    fold(others_, other_totals_);
  }
  void restart_trace() override {
    if (!trace_) return;
    cuda::DeviceGuard guard(device_);
    std::lock_guard<std::mutex> lk(trace_mu_);
    fold_locked();
    wait_totals_ = gather_totals_ = other_totals_ = Totals{};
  }
  void report_trace() {
    cuda::DeviceGuard guard(device_);
    std::lock_guard<std::mutex> lk(trace_mu_);
    fold_locked();
    auto line = [](const char* what, const Totals& t, bool rate) {
      char s[256];
      std::snprintf(s, sizeof s, "%s: %lld, %.1f ms in all, mean %.3f ms, max %.3f ms", what, (long long)t.count, t.ms,
                    t.count ? t.ms / double(t.count) : 0.0, t.max_ms);
      std::string r = s;
      if (rate && t.ms > 0) {
        std::snprintf(s, sizeof s, ", %.2f GiB gathered at %.0f GB/s", t.bytes / 1073741824.0, t.bytes / (t.ms * 1e6));
        r += s;
      }
      return r;
    };
    log::info("comm trace " + who_ + (copy_engine_ ? " [copy engines]" : "") + ": " +
              line("compute waits for collectives", wait_totals_, false) + "; " + line("all_gathers", gather_totals_, true) +
              "; " + line("other collectives", other_totals_, false));
    for (cudaEvent_t e : trace_free_) cudaEventDestroy(e);
    trace_free_.clear();
  }

  int rank_, size_, device_;
  int max_ctas_;
  bool copy_engine_, trace_;
  struct Registered {
    void* ptr;
    size_t bytes;
  };
  std::vector<Registered> registered_;
  std::mutex trace_mu_;
  std::vector<Span> waits_, gathers_, others_;
  std::vector<cudaEvent_t> trace_free_;
  Totals wait_totals_, gather_totals_, other_totals_;
  milliseconds timeout_;
  std::shared_ptr<void> keep_alive_;
  std::string who_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t compute_event_ = nullptr, comm_event_ = nullptr;
  static constexpr size_t kTicketRing = 64;
  std::vector<cudaEvent_t> ticket_events_;
  uint64_t tickets_ = 0;
  void* barrier_buf_ = nullptr;

  std::mutex mu_;  // every NCCL call on comm_ and failed_
  std::string failed_, failed_hint_;

  std::mutex pending_mu_;
  std::deque<Pending> pending_;
  std::vector<cudaEvent_t> free_events_;

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stopping_ = false;
  std::thread watchdog_;
};

}  // namespace

std::unique_ptr<Comm> make_nccl_comm(TcpStore& store, const BackendOptions& opts, std::shared_ptr<void> keep_alive) {
  return std::make_unique<NcclComm>(store, opts, std::move(keep_alive));
}

}  // namespace zt::dist
