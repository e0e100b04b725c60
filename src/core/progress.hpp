// Progress of a long byte transfer (checkpoint loads, model writes) on stderr: a redrawn bar with bytes, GB/s and ETA
// when stderr is a terminal, else a plain line each time another tenth is done (at most one a second).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace zt {

// "12.3 GB" (decimal units, as disk and link rates are quoted).
std::string format_gb(uint64_t bytes);

class ByteProgress {
 public:
  // Reports `label` progress towards `total` bytes from a background thread; `enabled` false: counts only
  // (e.g. ranks other than 0). `poll`, when given, is the count of bytes done (else what add() summed). `tty` forces
  // the terminal bar on or off (default: whether stderr is a terminal).
  ByteProgress(std::string label, uint64_t total, bool enabled, std::function<uint64_t()> poll = nullptr, int tty = -1);
  ~ByteProgress();  // stops the reporter (clears a drawn bar); prints nothing else
  ByteProgress(const ByteProgress&) = delete;
  ByteProgress& operator=(const ByteProgress&) = delete;

  void add(uint64_t bytes) { done_.fetch_add(bytes, std::memory_order_relaxed); }  // thread-safe
  uint64_t done() const { return poll_ ? poll_() : done_.load(std::memory_order_relaxed); }
  uint64_t total() const { return total_; }
  double seconds() const;  // since construction
  // Stops reporting (clearing a drawn bar) and returns the seconds since construction. Idempotent.
  double stop();

  // The text of one report line (no newline): "label 7.20/16.06 GB  45%  9.81 GB/s  ETA 1 s", with a bar of
  // `bar_width` cells when > 0. Public for tests.
  static std::string line(const std::string& label, uint64_t done, uint64_t total, double seconds, int bar_width);

 private:
  void run();

  std::string label_;
  uint64_t total_;
  bool enabled_, tty_;
  std::function<uint64_t()> poll_;
  std::atomic<uint64_t> done_{0};
  std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  double stopped_at_ = -1;
  std::thread thread_;
};

}  // namespace zt
