// The collective test of `zerotune doctor --hostfile`: all_reduce over every rank of a job for a few sizes, timed and
// checked like nccl-tests (latency, algorithm and bus bandwidth, wrong elements), through the dist layer's Comm.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "dist/comm.hpp"

namespace zt::cluster {

struct BenchRow {
  int64_t bytes = 0;       // message size
  int64_t count = 0;       // f32 elements
  int iters = 0;           // timed iterations
  double time_us = 0;      // per all_reduce, the slowest rank's mean
  double algbw_gbs = 0;    // bytes / time, GB/s (1e9)
  double busbw_gbs = 0;    // algbw * 2(n-1)/n: what each link carries (nccl-tests' all_reduce bus bandwidth)
  int64_t wrong = 0;       // elements that differ from the expected sum, over all ranks
};

struct CommBenchOptions {
  std::vector<int64_t> sizes;  // bytes, each a multiple of 4; empty = default_bench_sizes
  int warmup = 2;              // untimed all_reduces per size
  double seconds_per_size = 0.2;  // timed iterations per size: enough for this long (3..100)
};

// 4 KiB, 256 KiB, 4 MiB on CPUs (Gloo); 1 MiB, 16 MiB, 256 MiB, 1 GiB on GPUs (NCCL saturates the links late).
std::vector<int64_t> default_bench_sizes(bool gpu);
// "4 KiB", "16 MiB", "1 GiB", "100 B".
std::string bench_size_text(int64_t bytes);
// nccl-tests' all_reduce bus-bandwidth factor 2(n-1)/n (1 for one rank, where nothing moves).
double allreduce_bus_factor(int ranks);

// Runs on every rank of `comm` (collective); every rank gets the same rows.
std::vector<BenchRow> run_allreduce_bench(dist::Comm& comm, const Device& device, const CommBenchOptions& o);

// "COMMBENCH op=all_reduce ranks=3 backend=gloo bytes=4096 count=1024 iters=50 time_us=12.5 algbw=0.33 busbw=0.44
// wrong=0": one line per size, what rank 0 prints for the doctor to read back.
std::string bench_line(const BenchRow& r, int ranks, const std::string& backend);
struct BenchLine {
  BenchRow row;
  int ranks = 0;
  std::string backend;
};
std::optional<BenchLine> parse_bench_line(const std::string& line);  // nullopt when it is not one

// nccl-tests' table: size, count, type, redop, time, algbw, busbw, #wrong.
std::string format_bench_table(const std::vector<BenchRow>& rows, int ranks, const std::string& backend);

}  // namespace zt::cluster
