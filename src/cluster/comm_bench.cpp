// all_reduce timing over a job's ranks, device-agnostic through the Comm interface and ops::copy (CPU tensors with
// Gloo, GPU tensors with NCCL): a checked pass, warm-up, then enough timed iterations to fill a short time budget.
#include "cluster/comm_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/error.hpp"
#include "ops/elementwise.hpp"

namespace zt::cluster {

namespace {

using Clock = std::chrono::steady_clock;

// One value reduced over the ranks (the Comm takes tensors on its device).
double reduce_scalar(dist::Comm& comm, const Device& dev, double v, dist::ReduceOp op) {
  Tensor h = Tensor::empty({1}, DType::f32);
  h.data<float>()[0] = float(v);
  Tensor d = dev.is_cuda() ? Tensor::empty({1}, DType::f32, dev) : h;
  if (dev.is_cuda()) ops::copy(d, h);
  comm.wait_for_compute();
  comm.all_reduce(d, op);
  comm.compute_waits();
  if (dev.is_cuda()) ops::copy(h, d);
  return h.data<float>()[0];
}

// Waits until the collectives issued so far are done (the CPU backends are synchronous already).
void settle(dist::Comm& comm, const Device& dev, const Tensor& buf, Tensor& one) {
  comm.compute_waits();
  if (dev.is_cuda()) ops::copy(one, buf.narrow(0, 1));  // a device-to-host copy waits for the compute stream
}

}  // namespace

std::string bench_size_text(int64_t b) {
  char buf[32];
  if (b >= (int64_t(1) << 30) && b % (int64_t(1) << 30) == 0) std::snprintf(buf, sizeof buf, "%lld GiB", (long long)(b >> 30));
  else if (b >= (int64_t(1) << 20) && b % (int64_t(1) << 20) == 0) std::snprintf(buf, sizeof buf, "%lld MiB", (long long)(b >> 20));
  else if (b >= 1024 && b % 1024 == 0) std::snprintf(buf, sizeof buf, "%lld KiB", (long long)(b >> 10));
  else std::snprintf(buf, sizeof buf, "%lld B", (long long)b);
  return buf;
}

std::vector<int64_t> default_bench_sizes(bool gpu) {
  if (gpu) return {int64_t(1) << 20, int64_t(16) << 20, int64_t(256) << 20, int64_t(1) << 30};
  return {int64_t(4) << 10, int64_t(256) << 10, int64_t(4) << 20};
}

double allreduce_bus_factor(int n) { return n <= 1 ? 1.0 : 2.0 * (n - 1) / n; }

std::vector<BenchRow> run_allreduce_bench(dist::Comm& comm, const Device& dev, const CommBenchOptions& o) {
  std::vector<int64_t> sizes = o.sizes.empty() ? default_bench_sizes(dev.is_cuda()) : o.sizes;
  const int n = comm.size();
  const float expect = float(n) * float(n + 1) / 2;  // every rank contributes rank + 1
  std::vector<BenchRow> rows;
  Tensor one = Tensor::empty({1}, DType::f32);
  for (int64_t bytes : sizes) {
    check(bytes >= 4 && bytes % 4 == 0, "collective test: size " + std::to_string(bytes) + " is not a positive multiple of 4 bytes",
          "sizes are bytes of float32 data");
    BenchRow r;
    r.bytes = bytes;
    r.count = bytes / 4;
    Tensor host = Tensor::empty({r.count}, DType::f32);
    host.fill(double(comm.rank() + 1));
    Tensor buf = Tensor::empty({r.count}, DType::f32, dev);
    // checked pass
    ops::copy(buf, host);
    comm.wait_for_compute();
    comm.all_reduce(buf, dist::ReduceOp::sum);
    comm.compute_waits();
    ops::copy(host, buf);
    const float* p = host.data<float>();
    int64_t wrong = 0;
    for (int64_t i = 0; i < r.count; ++i) wrong += p[i] != expect;
    r.wrong = int64_t(std::llround(reduce_scalar(comm, dev, double(wrong), dist::ReduceOp::sum)));
    // warm-up on zeros (sums stay finite however many iterations run)
    ops::zero(buf);
    comm.wait_for_compute();
    for (int i = 0; i < o.warmup; ++i) comm.all_reduce(buf, dist::ReduceOp::sum);
    settle(comm, dev, buf, one);
    // one timed iteration decides how many fill the budget; every rank runs the slowest rank's count
    auto t0 = Clock::now();
    comm.all_reduce(buf, dist::ReduceOp::sum);
    settle(comm, dev, buf, one);
    double first = std::chrono::duration<double>(Clock::now() - t0).count();
    double slowest = reduce_scalar(comm, dev, first, dist::ReduceOp::max);
    r.iters = int(std::clamp(o.seconds_per_size / std::max(slowest, 1e-7), 3.0, 100.0));
    comm.barrier();
    t0 = Clock::now();
    for (int i = 0; i < r.iters; ++i) comm.all_reduce(buf, dist::ReduceOp::sum);
    settle(comm, dev, buf, one);
    double mine = std::chrono::duration<double>(Clock::now() - t0).count() / r.iters;
    double t = reduce_scalar(comm, dev, mine, dist::ReduceOp::max);
    r.time_us = t * 1e6;
    r.algbw_gbs = double(bytes) / t / 1e9;
    r.busbw_gbs = r.algbw_gbs * allreduce_bus_factor(n);
    rows.push_back(r);
  }
  return rows;
}

std::string bench_line(const BenchRow& r, int ranks, const std::string& backend) {
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "COMMBENCH op=all_reduce ranks=%d backend=%s bytes=%lld count=%lld iters=%d time_us=%.3f algbw=%.6f "
                "busbw=%.6f wrong=%lld",
                ranks, backend.c_str(), (long long)r.bytes, (long long)r.count, r.iters, r.time_us, r.algbw_gbs,
                r.busbw_gbs, (long long)r.wrong);
  return buf;
}

