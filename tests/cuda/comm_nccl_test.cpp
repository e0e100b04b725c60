// The NCCL Comm between two processes, one GPU each: every op and dtype (f32/bf16/f16 reductions, any dtype as
// bytes for gathers and broadcasts) against exact expected values, stream ordering via wait_for_compute/
// compute_waits, and a dead peer ending in an error instead of a hang. Skipped with fewer than two GPUs.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include "cpu/dist/rank_processes.hpp"
#include "dist/rendezvous.hpp"
#include "ops/cuda/runtime.hpp"
#include "ops/elementwise.hpp"

namespace zt::dist {
namespace {

using namespace zt::dist::test;

// CUDA must not be initialised in the parent before it forks the ranks: count the GPUs in a throwaway child.
int gpu_count() {
  pid_t pid = ::fork();
  if (pid == 0) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) n = 0;
    ::_exit(std::min(n, 100));
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 0;
}

Tensor to_gpu(const Tensor& host, int dev) {
  Tensor g = Tensor::empty(host.shape(), host.dtype(), Device::CUDA(dev));
  ops::copy(g, host);
  return g;
}
Tensor to_host(const Tensor& g) {
  Tensor h = Tensor::empty(g.shape(), g.dtype());
  ops::copy(h, g);
  return h;
}

// Host values of `dt` from doubles that are exact in every float dtype used here (small integers and halves).
Tensor host_values(int64_t n, DType dt, const std::function<double(int64_t)>& f) {
  Tensor t = Tensor::empty({n}, DType::f32);
  for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = float(f(i));
  if (dt == DType::f32) return t;
  if (dt == DType::i32) return filled<int32_t>(n, dt, [&](int64_t i) { return int32_t(f(i)); });
  if (dt == DType::i64) return filled<int64_t>(n, dt, [&](int64_t i) { return int64_t(f(i)); });
  if (dt == DType::f64) return filled<double>(n, dt, f);
  return t.to_dtype(dt);
}

void expect_values(Checker& c, const Tensor& got_dev, const std::function<double(int64_t)>& want, const std::string& what) {
  Tensor h = to_host(got_dev);
  Tensor f = Tensor::empty(h.shape(), DType::f64);
  for (int64_t i = 0; i < h.numel(); ++i) {
    double v = 0;
    switch (h.dtype()) {
      case DType::f32: v = h.data<float>()[i]; break;
      case DType::bf16: v = bf16_to_f32(h.data<uint16_t>()[i]); break;
      case DType::f16: v = f16_to_f32(h.data<uint16_t>()[i]); break;
      case DType::f64: v = h.data<double>()[i]; break;
      case DType::i32: v = h.data<int32_t>()[i]; break;
      case DType::i64: v = double(h.data<int64_t>()[i]); break;
    }
    f.data<double>()[i] = v;
  }
  c.eq<double>(f, want, what + " (" + dtype_name(h.dtype()) + ")");
}

int all_ops(int rank, std::string& report) {
  cuda::initialize();
  RankInfo info = rank_info_from_env();
  auto comm = init_comm(info, Device::CUDA(info.local_rank));
  Checker c{report};
  const int w = comm->size(), R = rank, dev = info.local_rank;
  c.truth(std::string(comm->backend()) == "nccl" && comm->rank() == R && w == 2, "backend/rank/size");
  auto run = [&](auto&& op) {
    comm->wait_for_compute();  // inputs were written on this thread's compute stream
    op();
    comm->compute_waits();     // the copies back run on the compute stream
  };

  for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
    const int64_t n = 1001;  // odd
    // all_reduce sum / avg / max; values are multiples of w so avg stays exact in 8-bit mantissas.
    for (ReduceOp op : {ReduceOp::sum, ReduceOp::avg, ReduceOp::max}) {
      auto val = [&](int r, int64_t i) { return double(w * (((r + 1) * (i + 3)) % 13)); };
      Tensor t = to_gpu(host_values(n, dt, [&](int64_t i) { return val(R, i); }), dev);
      run([&] { comm->all_reduce(t, op); });
      expect_values(c, t, [&](int64_t i) {
        double s = 0, m = -1e30;
        for (int r = 0; r < w; ++r) s += val(r, i), m = std::max(m, val(r, i));
        return op == ReduceOp::sum ? s : op == ReduceOp::avg ? s / w : m;
      }, std::string("all_reduce ") + reduce_op_name(op));
    }
    // reduce_scatter with an odd slice
    for (ReduceOp op : {ReduceOp::sum, ReduceOp::avg, ReduceOp::max}) {
      const int64_t k = 37;
      auto val = [&](int r, int64_t j) { return double(w * ((r * 5 + j) % 9)); };
      Tensor in = to_gpu(host_values(k * w, dt, [&](int64_t j) { return val(R, j); }), dev);
      Tensor out = Tensor::empty({k}, dt, Device::CUDA(dev));
      run([&] { comm->reduce_scatter(out, in, op); });
      expect_values(c, out, [&](int64_t i) {
        double s = 0, m = -1e30;
        for (int r = 0; r < w; ++r) s += val(r, R * k + i), m = std::max(m, val(r, R * k + i));
        return op == ReduceOp::sum ? s : op == ReduceOp::avg ? s / w : m;
      }, std::string("reduce_scatter ") + reduce_op_name(op));
    }
  }
  // f64 and integer reductions
  {
    Tensor d = to_gpu(host_values(9, DType::f64, [&](int64_t i) { return 0.5 * (R + 1) + i; }), dev);
    run([&] { comm->all_reduce(d, ReduceOp::sum); });
    expect_values(c, d, [&](int64_t i) { return 1.5 + 2.0 * double(i); }, "all_reduce sum");
    Tensor l = to_gpu(host_values(4, DType::i64, [&](int64_t i) { return double((int64_t(1) << 40) * (R + 1) + i); }), dev);
    run([&] { comm->all_reduce(l, ReduceOp::max); });
    expect_values(c, l, [&](int64_t i) { return double((int64_t(1) << 40) * 2 + i); }, "all_reduce max");
  }
  // all_gather of every dtype as bytes, out of place and in place
  for (DType dt : {DType::f32, DType::bf16, DType::f16, DType::i32, DType::i64}) {
    const int64_t n = 5;
    Tensor in = to_gpu(host_values(n, dt, [&](int64_t i) { return double(R * 10 + i); }), dev);
    Tensor out = Tensor::empty({n * w}, dt, Device::CUDA(dev));
    run([&] { comm->all_gather(out, in); });
    expect_values(c, out, [&](int64_t j) { return double((j / n) * 10 + j % n); }, "all_gather");
    Tensor buf = to_gpu(host_values(n * w, dt, [&](int64_t j) { return j / n == R ? double(R * 10 + j % n) : -1.0; }), dev);
    run([&] { comm->all_gather(buf, buf.narrow(R * n, n)); });
    expect_values(c, buf, [&](int64_t j) { return double((j / n) * 10 + j % n); }, "all_gather in place");
  }
  // Registered buffers (ZEROTUNE_COMM_CE, on by default): gathers between them run on the copy engines. Inputs at
  // equal offsets inside one registered buffer, outputs in another, as the ZeRO engine lays out its shards.
  {
    c.truth(comm->copy_engine(), "copy-engine gathers are on by default");
    const int64_t n = 300007;  // odd; every unit below starts on a 4 KiB boundary of the shard buffer
    Tensor shards = comm->collective_buffer(3 * 4096, DType::bf16), out = comm->collective_buffer(n * w, DType::bf16);
    c.truth(shards.defined() && out.defined(), "collective_buffer returned registered memory");
    if (shards.defined() && out.defined()) {
      c.truth(shards.numel() == 3 * 4096 && out.numel() == n * w, "collective_buffer sizes");
      expect_values(c, out, [](int64_t) { return 0.0; }, "collective_buffer is zeroed");
      for (int64_t at : {int64_t(0), int64_t(4096), int64_t(8192)}) {
        const int64_t m = std::min<int64_t>(n, 4096);
        Tensor src = to_gpu(host_values(m, DType::bf16, [&](int64_t i) { return double(R * 100 + (at / 4096) * 10 + i % 7); }), dev);
        ops::copy(shards.narrow(at, m), src);
        run([&] { comm->all_gather(out.narrow(0, m * w), shards.narrow(at, m)); });
        expect_values(c, out.narrow(0, m * w), [&](int64_t j) { return double((j / m) * 100 + (at / 4096) * 10 + (j % m) % 7); },
                      "all_gather between registered buffers at offset " + std::to_string(at));
      }
    }
  }
  // broadcast from rank 1 (non-zero root)
  for (DType dt : {DType::f32, DType::bf16, DType::i64}) {
    Tensor t = to_gpu(host_values(333, dt, [&](int64_t i) { return R == 1 ? double(i % 50) : -3.0; }), dev);
    run([&] { comm->broadcast(t, 1); });
    expect_values(c, t, [&](int64_t i) { return double(i % 50); }, "broadcast from rank 1");
  }
  comm->barrier();
  // Wrong device / dtype are local errors.
  try {
    comm->all_reduce(Tensor::empty({4}, DType::f32), ReduceOp::sum);
    c.truth(false, "a CPU tensor was accepted by the NCCL comm");
  } catch (const Error& e) {
    c.truth(std::string(e.what()).find("is on cpu") != std::string::npos, std::string("cpu tensor error: ") + e.what());
  }
  comm->barrier();
  return c.failures == 0 ? 0 : 1;
}

