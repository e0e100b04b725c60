// The Gloo backend of Comm for CPU tensors: a TCP transport on the interface that reaches the master, Gloo's
// rendezvous over our store, every collective bounded by ZEROTUNE_COMM_TIMEOUT; a failed collective poisons the Comm.
#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/store.h>
#include <gloo/transport/tcp/device.h>
#include <gloo/transport/unbound_buffer.h>
#include <gloo/types.h>

#include <signal.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"
#include "dist/backends.hpp"
#include "dist/socket.hpp"
#include "dist/store.hpp"

namespace zt::dist {

namespace {

using std::chrono::milliseconds;
constexpr uint8_t kReduceScatterSlotPrefix = 0x7a;  // Gloo's own collectives use prefixes 0x01..0x08

// gloo::rendezvous::Store over our authenticated store; every key is prefixed with the communicator's namespace.
class StoreAdapter : public gloo::rendezvous::Store {
 public:
  StoreAdapter(TcpStore& store, std::string prefix, milliseconds timeout)
      : store_(store), prefix_(std::move(prefix)), timeout_(timeout) {}
  void set(const std::string& key, const std::vector<char>& data) override {
    store_.set(prefix_ + key, std::string(data.begin(), data.end()));
  }
  std::vector<char> get(const std::string& key) override {
    std::string v = store_.get(prefix_ + key, timeout_);
    return std::vector<char>(v.begin(), v.end());
  }
  void wait(const std::vector<std::string>& keys) override { wait(keys, timeout_); }
  void wait(const std::vector<std::string>& keys, const milliseconds& timeout) override {
    std::vector<std::string> full;
    full.reserve(keys.size());
    for (const auto& k : keys) full.push_back(prefix_ + k);
    store_.wait(full, timeout.count() > 0 ? timeout : timeout_);
  }

 private:
  TcpStore& store_;
  std::string prefix_;
  milliseconds timeout_;
};

// Gloo's TCP transport writes without MSG_NOSIGNAL: a peer that died would end this process with SIGPIPE instead
// of an error the other ranks can report. Ignore SIGPIPE unless the program installed its own handler (every
// socket write then fails with EPIPE, which Gloo and the store turn into errors).
void ignore_sigpipe() {
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL && !(current.sa_flags & SA_SIGINFO)) {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, nullptr);
  }
}

std::string seconds(milliseconds t) { return std::to_string(t.count() / 1000) + " s"; }

template <class T>
void reduce_into(T* acc, const T* in, size_t n, ReduceOp op) {
  if (op == ReduceOp::max) {
    for (size_t i = 0; i < n; ++i) acc[i] = std::max(acc[i], in[i]);
  } else {
    for (size_t i = 0; i < n; ++i) acc[i] += in[i];
  }
}

template <class T>
void divide(T* p, size_t n, int by) {
  for (size_t i = 0; i < n; ++i) p[i] /= T(by);
}

// Calls f with a typed null pointer for the dtype of a reduction (f32, f64, i32, i64).
template <class F>
void dispatch_reduce_dtype(DType dt, const char* op, F&& f) {
  switch (dt) {
    case DType::f32: return f(static_cast<float*>(nullptr));
    case DType::f64: return f(static_cast<double*>(nullptr));
    case DType::i32: return f(static_cast<int32_t*>(nullptr));
    case DType::i64: return f(static_cast<int64_t*>(nullptr));
    default:
      fail(std::string("gloo ") + op + ": reductions of " + dtype_name(dt) + " tensors are not supported on the CPU",
           "the CPU backend reduces f32, f64, i32 and i64; keep CPU tensors in f32");
  }
}

bool overlaps(const Tensor& a, const Tensor& b) {
  auto pa = static_cast<const char*>(a.raw()), pb = static_cast<const char*>(b.raw());
  return pa < pb + b.nbytes() && pb < pa + a.nbytes();
}

