// The metrics sinks (console, JSONL, TensorBoard) and the logger that fans a step's scalars out to them.
#include "train/metrics.hpp"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/log.hpp"

namespace zt::train {

namespace {
double system_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}
}  // namespace

ConsoleSink::ConsoleSink(std::function<void(const std::string&)> out) : out_(std::move(out)) {
  if (!out_) out_ = [](const std::string& line) { log::info(line); };
}

std::string ConsoleSink::format(int64_t step, const std::vector<Scalar>& scalars) {
  std::string line = "step " + std::to_string(step);
  for (auto& s : scalars) {
    char v[64];
    std::snprintf(v, sizeof v, "%.5g", s.value);
    line += " | " + s.tag + " " + v;
  }
  return line;
}

void ConsoleSink::write(int64_t step, const std::vector<Scalar>& scalars) { out_(format(step, scalars)); }

JsonlSink::JsonlSink(const std::string& path, std::function<double()> clock) : path_(path), clock_(std::move(clock)) {
  if (!clock_) clock_ = system_seconds;
  auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  check(!ec, "metrics: cannot create the directory " + parent.string() + ": " + ec.message());
  file_ = std::fopen(path.c_str(), "ab");
  check(file_ != nullptr, "metrics: cannot open " + path + " for appending: " + std::strerror(errno),
        "pick a writable path for the metrics file");
}

JsonlSink::~JsonlSink() {
  if (file_) std::fclose(file_);
}

void JsonlSink::write(int64_t step, const std::vector<Scalar>& scalars) {
  Json j = Json::object();
  j["step"] = step;
  j["time"] = clock_();
  for (auto& s : scalars) {
    check(s.tag != "step" && s.tag != "time", "metrics: the tag '" + s.tag + "' is reserved in the JSONL file");
    j[s.tag] = std::isfinite(s.value) ? Json(s.value) : Json(nullptr);
  }
  // nlohmann's default object is sorted by key; keep step and time first, then tags in the order given.
  std::string line = "{\"step\":" + j["step"].dump() + ",\"time\":" + j["time"].dump();
  for (auto& s : scalars) line += "," + Json(s.tag).dump() + ":" + j[s.tag].dump();
  line += "}\n";
  bool ok = std::fwrite(line.data(), 1, line.size(), file_) == line.size() && std::fflush(file_) == 0;
  check(ok, "metrics: writing " + path_ + " failed: " + std::strerror(errno), "check free disk space");
}

TensorBoardSink::TensorBoardSink(const std::string& dir, EventWriterOptions opts) : writer_(dir, std::move(opts)) {}

void TensorBoardSink::write(int64_t step, const std::vector<Scalar>& scalars) {
  for (auto& s : scalars) writer_.add_scalar(s.tag, step, float(s.value));
}

MetricsSink& MetricsLogger::add(std::unique_ptr<MetricsSink> sink) {
  check(sink != nullptr, "internal: MetricsLogger::add got a null sink");
  sinks_.push_back(std::move(sink));
  return *sinks_.back();
}

void MetricsLogger::log_scalars(int64_t step, const std::vector<Scalar>& scalars) {
  if (scalars.empty()) return;
  for (auto& s : scalars) check(!s.tag.empty(), "metrics: a scalar needs a non-empty tag");
  for (auto& sink : sinks_) sink->write(step, scalars);
}

}  // namespace zt::train