class NcclComm : public ::testing::Test {
 protected:
  void SetUp() override {
    if (gpu_count() < 2) GTEST_SKIP() << "needs 2 GPUs";
  }
};

TEST_F(NcclComm, EveryOpAndDtype) {
  auto res = run_ranks(2, all_ops, no_extra, std::chrono::seconds(180));
  for (size_t r = 0; r < res.size(); ++r) EXPECT_EQ(res[r].status, 0) << "rank " << r << ": " << res[r].report;
}

// Rank 1 dies after start-up; rank 0's barrier must end in a zt::Error (NCCL's remote error or the watchdog's
// timeout), not hang.
TEST_F(NcclComm, DeadPeerEndsInAnError) {
  auto body = [](int rank, std::string& report) -> int {
    cuda::initialize();
    RankInfo info = rank_info_from_env();
    auto comm = init_comm(info, Device::CUDA(info.local_rank));
    comm->barrier();
    if (rank == 1) ::raise(SIGKILL);
    try {
      for (int i = 0; i < 100; ++i) comm->barrier();
    } catch (const Error& e) {
      report = e.describe();
      return 0;
    }
    report = "no error after rank 1 died";
    return 1;
  };
  auto res = run_ranks(2, body, [](int) { return Env{{"ZEROTUNE_COMM_TIMEOUT", "15"}}; }, std::chrono::seconds(120));
  EXPECT_EQ(res[0].status, 0) << res[0].report;
  EXPECT_NE(res[0].report.find("nccl barrier"), std::string::npos) << res[0].report;
}

}  // namespace
}  // namespace zt::dist
