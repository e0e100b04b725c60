// TensorBoard event files written by our own code: TFRecord framing (length, masked CRC-32C of the length,
// data, masked CRC-32C of the data) around hand-encoded `tensorflow.Event` protobuf messages with scalar summaries.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

namespace zt::train {

// ---- encoding (pure functions, tested byte for byte) ----

// One TFRecord: uint64 LE length, uint32 LE masked crc32c(length bytes), data, uint32 LE masked crc32c(data).
std::string tfrecord_frame(std::string_view data);

// Event{wall_time (field 1, double), file_version (field 3) = "brain.Event:2"}: the first record of every
// event file. Step 0 is omitted as proto3 omits default scalars (TensorBoard's own writers do the same).
std::string encode_file_version_event(double wall_time);

// Event{wall_time (1), step (2, int64 varint; omitted when 0), summary (5) = Summary{value (1) =
// Value{tag (1), simple_value (2, float)}}}. simple_value is in a oneof, so it is written even when 0.
std::string encode_scalar_event(double wall_time, int64_t step, std::string_view tag, float value);

// "events.out.tfevents.<unix seconds, at least 10 digits>.<hostname>"; '/' in a hostname becomes '_'.
std::string event_file_name(int64_t unix_seconds, std::string_view hostname);

// ---- writer ----

struct EventWriterOptions {
  std::function<double()> clock;  // seconds since the epoch; default: the system clock
  std::string hostname;           // default: gethostname()
};

// Creates `dir` (and parents), opens dir/events.out.tfevents.<time>.<host> (the time from the clock at
// construction), writes the file_version event and flushes. Every add_scalar() is flushed at once, so a
// crash loses nothing already logged and TensorBoard sees values live. Not thread-safe; one per process/rank.
class EventWriter {
 public:
  explicit EventWriter(const std::string& dir, EventWriterOptions opts = {});
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // Tags are TensorBoard's slash-separated names, e.g. "Train/Samples/train_loss"; must be non-empty.
  void add_scalar(std::string_view tag, int64_t step, float value);
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& event);
  EventWriterOptions opts_;
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace zt::train
