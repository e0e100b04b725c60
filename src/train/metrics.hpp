// A metrics logger container: one call records a step's named scalars and every attached sink gets them
// (a console line, a JSONL file, TensorBoard event files). Only the rank that should log creates one.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "train/tensorboard.hpp"

namespace zt::train {

struct Scalar {
  std::string tag;  // e.g. "loss", "lr", "Train/Samples/train_loss"
  double value = 0;
};

// Where a step's scalars go. Sinks are fed in the order they were added.
class MetricsSink {
 public:
  virtual ~MetricsSink() = default;
  virtual void write(int64_t step, const std::vector<Scalar>& scalars) = 0;
};

// "step 12 | loss 1.2346 | lr 9.5e-05 | ..." (values with 5 significant digits) handed to `out`,
// by default zt::log::info (stderr).
class ConsoleSink : public MetricsSink {
 public:
  explicit ConsoleSink(std::function<void(const std::string&)> out = {});
  void write(int64_t step, const std::vector<Scalar>& scalars) override;
  static std::string format(int64_t step, const std::vector<Scalar>& scalars);

 private:
  std::function<void(const std::string&)> out_;
};

// One JSON object per write: {"step": 12, "time": <unix seconds>, "loss": 1.23, ...} in tag order, appended
// to `path` (created with its directory) and flushed. Non-finite values are written as null (JSON has no NaN).
class JsonlSink : public MetricsSink {
 public:
  explicit JsonlSink(const std::string& path, std::function<double()> clock = {});
  ~JsonlSink() override;
  JsonlSink(const JsonlSink&) = delete;
  JsonlSink& operator=(const JsonlSink&) = delete;
  void write(int64_t step, const std::vector<Scalar>& scalars) override;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::function<double()> clock_;
  std::FILE* file_ = nullptr;
};

// Each scalar becomes one TensorBoard scalar event (tag as given, float value) at `step`.
class TensorBoardSink : public MetricsSink {
 public:
  explicit TensorBoardSink(const std::string& dir, EventWriterOptions opts = {});
  void write(int64_t step, const std::vector<Scalar>& scalars) override;
  const std::string& path() const { return writer_.path(); }

 private:
  EventWriter writer_;
};

class MetricsLogger {
 public:
  MetricsLogger() = default;
  // Adds a sink; returns it for callers that want its path.
  MetricsSink& add(std::unique_ptr<MetricsSink> sink);
  size_t num_sinks() const { return sinks_.size(); }

  // Records several scalars of one step at once (one console line, one JSONL object).
  void log_scalars(int64_t step, const std::vector<Scalar>& scalars);
  void log_scalar(const std::string& tag, int64_t step, double value) { log_scalars(step, {{tag, value}}); }

 private:
  std::vector<std::unique_ptr<MetricsSink>> sinks_;
};

}  // namespace zt::train
