// The Gloo Comm between real processes on loopback: every op and dtype against exact expected values for 2 and 3
// ranks, and the failure modes (a rank that dies or hangs, one that never arrives, a wrong secret) ending in errors.
#include <gtest/gtest.h>

#include <cmath>

#include "cpu/dist/rank_processes.hpp"
#include "dist/rendezvous.hpp"

namespace zt::dist {
namespace {

using namespace std::chrono_literals;
using namespace zt::dist::test;

// Every op, with values that are exact in floating point so results can be compared for equality.
int all_ops(int rank, std::string& report) {
  RankInfo info = rank_info_from_env();
  auto comm = init_comm(info, Device::CPU());
  Checker c{report};
  const int w = comm->size();
  c.truth(comm->rank() == rank && w == info.world_size, "rank/size");
  c.truth(std::string(comm->backend()) == "gloo", "backend");
  const int R = rank;
  double rsum = 0;  // sum over ranks of (r + 1)
  for (int r = 0; r < w; ++r) rsum += r + 1;

  // all_reduce: odd sizes, and one large enough for several ring segments (>1 MiB).
  for (int64_t n : {int64_t(1), int64_t(1001), int64_t(300007)}) {
    Tensor t = filled<float>(n, DType::f32, [&](int64_t i) { return float((R + 1) * (i % 97)); });
    comm->all_reduce(t, ReduceOp::sum);
    c.eq<float>(t, [&](int64_t i) { return float(rsum * (i % 97)); }, "all_reduce f32 sum n=" + std::to_string(n));
  }
  {
    Tensor t = filled<float>(513, DType::f32, [&](int64_t i) { return float(w * ((R + i) % 5)); });
    comm->all_reduce(t, ReduceOp::avg);
    c.eq<float>(t, [&](int64_t i) {
      double s = 0;
      for (int r = 0; r < w; ++r) s += w * ((r + i) % 5);
      return float(s / w);
    }, "all_reduce f32 avg");
    Tensor m = filled<float>(77, DType::f32, [&](int64_t i) { return float((R * 31 + i * 7) % 13) - 6.0f; });
    comm->all_reduce(m, ReduceOp::max);
    c.eq<float>(m, [&](int64_t i) {
      float best = -1e30f;
      for (int r = 0; r < w; ++r) best = std::max(best, float((r * 31 + i * 7) % 13) - 6.0f);
      return best;
    }, "all_reduce f32 max");
    Tensor d = filled<double>(33, DType::f64, [&](int64_t i) { return 0.5 * (R + 1) + 0.0625 * double(i); });
    comm->all_reduce(d, ReduceOp::sum);
    c.eq<double>(d, [&](int64_t i) {
      double s = 0;
      for (int r = 0; r < w; ++r) s += 0.5 * (r + 1) + 0.0625 * double(i);
      return s;
    }, "all_reduce f64 sum");
    Tensor i32 = filled<int32_t>(9, DType::i32, [&](int64_t i) { return int32_t(R * 100 - i); });
    comm->all_reduce(i32, ReduceOp::max);
    c.eq<int32_t>(i32, [&](int64_t i) { return int32_t((w - 1) * 100 - i); }, "all_reduce i32 max");
    Tensor i64 = filled<int64_t>(5, DType::i64, [&](int64_t i) { return (int64_t(1) << 40) * (R + 1) + i; });
    comm->all_reduce(i64, ReduceOp::sum);
    c.eq<int64_t>(i64, [&](int64_t i) { return (int64_t(1) << 40) * int64_t(rsum) + w * i; }, "all_reduce i64 sum");
  }

  // all_gather: f32 (odd n), bf16 and i64 as bytes, and in place.
  {
    const int64_t n = 7;
    Tensor in = filled<float>(n, DType::f32, [&](int64_t i) { return float(R * 1000 + i); });
    Tensor out = Tensor::empty({n * w}, DType::f32);
    comm->all_gather(out, in);
    c.eq<float>(out, [&](int64_t j) { return float((j / n) * 1000 + j % n); }, "all_gather f32");

    Tensor hb = filled<uint16_t>(3, DType::bf16, [&](int64_t i) { return f32_to_bf16(float(R) + 0.25f * float(i)); });
    Tensor hout = Tensor::empty({3 * w}, DType::bf16);
    comm->all_gather(hout, hb);
    c.eq<uint16_t>(hout, [&](int64_t j) { return f32_to_bf16(float(j / 3) + 0.25f * float(j % 3)); }, "all_gather bf16");

    Tensor big = Tensor::empty({int64_t(w) << 18}, DType::i64);
    const int64_t m = big.numel() / w;
    int64_t* b = big.data<int64_t>();
    for (int64_t i = 0; i < big.numel(); ++i) b[i] = -1;
    for (int64_t i = 0; i < m; ++i) b[R * m + i] = R * 7 + i * 3;
    comm->all_gather(big, big.narrow(R * m, m));  // in place: this rank's slice of out
    c.eq<int64_t>(big, [&](int64_t j) { return (j / m) * 7 + (j % m) * 3; }, "all_gather i64 in place");
  }

  // reduce_scatter: sum, avg and max with an odd slice length; f64 and i32 too.
  {
    const int64_t n = 5;
    auto val = [&](int r, int64_t j) { return float((r + 1) * (j + 1) % 11) * float(w); };
    Tensor in = filled<float>(n * w, DType::f32, [&](int64_t j) { return val(R, j); });
    for (ReduceOp op : {ReduceOp::sum, ReduceOp::avg, ReduceOp::max}) {
      Tensor out = Tensor::empty({n}, DType::f32);
      comm->reduce_scatter(out, in, op);
      c.eq<float>(out, [&](int64_t i) {
        const int64_t j = R * n + i;
        double s = 0, mx = -1e30;
        for (int r = 0; r < w; ++r) {
          s += val(r, j);
          mx = std::max<double>(mx, val(r, j));
        }
        return float(op == ReduceOp::sum ? s : op == ReduceOp::avg ? s / w : mx);
      }, std::string("reduce_scatter f32 ") + reduce_op_name(op));
    }
    Tensor d = filled<double>(3 * w, DType::f64, [&](int64_t j) { return 0.125 * (R + j); });
    Tensor dout = Tensor::empty({3}, DType::f64);
    comm->reduce_scatter(dout, d, ReduceOp::sum);
    c.eq<double>(dout, [&](int64_t i) {
      double s = 0;
      for (int r = 0; r < w; ++r) s += 0.125 * (r + R * 3 + i);
      return s;
    }, "reduce_scatter f64 sum");
    Tensor big = filled<int32_t>(int64_t(w) * 200003, DType::i32, [&](int64_t j) { return int32_t((j * 7 + R) % 1000); });
    Tensor bout = Tensor::empty({200003}, DType::i32);
    comm->reduce_scatter(bout, big, ReduceOp::max);
    c.eq<int32_t>(bout, [&](int64_t i) {
      int32_t best = -1;
      for (int r = 0; r < w; ++r) best = std::max(best, int32_t(((R * 200003 + i) * 7 + r) % 1000));
      return best;
    }, "reduce_scatter i32 max");
  }

  // broadcast from the last rank (non-zero root), and from 0 for bf16 and i64.
  {
    Tensor t = filled<float>(1001, DType::f32, [&](int64_t i) { return R == w - 1 ? float(i) * 0.5f : -1.0f; });
    comm->broadcast(t, w - 1);
    c.eq<float>(t, [&](int64_t i) { return float(i) * 0.5f; }, "broadcast f32 from the last rank");
    Tensor h = filled<uint16_t>(5, DType::bf16, [&](int64_t i) { return R == 0 ? f32_to_bf16(float(i) + 0.5f) : 0; });
    comm->broadcast(h, 0);
    c.eq<uint16_t>(h, [&](int64_t i) { return f32_to_bf16(float(i) + 0.5f); }, "broadcast bf16");
    Tensor l = filled<int64_t>(2, DType::i64, [&](int64_t i) { return R == 1 ? int64_t(1) << (40 + i) : 0; });
    comm->broadcast(l, 1);
    c.eq<int64_t>(l, [&](int64_t i) { return int64_t(1) << (40 + i); }, "broadcast i64 from rank 1");
  }

  // Empty tensors are no-ops; barriers; argument errors are local zt::Errors that leave the Comm usable.
  comm->all_reduce(Tensor::empty({0}, DType::f32), ReduceOp::sum);
  comm->barrier();
  auto throws = [&](const std::function<void()>& f, const std::string& text) {
    try {
      f();
      c.truth(false, "expected an error containing '" + text + "'");
    } catch (const Error& e) {
      c.truth(std::string(e.what()).find(text) != std::string::npos, "error '" + std::string(e.what()) +
                                                                       "' lacks '" + text + "'");
    }
  };
  throws([&] { comm->all_reduce(Tensor::empty({4}, DType::bf16), ReduceOp::sum); }, "bf16");
  throws([&] { comm->all_reduce(Tensor::empty({4}, DType::i32), ReduceOp::avg); }, "avg of an integer");
  throws([&] { comm->reduce_scatter(Tensor::empty({2}, DType::f32), Tensor::empty({2 * w + 1}, DType::f32), ReduceOp::sum); },
         "not a multiple of the world size");
  throws([&] { comm->broadcast(Tensor::empty({1}, DType::f32), w); }, "is not a rank of this job");
  comm->barrier();
  Tensor after = filled<float>(3, DType::f32, [&](int64_t) { return 1.0f; });
  comm->all_reduce(after, ReduceOp::sum);
  c.eq<float>(after, [&](int64_t) { return float(w); }, "all_reduce after argument errors");
  return c.failures == 0 ? 0 : 1;
}

void expect_all_ok(const std::vector<RankResult>& res) {
  for (size_t r = 0; r < res.size(); ++r) EXPECT_EQ(res[r].status, 0) << "rank " << r << ": " << res[r].report;
}

TEST(GlooComm, EveryOpTwoRanks) { expect_all_ok(run_ranks(2, all_ops, no_extra, 60s)); }
TEST(GlooComm, EveryOpThreeRanks) { expect_all_ok(run_ranks(3, all_ops, no_extra, 60s)); }

// Rank 2 dies (SIGKILL) after start-up; the others' next collectives fail with an error instead of hanging.
TEST(GlooComm, DeadRankMakesOthersFail) {
  auto body = [](int rank, std::string& report) -> int {
    auto comm = init_comm(rank_info_from_env(), Device::CPU());
    Tensor t = Tensor::zeros({1000}, DType::f32);
    comm->all_reduce(t, ReduceOp::sum);
    if (rank == 2) ::raise(SIGKILL);
    try {
      for (int i = 0; i < 50; ++i) comm->all_reduce(t, ReduceOp::sum);
    } catch (const Error& e) {
      report = e.describe();
      // The Comm stays failed: the next call says so at once.
      try {
        comm->barrier();
      } catch (const Error& again) {
        report += "\nTHEN: " + std::string(again.what());
      }
      return 0;
    }
    report = "no error after rank 2 died";
    return 1;
  };
  auto res = run_ranks(3, body, [](int) { return Env{{"ZEROTUNE_COMM_TIMEOUT", "5"}}; }, 40s);
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(res[size_t(r)].status, 0) << "rank " << r << ": " << res[size_t(r)].report;
    EXPECT_NE(res[size_t(r)].report.find("gloo all_reduce (f32, 1000 elements) on rank " + std::to_string(r) + " of 3 failed"),
              std::string::npos) << res[size_t(r)].report;
    EXPECT_NE(res[size_t(r)].report.find("another rank exited or stopped responding"), std::string::npos)
        << res[size_t(r)].report;
    EXPECT_NE(res[size_t(r)].report.find("THEN: gloo barrier on rank " + std::to_string(r) + " of 3: the communicator failed earlier"),
              std::string::npos) << res[size_t(r)].report;
  }
}

// Rank 1 stays alive but stops calling collectives: the others time out after ZEROTUNE_COMM_TIMEOUT.
TEST(GlooComm, HungRankTimesOut) {
  auto body = [](int rank, std::string& report) -> int {
    auto comm = init_comm(rank_info_from_env(), Device::CPU());
    if (rank == 1) {
      std::this_thread::sleep_for(6s);  // alive but silent well past rank 0's 2 s timeout
      return 0;
    }
    Tensor t = Tensor::zeros({10}, DType::f32);
    try {
      comm->all_reduce(t, ReduceOp::sum);
    } catch (const Error& e) {
      report = e.describe();
      return 0;
    }
    report = "no error although rank 1 never joined the collective";
    return 1;
  };
  auto res = run_ranks(2, body, [](int) { return Env{{"ZEROTUNE_COMM_TIMEOUT", "2"}}; }, 30s);
  EXPECT_EQ(res[0].status, 0) << res[0].report;
  EXPECT_NE(res[0].report.find("gloo all_reduce (f32, 10 elements) on rank 0 of 2 failed"), std::string::npos) << res[0].report;
  EXPECT_NE(res[0].report.find("ZEROTUNE_COMM_TIMEOUT (2 s)"), std::string::npos) << res[0].report;
}

// Rank 2 is never started: ranks 0 and 1 give up after ZEROTUNE_RDZV_TIMEOUT and name it.
TEST(GlooComm, MissingRankIsNamed) {
  auto body = [](int, std::string&) -> int {
    auto comm = init_comm(rank_info_from_env(), Device::CPU());
    return 1;  // must not get here
  };
  auto res = run_ranks(3, body, [](int) { return Env{{"ZEROTUNE_RDZV_TIMEOUT", "3"}}; }, 20s, {2});
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(res[size_t(r)].status, 2) << res[size_t(r)].report;
    EXPECT_NE(res[size_t(r)].report.find("rank 2 (1 of 3) did not arrive at the rendezvous within 3 s"), std::string::npos)
        << res[size_t(r)].report;
  }
}

// Rank 1 has another job's secret: it is turned away with a message, and rank 0 reports rank 1 as missing.
TEST(GlooComm, WrongSecretIsRejected) {
  auto body = [](int, std::string&) -> int {
    auto comm = init_comm(rank_info_from_env(), Device::CPU());
    return 1;
  };
  auto res = run_ranks(2, body, [](int r) {
    Env e{{"ZEROTUNE_RDZV_TIMEOUT", "3"}};
    if (r == 1) e["ZEROTUNE_JOB_SECRET"] = "ffffffffffffffffffffffffffffffff";
    return e;
  }, 20s);
  EXPECT_EQ(res[1].status, 2) << res[1].report;
  EXPECT_NE(res[1].report.find("rank 1 on host"), std::string::npos) << res[1].report;
  EXPECT_NE(res[1].report.find("rejected this rank: wrong job secret"), std::string::npos) << res[1].report;
  EXPECT_EQ(res[0].status, 2) << res[0].report;
  EXPECT_NE(res[0].report.find("rank 1 (1 of 2) did not arrive"), std::string::npos) << res[0].report;
}

}  // namespace
}  // namespace zt::dist
