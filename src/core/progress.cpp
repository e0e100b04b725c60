// The progress reporter thread: terminal bar redrawn four times a second, or plain lines at each further tenth.
// Plain lines go through the logger (one line at a time, with the rank prefix); the bar writes stderr directly.
#include "core/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "core/log.hpp"

namespace zt {

std::string format_gb(uint64_t bytes) {
  char s[32];
  std::snprintf(s, sizeof s, "%.2f GB", double(bytes) / 1e9);
  return s;
}

ByteProgress::ByteProgress(std::string label, uint64_t total, bool enabled, std::function<uint64_t()> poll, int tty)
    : label_(std::move(label)), total_(total), enabled_(enabled), tty_(tty < 0 ? ::isatty(2) == 1 : tty == 1), poll_(std::move(poll)),
      start_(std::chrono::steady_clock::now()) {
  if (enabled_ && total_ > 0) thread_ = std::thread([this] { run(); });
}

ByteProgress::~ByteProgress() { stop(); }

double ByteProgress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double ByteProgress::stop() {
  {
    std::lock_guard g(mu_);
    if (stopped_at_ < 0) stopped_at_ = seconds();
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  return stopped_at_;
}

std::string ByteProgress::line(const std::string& label, uint64_t done, uint64_t total, double seconds, int bar_width) {
  const double frac = total ? std::min(1.0, double(done) / double(total)) : 1.0;
  const double rate = seconds > 0 ? double(done) / seconds : 0.0;
  char head[160];
  std::snprintf(head, sizeof head, "%s %.2f/%.2f GB", label.c_str(), double(done) / 1e9, double(total) / 1e9);
  std::string s = head;
  if (bar_width > 0) {
    const int full = int(frac * bar_width);
    s += " [" + std::string(size_t(full), '#') + std::string(size_t(bar_width - full), '.') + "]";
  }
  char tail[96];
  if (rate > 0 && done < total)
    std::snprintf(tail, sizeof tail, " %3d%%  %.2f GB/s  ETA %.0f s", int(frac * 100), rate / 1e9, double(total - done) / rate);
  else
    std::snprintf(tail, sizeof tail, " %3d%%  %.2f GB/s", int(frac * 100), rate / 1e9);
  return s + tail;
}

void ByteProgress::run() {
  std::unique_lock lk(mu_);
  int last_tenth = 0;
  double last_line = 0.0;
  bool drawn = false;
  while (!stop_) {
    cv_.wait_for(lk, std::chrono::milliseconds(tty_ ? 250 : 200));
    if (stop_) break;
    const uint64_t d = done();
    const double t = seconds();
    if (tty_) {
      std::fprintf(stderr, "\r%s\033[K", line(label_, d, total_, t, 30).c_str());
      std::fflush(stderr);
      drawn = true;
      continue;
    }
    const int tenth = int(std::min<uint64_t>(10, d * 10 / total_));
    if ((tenth > last_tenth && t - last_line >= 1.0) || t - last_line >= 30.0) {
      if (tenth < 10) log::info(line(label_, d, total_, t, 0));  // the caller prints the final line
      last_tenth = tenth;
      last_line = t;
    }
  }
  if (drawn) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
}

}  // namespace zt
