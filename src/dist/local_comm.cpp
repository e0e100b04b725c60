// The in-process Comms: world size 1 (collectives are copies) and the loopback world of N threads used by the
// ZeRO engine's tests (ranks meet at a generation barrier, read each other's buffers, then meet again).
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "core/error.hpp"
#include "dist/comm.hpp"
#include "ops/elementwise.hpp"

namespace zt::dist {

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return "sum";
    case ReduceOp::avg: return "avg";
    case ReduceOp::max: return "max";
  }
  return "?";
}

namespace {

void check_same_numel(const Tensor& a, const Tensor& b, const char* op) {
  check(a.numel() == b.numel() && a.dtype() == b.dtype(),
        std::string(op) + ": " + a.str() + " vs " + b.str() + " (same numel and dtype needed)");
}

class SingleComm final : public Comm {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  const char* backend() const override { return "single"; }
  void all_gather(Tensor out, const Tensor& in) override {
    check_same_numel(out, in, "all_gather");
    if (out.raw() != in.raw()) ops::copy(out, in);
  }
  void reduce_scatter(Tensor out, const Tensor& in, ReduceOp) override {
    check_same_numel(out, in, "reduce_scatter");
    ops::copy(out, in);
  }
  void all_reduce(Tensor, ReduceOp) override {}
  void broadcast(Tensor, int root) override { check(root == 0, "broadcast: root " + std::to_string(root) + " of 1 rank"); }
  void barrier() override {}
};

// Host math for the loopback reductions (f32 / f64 / i32 / i64).
template <class T>
void reduce_into(T* acc, const T* x, int64_t n, ReduceOp op) {
  if (op == ReduceOp::max)
    for (int64_t i = 0; i < n; ++i) acc[i] = x[i] > acc[i] || x[i] != x[i] ? x[i] : acc[i];  // NaN wins, as in NCCL
  else
    for (int64_t i = 0; i < n; ++i) acc[i] += x[i];
}

template <class T>
void finish(T* acc, int64_t n, ReduceOp op, int world) {
  if (op == ReduceOp::avg)
    for (int64_t i = 0; i < n; ++i) acc[i] = T(acc[i] / T(world));
}

// out (n) <- reduction over ranks of srcs[r] + offset (n elements each).
void reduce_host(const Tensor& out, const std::vector<const void*>& srcs, size_t offset_elems, ReduceOp op) {
  const int64_t n = out.numel();
  const int w = int(srcs.size());
  auto run = [&]<class T>(T*) {
    std::vector<T> acc(static_cast<size_t>(n));
    std::memcpy(acc.data(), static_cast<const T*>(srcs[0]) + offset_elems, size_t(n) * sizeof(T));
    for (int r = 1; r < w; ++r) reduce_into(acc.data(), static_cast<const T*>(srcs[r]) + offset_elems, n, op);
    finish(acc.data(), n, op, w);
    std::memcpy(out.raw(), acc.data(), size_t(n) * sizeof(T));
  };
  switch (out.dtype()) {
    case DType::f32: run((float*)nullptr); break;
    case DType::f64: run((double*)nullptr); break;
    case DType::i32: run((int32_t*)nullptr); break;
    case DType::i64: run((int64_t*)nullptr); break;
    default: fail(std::string("loopback reduction of ") + dtype_name(out.dtype()) + " tensors is not supported", "use f32 or f64");
  }
}

struct LoopbackWorld {
  explicit LoopbackWorld(int n) : n(n), ptrs(size_t(n)) {}
  int n;
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  uint64_t generation = 0;
  std::vector<const void*> ptrs;  // each rank's input for the current collective

  void barrier() {
    std::unique_lock lk(mu);
    const uint64_t gen = generation;
    if (++arrived == n) {
      arrived = 0;
      ++generation;
      cv.notify_all();
    } else {
      cv.wait(lk, [&] { return generation != gen; });
    }
  }
};

class LoopbackComm final : public Comm {
 public:
  LoopbackComm(std::shared_ptr<LoopbackWorld> w, int rank) : w_(std::move(w)), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return w_->n; }
  const char* backend() const override { return "loopback"; }

  void all_gather(Tensor out, const Tensor& in) override {
    check_cpu(out, "all_gather");
    check(out.numel() == in.numel() * size() && out.dtype() == in.dtype(),
          "all_gather: output " + out.str() + " must hold " + std::to_string(size()) + " x " + in.str());
    const size_t bytes = in.nbytes();
    exchange(in.raw(), [&] {
      for (int r = 0; r < size(); ++r) {
        char* dst = static_cast<char*>(out.raw()) + size_t(r) * bytes;
        if (dst != w_->ptrs[size_t(r)]) std::memcpy(dst, w_->ptrs[size_t(r)], bytes);
      }
    });
  }
  void reduce_scatter(Tensor out, const Tensor& in, ReduceOp op) override {
    check_cpu(out, "reduce_scatter");
    check(in.numel() == out.numel() * size() && out.dtype() == in.dtype(),
          "reduce_scatter: input " + in.str() + " must hold " + std::to_string(size()) + " x " + out.str());
    exchange(in.raw(), [&] { reduce_host(out, w_->ptrs, size_t(rank_) * size_t(out.numel()), op); });
  }
  void all_reduce(Tensor t, ReduceOp op) override {
    check_cpu(t, "all_reduce");
    Tensor tmp = Tensor::empty(t.shape(), t.dtype());
    exchange(t.raw(), [&] { reduce_host(tmp, w_->ptrs, 0, op); });
    std::memcpy(t.raw(), tmp.raw(), t.nbytes());  // after the second barrier: nobody reads t any more
  }
  void broadcast(Tensor t, int root) override {
    check_cpu(t, "broadcast");
    check(root >= 0 && root < size(), "broadcast: root " + std::to_string(root) + " of " + std::to_string(size()) + " ranks");
    exchange(t.raw(), [&] {
      if (rank_ != root) std::memcpy(t.raw(), w_->ptrs[size_t(root)], t.nbytes());
    });
  }
  void barrier() override { w_->barrier(); }

 private:
  void check_cpu(const Tensor& t, const char* op) const {
    check(t.defined() && t.device().is_cpu() && t.is_contiguous(), std::string("loopback ") + op + ": contiguous CPU tensors only");
  }
  // Publish this rank's input, wait for everyone, run `body` (reads the others' inputs), wait again so no input
  // changes while someone still reads it.
  template <class F>
  void exchange(const void* mine, F&& body) {
    {
      std::lock_guard lk(w_->mu);
      w_->ptrs[size_t(rank_)] = mine;
    }
    w_->barrier();
    body();
    w_->barrier();
  }
  std::shared_ptr<LoopbackWorld> w_;
  int rank_;
};

}  // namespace

std::unique_ptr<Comm> make_single_comm() { return std::make_unique<SingleComm>(); }

std::vector<std::unique_ptr<Comm>> make_loopback_comms(int n) {
  check(n >= 1, "loopback world of " + std::to_string(n) + " ranks");
  auto w = std::make_shared<LoopbackWorld>(n);
  std::vector<std::unique_ptr<Comm>> r;
  for (int i = 0; i < n; ++i) r.push_back(std::make_unique<LoopbackComm>(w, i));
  return r;
}

}  // namespace zt::dist