class GlooComm final : public Comm {
 public:
  GlooComm(TcpStore& store, const BackendOptions& o, std::shared_ptr<void> keep_alive)
      : rank_(o.rank), size_(o.size), timeout_(o.timeout), keep_alive_(std::move(keep_alive)) {
    ignore_sigpipe();
    gloo::transport::tcp::attr attr;
    std::string where;
    if (!o.gloo_ifname.empty()) {
      attr.iface = o.gloo_ifname;
      where = "interface " + o.gloo_ifname + " (GLOO_SOCKET_IFNAME)";
    } else {
      attr.hostname = is_loopback_host(o.master_addr) ? (o.master_addr == "::1" ? "::1" : "127.0.0.1")
                                                      : local_address_towards(o.master_addr, o.master_port);
      where = attr.hostname + " (the address that routes to MASTER_ADDR " + o.master_addr + ")";
    }
    try {
      device_ = gloo::transport::tcp::CreateDevice(attr);
    } catch (const std::exception& e) {
      fail("rank " + std::to_string(rank_) + ": Gloo cannot open a TCP device on " + where + ": " + e.what(),
           o.gloo_ifname.empty() ? "set GLOO_SOCKET_IFNAME to the interface that connects the hosts (ip -br addr)"
                                 : "GLOO_SOCKET_IFNAME must name an interface of this host with an address (ip -br addr)");
    }
    adapter_ = std::make_unique<StoreAdapter>(store, o.key_prefix, timeout_);
    context_ = std::make_shared<gloo::rendezvous::Context>(rank_, size_);
    context_->setTimeout(timeout_);
    try {
      context_->connectFullMesh(*adapter_, device_);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      fail("rank " + std::to_string(rank_) + ": Gloo could not connect to the other ranks from " + where + ": " + e.what(),
           "the ranks must reach each other on this address: check firewalls between the hosts and GLOO_SOCKET_IFNAME");
    }
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* backend() const override { return "gloo"; }

  void all_gather(Tensor out, const Tensor& in) override {
    expect_cpu(out, "all_gather out");
    expect_cpu(in, "all_gather in");
    check(out.dtype() == in.dtype(), std::string("gloo all_gather: out is ") + dtype_name(out.dtype()) + ", in is " +
                                         dtype_name(in.dtype()));
    check(out.numel() == in.numel() * size_, "gloo all_gather: out has " + std::to_string(out.numel()) +
                                                 " elements, expected size() * in.numel() = " +
                                                 std::to_string(in.numel() * size_));
    if (in.numel() == 0) return;
    const size_t chunk = in.nbytes();
    char* base = static_cast<char*>(out.raw());
    const bool in_place = in.raw() == base + size_t(rank_) * chunk;
    check(in_place || !overlaps(out, in), "gloo all_gather: in overlaps out without being this rank's slice of it");
    run("all_gather", in, [&] {
      gloo::AllgatherOptions opts(context_);
      opts.setOutput<uint8_t>(reinterpret_cast<uint8_t*>(base), out.nbytes());
      if (!in_place) opts.setInput<uint8_t>(static_cast<uint8_t*>(in.raw()), chunk);
      opts.setTimeout(timeout_);
      gloo::allgather(opts);
    });
  }

  void reduce_scatter(Tensor out, const Tensor& in, ReduceOp op) override {
    expect_cpu(out, "reduce_scatter out");
    expect_cpu(in, "reduce_scatter in");
    check(out.dtype() == in.dtype(), "gloo reduce_scatter: out and in differ in dtype");
    check(in.numel() % size_ == 0, "gloo reduce_scatter: in has " + std::to_string(in.numel()) +
                                       " elements, not a multiple of the world size " + std::to_string(size_));
    check(out.numel() == in.numel() / size_, "gloo reduce_scatter: out has " + std::to_string(out.numel()) +
                                                 " elements, expected " + std::to_string(in.numel() / size_));
    check(!overlaps(out, in), "gloo reduce_scatter: out overlaps in");
    if (out.numel() == 0) return;
    dispatch_reduce_dtype(in.dtype(), "reduce_scatter", [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      check_avg<T>(op, "reduce_scatter");
      const size_t n = size_t(out.numel());
      // Ring: at step s this rank sends its partial sum of chunk (r-s-1) to the right and folds the left
      // neighbour's partial sum of chunk (r-s-2) into its own; after size-1 steps chunk r is complete.
      std::vector<T> work(in.data<T>(), in.data<T>() + in.numel());  // (size, n)
      std::vector<T> recv(n);
      run("reduce_scatter", in, [&] {
        auto send_buf = context_->createUnboundBuffer(work.data(), work.size() * sizeof(T));
        auto recv_buf = context_->createUnboundBuffer(recv.data(), n * sizeof(T));
        const int right = (rank_ + 1) % size_, left = (rank_ + size_ - 1) % size_;
        for (int s = 0; s < size_ - 1; ++s) {
          const int send_chunk = ((rank_ - s - 1) % size_ + size_) % size_;
          const int recv_chunk = ((rank_ - s - 2) % size_ + size_) % size_;
          const uint64_t slot = gloo::Slot::build(kReduceScatterSlotPrefix, uint32_t(s));
          send_buf->send(right, slot, size_t(send_chunk) * n * sizeof(T), n * sizeof(T));
          recv_buf->recv(left, slot, 0, n * sizeof(T));
          if (!recv_buf->waitRecv(timeout_)) fail("receive aborted");
          reduce_into(work.data() + size_t(recv_chunk) * n, recv.data(), n, op);
          if (!send_buf->waitSend(timeout_)) fail("send aborted");
        }
      });
      T* o = out.data<T>();
      std::memcpy(o, work.data() + size_t(rank_) * n, n * sizeof(T));
      if (op == ReduceOp::avg) divide(o, n, size_);
    });
  }

  void all_reduce(Tensor t, ReduceOp op) override {
    expect_cpu(t, "all_reduce tensor");
    if (t.numel() == 0) return;
    dispatch_reduce_dtype(t.dtype(), "all_reduce", [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      check_avg<T>(op, "all_reduce");
      T* p = t.data<T>();
      const size_t n = size_t(t.numel());
      run("all_reduce", t, [&] {
        gloo::AllreduceOptions opts(context_);
        opts.setOutput<T>(p, n);
        opts.setReduceFunction([op](void* c, const void* a, const void* b, size_t k) {
          T* out = static_cast<T*>(c);
          const T* x = static_cast<const T*>(a);
          const T* y = static_cast<const T*>(b);
          if (op == ReduceOp::max)
            for (size_t i = 0; i < k; ++i) out[i] = std::max(x[i], y[i]);
          else
            for (size_t i = 0; i < k; ++i) out[i] = x[i] + y[i];
        });
        opts.setTimeout(timeout_);
        gloo::allreduce(opts);
      });
      if (op == ReduceOp::avg) divide(p, n, size_);
    });
  }

  void broadcast(Tensor t, int root) override {
    expect_cpu(t, "broadcast tensor");
    check(root >= 0 && root < size_, "gloo broadcast: root " + std::to_string(root) + " is not a rank of this job (0.." +
                                         std::to_string(size_ - 1) + ")");
    if (t.numel() == 0) return;
    run("broadcast", t, [&] {
      gloo::BroadcastOptions opts(context_);
      opts.setOutput<uint8_t>(static_cast<uint8_t*>(t.raw()), t.nbytes());
      opts.setRoot(root);
      opts.setTimeout(timeout_);
      gloo::broadcast(opts);
    });
  }

  void barrier() override {
    run("barrier", Tensor(), [&] {
      gloo::BarrierOptions opts(context_);
      opts.setTimeout(timeout_);
      gloo::barrier(opts);
    });
  }

 private:
  void expect_cpu(const Tensor& t, const char* what) const {
    check(t.defined(), std::string("gloo ") + what + " is undefined");
    check(t.device().is_cpu(), std::string("gloo ") + what + " is on " + t.device().str() +
                                   ": the Gloo backend moves CPU tensors", "use the NCCL Comm for CUDA tensors");
    check(t.is_contiguous(), std::string("gloo ") + what + " is not contiguous");
  }

  template <class T>
  void check_avg(ReduceOp op, const char* what) const {
    if constexpr (std::is_integral_v<T>)
      check(op != ReduceOp::avg, std::string("gloo ") + what + ": avg of an integer tensor is not supported",
            "reduce with sum and divide where the rounding is what you want");
  }

  // Runs one collective; any failure becomes a zt::Error and leaves the Comm unusable (a Gloo context that failed
  // mid-collective has lost its peers' step).
  template <class F>
  void run(const char* op, const Tensor& t, F&& f) {
    const std::string what = std::string("gloo ") + op +
                             (t.defined() ? " (" + std::string(dtype_name(t.dtype())) + ", " +
                                                std::to_string(t.numel()) + " elements)"
                                          : std::string()) +
                             " on rank " + std::to_string(rank_) + " of " + std::to_string(size_);
    if (!failed_.empty())
      fail(what + ": the communicator failed earlier (" + failed_ + ")", "restart the job; see the first error");
    try {
      f();
    } catch (const std::exception& e) {
      failed_ = e.what();
      fail(what + " failed: " + e.what(),
           "another rank exited or stopped responding: look for the first error in the other ranks' logs; a "
           "collective waits at most ZEROTUNE_COMM_TIMEOUT (" + seconds(timeout_) + ")");
    }
  }

  int rank_, size_;
  milliseconds timeout_;
  std::shared_ptr<void> keep_alive_;  // the store (and rank 0's server): destroyed after the context below
  std::unique_ptr<StoreAdapter> adapter_;
  std::shared_ptr<gloo::transport::Device> device_;
  std::shared_ptr<gloo::rendezvous::Context> context_;
  std::string failed_;
};

}  // namespace

std::unique_ptr<Comm> make_gloo_comm(TcpStore& store, const BackendOptions& opts, std::shared_ptr<void> keep_alive) {
  return std::make_unique<GlooComm>(store, opts, std::move(keep_alive));
}

}  // namespace zt::dist
