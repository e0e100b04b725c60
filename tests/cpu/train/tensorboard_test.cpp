// Tests of CRC-32C (published vectors, a bit-at-a-time reference), TFRecord framing, the hand-encoded Event
// protobuf bytes, the event writer against the committed fixture that TensorBoard's reader checks, and the metrics sinks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/crc32c.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "train/metrics.hpp"
#include "train/tensorboard.hpp"

using namespace zt;
using namespace zt::train;
namespace fs = std::filesystem;

namespace {

// The definition, one bit at a time (reflected polynomial 0x82F63B78, init and final xor 0xffffffff).
uint32_t crc32c_bitwise(const std::string& s) {
  uint32_t c = 0xffffffffu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return ~c;
}

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(char(uint8_t(b)));
  return s;
}

std::string read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

uint64_t le(const std::string& s, size_t at, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | uint8_t(s[at + size_t(i)]);
  return v;
}

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::path(ZT_BINARY_DIR) / "tensorboard_test" / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// A clock that starts at t0 and advances by dt per call (the writer asks once per record).
std::function<double()> stepping_clock(double t0, double dt) {
  auto t = std::make_shared<double>(t0 - dt);
  return [t, dt] { return *t += dt; };
}

// The fixture's scalars: (tag, step, value), written in this order.
struct Point {
  const char* tag;
  int64_t step;
  float value;
};
const std::vector<Point> kFixture = {
    {"Train/Samples/train_loss", 0, 2.5f},     {"Train/Samples/lr", 0, 0.0f},
    {"Train/Samples/train_loss", 16, 0.1f},    {"Train/Samples/lr", 16, 1e-4f},
    {"Train/Samples/loss_scale", 16, 65536.0f}, {"Train/Samples/train_loss", 1000000, -1.5f},
    {"eval/ppl", 1, 12.75f},                   {"Train/Samples/train_loss", 1099511627776LL, 3.25f},
};
constexpr double kFixtureT0 = 1700000000.25;  // the file_version event; each scalar 0.5 s later
const char* kFixtureHost = "zerotune-fixture";

}  // namespace

