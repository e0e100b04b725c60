// Collectives over the ranks of one job behind one interface: NCCL for CUDA tensors, Gloo for CPU tensors,
// a trivial single-rank Comm, and an in-process loopback (N ranks as threads) for engine tests.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace zt::dist {

enum class ReduceOp { sum, avg, max };
const char* reduce_op_name(ReduceOp op);

// Every call is collective: all ranks call the same operations in the same order with the same numels and dtypes.
// Tensors are contiguous and live on the Comm's device. Reductions accept f32 (every backend), f64 (CPU backends)
// and bf16/f16 (NCCL); gathers and broadcasts move any dtype as bytes.
class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual const char* backend() const = 0;  // "nccl", "gloo", "single", "loopback"
  // SMs this Comm's collectives are capped at (ZEROTUNE_COMM_SMS); compute running beside them leaves these free.
  virtual int reserved_sms() const { return 0; }

  // out (size() * in.numel()) <- every rank's `in`, in rank order. `in` may be out's own slice
  // [rank() * n, (rank() + 1) * n) (in-place gather).
  virtual void all_gather(Tensor out, const Tensor& in) = 0;
  // out (in.numel() / size()) <- this rank's slice of the element-wise reduction of every rank's `in`
  // (in.numel() must be a multiple of size()). `out` must not overlap `in`.
  virtual void reduce_scatter(Tensor out, const Tensor& in, ReduceOp op) = 0;
  virtual void all_reduce(Tensor t, ReduceOp op) = 0;
  virtual void broadcast(Tensor t, int root) = 0;
  virtual void barrier() = 0;

  // Ordering against the calling thread's compute stream (CUDA backends run collectives on their own stream);
  // the CPU backends are synchronous and ignore these.
  virtual void wait_for_compute() {}  // collectives issued after this call see compute work issued before it
  virtual void compute_waits() {}     // compute work issued after this call sees collectives issued before it
  // Finer ordering: a ticket for the collectives issued so far, and making compute wait for that ticket only (so
  // compute does not also wait for collectives issued later). The default waits for everything.
  virtual uint64_t ticket() { return 0; }
  virtual void compute_waits_for(uint64_t ticket) { compute_waits(); }

  // A zeroed buffer of `numel` elements for all_gather's inputs and outputs that the backend registered so its
  // gathers can run on the copy engines instead of SMs (NCCL with ZEROTUNE_COMM_CE=1). Collective: every rank asks
  // for the same sizes in the same order, and passes equal offsets into it. Valid while the Comm lives. Undefined
  // when the backend has nothing better than an ordinary allocation (the caller allocates then).
  virtual Tensor collective_buffer(int64_t numel, DType dt) { return Tensor(); }
  virtual bool copy_engine() const { return false; }  // collective_buffer() hands out registered memory
  // ZEROTUNE_COMM_TRACE: forget the timings so far (a benchmark calls it after its warm-up steps).
  virtual void restart_trace() {}
};

// World size 1: every collective is a copy or a no-op (one code path for 1..N ranks).
std::unique_ptr<Comm> make_single_comm();

// N ranks as N threads of this process (tests of the ZeRO engine without processes): returns one Comm per rank;
// rank i's Comm must be used only from the thread playing rank i. CPU tensors only.
std::vector<std::unique_ptr<Comm>> make_loopback_comms(int n);

}  // namespace zt::dist