std::optional<BenchLine> parse_bench_line(const std::string& line) {
  auto at = line.find("COMMBENCH op=all_reduce ");
  if (at == std::string::npos) return std::nullopt;
  std::istringstream in(line.substr(at + 24));
  BenchLine b;
  int seen = 0;
  for (std::string w; in >> w;) {
    auto eq = w.find('=');
    if (eq == std::string::npos) continue;
    std::string k = w.substr(0, eq), v = w.substr(eq + 1);
    try {
      if (k == "ranks") b.ranks = std::stoi(v), ++seen;
      else if (k == "backend") b.backend = v, ++seen;
      else if (k == "bytes") b.row.bytes = std::stoll(v), ++seen;
      else if (k == "count") b.row.count = std::stoll(v), ++seen;
      else if (k == "iters") b.row.iters = std::stoi(v), ++seen;
      else if (k == "time_us") b.row.time_us = std::stod(v), ++seen;
      else if (k == "algbw") b.row.algbw_gbs = std::stod(v), ++seen;
      else if (k == "busbw") b.row.busbw_gbs = std::stod(v), ++seen;
      else if (k == "wrong") b.row.wrong = std::stoll(v), ++seen;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  if (seen != 9) return std::nullopt;
  return b;
}

std::string format_bench_table(const std::vector<BenchRow>& rows, int ranks, const std::string& backend) {
  std::string out = "# all_reduce over " + std::to_string(ranks) + " rank" + (ranks == 1 ? "" : "s") + " (" + backend +
                    ", float32, sum); time: the slowest rank's mean; busbw = algbw * 2(n-1)/n\n";
  char buf[200];
  std::snprintf(buf, sizeof buf, "#%11s %12s %6s %6s %12s %12s %12s %7s %6s\n", "size", "count", "type", "redop", "time(us)",
                "algbw(GB/s)", "busbw(GB/s)", "#wrong", "iters");
  out += buf;
  for (auto& r : rows) {
    std::snprintf(buf, sizeof buf, "%12lld %12lld %6s %6s %12.1f %12.3f %12.3f %7lld %6d   %s\n", (long long)r.bytes,
                  (long long)r.count, "float", "sum", r.time_us, r.algbw_gbs, r.busbw_gbs, (long long)r.wrong, r.iters,
                  bench_size_text(r.bytes).c_str());
    out += buf;
  }
  return out;
}

}  // namespace zt::cluster