TEST(Crc32c, PublishedVectors) {
  EXPECT_EQ(crc32c(std::string_view("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c(std::string_view("")), 0u);
  EXPECT_EQ(crc32c(std::string_view("a")), 0xC1D04330u);
  // RFC 3720 (iSCSI) appendix B.4.
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string up, down;
  for (int i = 0; i < 32; ++i) up.push_back(char(i)), down.push_back(char(31 - i));
  EXPECT_EQ(crc32c(up), 0x46DD794Eu);
  EXPECT_EQ(crc32c(down), 0x113FDB5Cu);
}

TEST(Crc32c, SlicingMatchesTheBitwiseDefinitionAtEveryAlignmentAndLength) {
  std::mt19937 rng(7);
  std::string buf(300, '\0');
  for (char& c : buf) c = char(rng());
  for (size_t off = 0; off < 9; ++off)
    for (size_t n : {0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 255, 291}) {
      std::string s = buf.substr(off, n);
      EXPECT_EQ(crc32c(buf.data() + off, n), crc32c_bitwise(s)) << off << " " << n;
    }
  // Extending: crc(ab) == crc(b, crc(a)).
  EXPECT_EQ(crc32c(std::string_view("6789"), crc32c(std::string_view("12345"))), 0xE3069283u);
}

TEST(Crc32c, TfRecordMask) {
  for (uint32_t c : {0u, 1u, 0xE3069283u, 0xffffffffu, 0x80000000u}) {
    uint32_t expect = uint32_t(((c >> 15) | (c << 17)) + 0xa282ead8u);
    EXPECT_EQ(crc32c_mask(c), expect);
    EXPECT_EQ(crc32c_unmask(crc32c_mask(c)), c);
  }
  EXPECT_EQ(crc32c_mask(0), 0xa282ead8u);
  EXPECT_EQ(crc32c_mask(0xE3069283u), uint32_t(((0xE3069283u >> 15) | (0xE3069283u << 17)) + 0xa282ead8u));
}

TEST(TfRecord, Framing) {
  for (std::string data : {std::string(), std::string("x"), std::string(1000, 'q')}) {
    std::string r = tfrecord_frame(data);
    ASSERT_EQ(r.size(), data.size() + 16);
    EXPECT_EQ(le(r, 0, 8), data.size());
    EXPECT_EQ(uint32_t(le(r, 8, 4)), crc32c_mask(crc32c_bitwise(r.substr(0, 8))));
    EXPECT_EQ(r.substr(12, data.size()), data);
    EXPECT_EQ(uint32_t(le(r, 12 + data.size(), 4)), crc32c_mask(crc32c_bitwise(data)));
  }
  // The empty record, byte for byte: 8 zero bytes, mask(crc32c(8 zeros)), mask(crc32c("")) = mask(0).
  uint32_t c = crc32c_mask(crc32c_bitwise(std::string(8, '\0')));
  std::string expect = std::string(8, '\0') + bytes({int(c & 0xff), int((c >> 8) & 0xff), int((c >> 16) & 0xff), int(c >> 24)}) +
                       bytes({0xd8, 0xea, 0x82, 0xa2});
  EXPECT_EQ(tfrecord_frame(""), expect);
}

TEST(EventProto, FileVersionEventBytes) {
  // wall_time 1.5 = 0x3FF8000000000000 (field 1, fixed64), file_version (field 3, length 13).
  std::string expect = bytes({0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x1a, 13}) + "brain.Event:2";
  EXPECT_EQ(encode_file_version_event(1.5), expect);
}

TEST(EventProto, ScalarEventBytes) {
  // Event{wall_time 1.5, step 300 (varint ac 02), summary{value{tag "a", simple_value 2.0f (0x40000000)}}}.
  std::string value = bytes({0x0a, 0x01, 'a', 0x15, 0x00, 0x00, 0x00, 0x40});
  std::string summary = bytes({0x0a, int(value.size())}) + value;
  std::string expect = bytes({0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x10, 0xac, 0x02, 0x2a, int(summary.size())}) + summary;
  EXPECT_EQ(encode_scalar_event(1.5, 300, "a", 2.0f), expect);
  // Step 0 is omitted (proto3 default) but a 0.0 value is kept (simple_value is in a oneof).
  std::string zero_value = bytes({0x0a, 0x01, 'a', 0x15, 0, 0, 0, 0});
  EXPECT_EQ(encode_scalar_event(1.5, 0, "a", 0.0f),
            bytes({0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x2a, 10, 0x0a, 8}) + zero_value);
  // A negative step is the ten-byte two's-complement varint.
  std::string neg = encode_scalar_event(1.5, -1, "a", 2.0f);
  EXPECT_EQ(neg.substr(9, 11), bytes({0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
  // A 2^40 step and a 200-byte tag (two-byte length varints).
  std::string big = encode_scalar_event(1.5, int64_t(1) << 40, std::string(200, 't'), 1.0f);
  EXPECT_EQ(big.substr(9, 7), bytes({0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20}));
  // summary length = 2 (value key + 1-byte len? no: value is 208 bytes -> 2-byte len) + 208
  size_t value_len = 1 + 2 + 200 + 5;
  size_t summary_len = 1 + 2 + value_len;
  EXPECT_EQ(big.substr(16, 3), bytes({0x2a, int(summary_len & 0x7f) | 0x80, int(summary_len >> 7)}));
  EXPECT_EQ(big.size(), 16 + 3 + summary_len);
}

TEST(EventFile, NameAndWriter) {
  EXPECT_EQ(event_file_name(1700000000, "node-1"), "events.out.tfevents.1700000000.node-1");
  EXPECT_EQ(event_file_name(5, "a/b"), "events.out.tfevents.0000000005.a_b");
  fs::path dir = fresh_dir("writer") / "nested" / "run";
  {
    EventWriter w(dir.string(), {stepping_clock(100.0, 1.0), "h"});
    EXPECT_EQ(fs::path(w.path()).filename(), "events.out.tfevents.0000000100.h");
    // Flushed at once: the file holds the version record before any scalar.
    EXPECT_EQ(read_all(w.path()), tfrecord_frame(encode_file_version_event(100.0)));
    w.add_scalar("loss", 3, 1.25f);
    EXPECT_EQ(read_all(w.path()),
              tfrecord_frame(encode_file_version_event(100.0)) + tfrecord_frame(encode_scalar_event(101.0, 3, "loss", 1.25f)));
    EXPECT_THROW(w.add_scalar("", 1, 1.0f), Error);
  }
  EventWriter real((fresh_dir("real")).string());  // system clock and host name
  EXPECT_EQ(fs::path(real.path()).filename().string().rfind("events.out.tfevents.", 0), 0u);
  EXPECT_THROW(EventWriter("/proc/no/such/dir"), Error);
}

// The committed fixture (tests/fixtures/tensorboard/) was written by this writer with a fixed clock and host name
// and is read by TensorBoard's own EventAccumulator on the GPU machine (tools/fixtures/check_tensorboard.py);
// expected.json is what that script prints. Here: our writer still reproduces the file byte for byte, and the
// JSON agrees with what we wrote.
TEST(EventFile, ReproducesTheCommittedFixture) {
  fs::path fixture_dir = fs::path(ZT_SOURCE_DIR) / "tests/fixtures/tensorboard";
  std::string name = event_file_name(int64_t(kFixtureT0), kFixtureHost);
  fs::path out = fresh_dir("fixture");
  {
    EventWriter w(out.string(), {stepping_clock(kFixtureT0, 0.5), kFixtureHost});
    for (auto& p : kFixture) w.add_scalar(p.tag, p.step, p.value);
  }
  std::string ours = read_all(out / name);
  ASSERT_FALSE(ours.empty());
  if (std::getenv("ZT_WRITE_FIXTURES")) {  // regenerate: ZT_WRITE_FIXTURES=1 ./cpu_tensorboard_test
    fs::create_directories(fixture_dir);
    std::ofstream(fixture_dir / name, std::ios::binary) << ours;
  }
  ASSERT_TRUE(fs::exists(fixture_dir / name)) << "missing fixture " << (fixture_dir / name);
  EXPECT_EQ(ours, read_all(fixture_dir / name)) << "the event-file bytes changed";

  // Walk the records: framing and CRCs valid, 1 + N events.
  size_t at = 0, records = 0;
  while (at < ours.size()) {
    uint64_t n = le(ours, at, 8);
    ASSERT_LE(at + 16 + n, ours.size());
    EXPECT_EQ(uint32_t(le(ours, at + 8, 4)), crc32c_mask(crc32c_bitwise(ours.substr(at, 8))));
    EXPECT_EQ(uint32_t(le(ours, at + 12 + n, 4)), crc32c_mask(crc32c_bitwise(ours.substr(at + 12, n))));
    at += 16 + n;
    ++records;
  }
  EXPECT_EQ(records, 1 + kFixture.size());

  Json expected = load_json_file((fixture_dir / "expected.json").string());
  EXPECT_EQ(expected["file_version"], 2.0);  // EventAccumulator.file_version: the number after "brain.Event:"
  std::map<std::string, std::vector<std::tuple<int64_t, double, double>>> by_tag;  // step, wall_time, value
  double t = kFixtureT0;
  for (auto& p : kFixture) by_tag[p.tag].emplace_back(p.step, t += 0.5, double(p.value));
  ASSERT_EQ(expected["scalars"].size(), by_tag.size());
  for (auto& [tag, points] : by_tag) {
    const Json& got = expected["scalars"][tag];
    ASSERT_EQ(got.size(), points.size()) << tag;
    for (size_t i = 0; i < points.size(); ++i) {
      EXPECT_EQ(got[i]["step"].get<int64_t>(), std::get<0>(points[i])) << tag;
      EXPECT_EQ(got[i]["wall_time"].get<double>(), std::get<1>(points[i])) << tag;
      EXPECT_EQ(got[i]["value"].get<double>(), std::get<2>(points[i])) << tag;  // float32 widened exactly
    }
  }
}

TEST(Metrics, ConsoleJsonlAndTensorBoardSinks) {
  fs::path dir = fresh_dir("metrics");
  std::vector<std::string> lines;
  MetricsLogger m;
  m.add(std::make_unique<ConsoleSink>([&](const std::string& l) { lines.push_back(l); }));
  auto& jsonl = static_cast<JsonlSink&>(m.add(std::make_unique<JsonlSink>((dir / "sub/metrics.jsonl").string(),
                                                                          stepping_clock(10.0, 1.0))));
  auto& tb = static_cast<TensorBoardSink&>(m.add(std::make_unique<TensorBoardSink>((dir / "tb").string(),
                                                                                   EventWriterOptions{stepping_clock(5.0, 1.0), "h"})));
  EXPECT_EQ(m.num_sinks(), 3u);
  m.log_scalars(12, {{"loss", 1.23456789}, {"lr", 9.5e-05}, {"grad_norm", NAN}});
  m.log_scalar("ppl", 13, 3.5);
  m.log_scalars(14, {});  // nothing to log: no line
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "step 12 | loss 1.2346 | lr 9.5e-05 | grad_norm nan");
  EXPECT_EQ(lines[1], "step 13 | ppl 3.5");
  EXPECT_EQ(read_all(jsonl.path()),
            "{\"step\":12,\"time\":10.0,\"loss\":1.23456789,\"lr\":9.5e-05,\"grad_norm\":null}\n"
            "{\"step\":13,\"time\":11.0,\"ppl\":3.5}\n");
  std::string expect_tb = tfrecord_frame(encode_file_version_event(5.0)) +
                          tfrecord_frame(encode_scalar_event(6.0, 12, "loss", float(1.23456789))) +
                          tfrecord_frame(encode_scalar_event(7.0, 12, "lr", float(9.5e-05))) +
                          tfrecord_frame(encode_scalar_event(8.0, 12, "grad_norm", NAN)) +
                          tfrecord_frame(encode_scalar_event(9.0, 13, "ppl", 3.5f));
  EXPECT_EQ(read_all(tb.path()), expect_tb);
  EXPECT_THROW(m.log_scalar("", 1, 1.0), Error);
  EXPECT_THROW(m.log_scalar("step", 1, 1.0), Error);  // reserved in the JSONL
  EXPECT_THROW(m.add(nullptr), Error);
  EXPECT_THROW(JsonlSink("/proc/no/such/file.jsonl"), Error);
}
