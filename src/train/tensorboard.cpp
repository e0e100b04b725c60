// The TensorBoard event-file writer: protobuf wire encoding by hand (varints, fixed64/fixed32, length-delimited
// fields), TFRecord framing with masked CRC-32C, and a file that is flushed after every record.
#include "train/tensorboard.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "core/crc32c.hpp"
#include "core/error.hpp"

namespace zt::train {

namespace {

// Protobuf wire types.
constexpr uint32_t kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5;

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(char(uint8_t(v) | 0x80));
    v >>= 7;
  }
  out.push_back(char(uint8_t(v)));
}

void put_key(std::string& out, uint32_t field, uint32_t wire) { put_varint(out, (uint64_t(field) << 3) | wire); }

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(char(uint8_t(v >> (8 * i))));
}

void put_double(std::string& out, uint32_t field, double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  put_key(out, field, kFixed64);
  put_le(out, bits, 8);
}

void put_float(std::string& out, uint32_t field, float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  put_key(out, field, kFixed32);
  put_le(out, bits, 4);
}

void put_bytes(std::string& out, uint32_t field, std::string_view s) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, s.size());
  out.append(s);
}

// Fields of tensorflow.Event / Summary / Summary.Value (tensorboard/compat/proto/{event,summary}.proto).
constexpr uint32_t kEventWallTime = 1, kEventStep = 2, kEventFileVersion = 3, kEventSummary = 5;
constexpr uint32_t kSummaryValue = 1;
constexpr uint32_t kValueTag = 1, kValueSimpleValue = 2;

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == 0) return "localhost";
  return buf;
}

double system_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string tfrecord_frame(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 16);
  put_le(out, data.size(), 8);
  put_le(out, crc32c_mask(crc32c(out.data(), 8)), 4);
  out.append(data);
  put_le(out, crc32c_mask(crc32c(data)), 4);
  return out;
}

std::string encode_file_version_event(double wall_time) {
  std::string e;
  if (wall_time != 0.0) put_double(e, kEventWallTime, wall_time);
  put_bytes(e, kEventFileVersion, "brain.Event:2");
  return e;
}

std::string encode_scalar_event(double wall_time, int64_t step, std::string_view tag, float value) {
  std::string v;
  if (!tag.empty()) put_bytes(v, kValueTag, tag);
  put_float(v, kValueSimpleValue, value);
  std::string summary;
  put_bytes(summary, kSummaryValue, v);
  std::string e;
  if (wall_time != 0.0) put_double(e, kEventWallTime, wall_time);
  if (step != 0) {
    put_key(e, kEventStep, kVarint);
    put_varint(e, uint64_t(step));  // negative int64: ten-byte two's complement, as protobuf does
  }
  put_bytes(e, kEventSummary, summary);
  return e;
}

std::string event_file_name(int64_t unix_seconds, std::string_view hostname) {
  char t[32];
  std::snprintf(t, sizeof t, "%010lld", (long long)unix_seconds);
  std::string host(hostname.empty() ? std::string_view("localhost") : hostname);
  for (char& c : host)
    if (c == '/') c = '_';
  return std::string("events.out.tfevents.") + t + "." + host;
}

EventWriter::EventWriter(const std::string& dir, EventWriterOptions opts) : opts_(std::move(opts)) {
  if (!opts_.clock) opts_.clock = system_seconds;
  if (opts_.hostname.empty()) opts_.hostname = host_name();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  check(!ec, "tensorboard: cannot create the directory " + dir + ": " + ec.message(),
        "pick a writable --tensorboard_path (or ds_config tensorboard.output_path)");
  double now = opts_.clock();
  path_ = (std::filesystem::path(dir) / event_file_name(int64_t(now), opts_.hostname)).string();
  file_ = std::fopen(path_.c_str(), "ab");
  check(file_ != nullptr, "tensorboard: cannot open " + path_ + " for writing: " + std::strerror(errno),
        "pick a writable --tensorboard_path (or ds_config tensorboard.output_path)");
  write_record(encode_file_version_event(now));
}

EventWriter::~EventWriter() {
  if (file_) std::fclose(file_);
}

void EventWriter::add_scalar(std::string_view tag, int64_t step, float value) {
  check(!tag.empty(), "tensorboard: a scalar needs a non-empty tag");
  write_record(encode_scalar_event(opts_.clock(), step, tag, value));
}

void EventWriter::write_record(const std::string& event) {
  std::string rec = tfrecord_frame(event);
  bool ok = std::fwrite(rec.data(), 1, rec.size(), file_) == rec.size() && std::fflush(file_) == 0;
  check(ok, "tensorboard: writing " + path_ + " failed: " + std::strerror(errno), "check free disk space");
}

}  // namespace zt::train
