// safetensors reader/writer: round trips per dtype, conversions, zero-copy views, a golden file built
// byte by byte from the format spec, and one hand-built malformed file per validation rule.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/dtype.hpp"
#include "core/tensor.hpp"
#include "io/safetensors.hpp"
#include "io_test_util.hpp"

using namespace zt;
using namespace zt::iotest;

namespace {

Tensor make(DType dt, const Shape& shape, int seed) {
  Tensor t = Tensor::empty(shape, dt);
  for (int64_t i = 0; i < t.numel(); ++i) {
    double v = (i * 37 + seed * 11) % 101 * 0.25 - 12.0;
    switch (dt) {
      case DType::f32: t.data<float>()[i] = float(v); break;
      case DType::f64: t.data<double>()[i] = v / 3.0; break;
      case DType::bf16: t.data<uint16_t>()[i] = f32_to_bf16(float(v)); break;
      case DType::f16: t.data<uint16_t>()[i] = f32_to_f16(float(v)); break;
      case DType::i32: t.data<int32_t>()[i] = int32_t(i * 7 - 100 + seed); break;
      case DType::i64: t.data<int64_t>()[i] = (int64_t(1) << 40) + i - seed; break;
    }
  }
  return t;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

// Writes bytes to a file in d and opens it.
SafetensorsFile open_bytes(const ScratchDir& d, const std::string& bytes, const std::string& name = "t.safetensors") {
  write_bytes(d.file(name), bytes);
  return SafetensorsFile::open(d.file(name));
}

const std::string kOne = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";

}  // namespace

TEST(Safetensors, RoundTripEveryDtype) {
  ScratchDir d("roundtrip");
  std::vector<std::pair<std::string, Tensor>> ts = {
      {"model.f32", make(DType::f32, {3, 5}, 1)},   {"model.bf16", make(DType::bf16, {7}, 2)},
      {"model.f16", make(DType::f16, {2, 2, 3}, 3)}, {"model.f64", make(DType::f64, {4}, 4)},
      {"model.i32", make(DType::i32, {6}, 5)},       {"model.i64", make(DType::i64, {2, 3}, 6)},
      {"scalar", make(DType::f32, {}, 7)},           {"empty", make(DType::bf16, {0, 4}, 8)},
  };
  std::map<std::string, std::string> md = {{"format", "pt"}, {"note", "héllo \"quoted\""}};
  save_safetensors(d.file("a.safetensors"), ts, md);

  auto f = SafetensorsFile::open(d.file("a.safetensors"));
  EXPECT_EQ(f.metadata(), md);
  ASSERT_EQ(f.size(), ts.size());
  // Data is laid out widest dtype first (stable), so every tensor is aligned to its element size.
  EXPECT_EQ(f.names(), (std::vector<std::string>{"model.f64", "model.i64", "model.f32", "model.i32", "scalar", "model.bf16",
                                                 "model.f16", "empty"}));
  EXPECT_EQ(f.data_start() % 8, 0u);
  for (auto& [n, t] : ts) {
    const auto& e = f.info(n);
    EXPECT_TRUE(e.supported);
    EXPECT_EQ(e.dtype, t.dtype()) << n;
    EXPECT_EQ(e.shape, t.shape()) << n;
    EXPECT_EQ(e.st_dtype, safetensors_dtype_name(t.dtype()));
    EXPECT_EQ(e.begin % dtype_size(t.dtype()), 0u) << n;
    EXPECT_TRUE(same_bytes(f.view(n), t)) << n;
    EXPECT_TRUE(same_bytes(f.load(n, t.dtype()), t)) << n;
  }
  // No temporary file is left behind.
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(d.path)) {
    ++files;
    EXPECT_EQ(e.path().filename(), "a.safetensors");
  }
  EXPECT_EQ(files, 1);
}

TEST(Safetensors, Bf16ToF32IsExactForEveryPattern) {
  ScratchDir d("bf16");
  Tensor t = Tensor::empty({65536}, DType::bf16);
  for (uint32_t i = 0; i < 65536; ++i) t.data<uint16_t>()[i] = uint16_t(i);
  save_safetensors(d.file("b.safetensors"), {{"x", t}});
  Tensor f = SafetensorsFile::open(d.file("b.safetensors")).load("x", DType::f32);
  for (uint32_t i = 0; i < 65536; ++i) {
    uint32_t got;
    std::memcpy(&got, &f.data<float>()[i], 4);
    ASSERT_EQ(got, i << 16) << i;  // widening is a shift: bit-exact, NaN payloads included
  }
}

TEST(Safetensors, F32ToBf16RoundsToNearestEven) {
  ScratchDir d("round");
  Tensor t = Tensor::empty({6}, DType::f32);
  float in[6] = {1.0f, 1.00390625f /*tie -> down*/, 1.01171875f /*tie -> up*/, std::nextafter(1.00390625f, 2.0f) /*above tie*/,
                 -2.5f, 3.0e38f};
  std::memcpy(t.raw(), in, sizeof in);
  save_safetensors(d.file("r.safetensors"), {{"x", t}});
  auto f = SafetensorsFile::open(d.file("r.safetensors"));
  Tensor b = f.load("x", DType::bf16);
  const uint16_t* p = b.data<uint16_t>();
  EXPECT_EQ(p[0], 0x3f80);
  EXPECT_EQ(p[1], 0x3f80);
  EXPECT_EQ(p[2], 0x3f82);
  EXPECT_EQ(p[3], 0x3f81);
  EXPECT_EQ(p[4], 0xc020);
  EXPECT_EQ(p[5], f32_to_bf16(3.0e38f));
  // f16 and f64 conversions go through the same path
  Tensor h = f.load("x", DType::f16);
  EXPECT_EQ(h.data<uint16_t>()[0], 0x3c00);
  EXPECT_EQ(h.data<uint16_t>()[5], 0x7c00);  // overflows f16
  EXPECT_EQ(f.load("x", DType::f64).data<double>()[1], 1.00390625);
}

TEST(Safetensors, IntegerTensorsLoadOnlyAsThemselves) {
  ScratchDir d("ints");
  save_safetensors(d.file("i.safetensors"), {{"ids", make(DType::i64, {3}, 0)}});
  auto f = SafetensorsFile::open(d.file("i.safetensors"));
  EXPECT_EQ(f.load("ids", DType::i64).data<int64_t>()[2], (int64_t(1) << 40) + 2);
  expect_error([&] { f.load("ids", DType::f32); }, {"'ids'", "I64", "cannot be loaded as f32", "load it as i64"});
  expect_error([&] { f.info("nope"); }, {"i.safetensors", "no tensor named 'nope'"});
}

TEST(Safetensors, ViewIsZeroCopyOverTheMapping) {
  ScratchDir d("zerocopy");
  Tensor t = make(DType::f32, {64, 64}, 3);
  std::string path = d.file("z.safetensors");
  save_safetensors(path, {{"a", make(DType::bf16, {5}, 1)}, {"w", t}});
  Tensor v;
  {
    auto f = SafetensorsFile::open(path);
    v = f.view("w");
    EXPECT_EQ(f.view("w").raw(), v.raw());  // same mapped bytes each time
    EXPECT_EQ(v.buffer()->size(), t.nbytes());
    // The pointer lies in a mapping of this very file (/proc/self/maps), not in a heap copy.
    std::ifstream maps("/proc/self/maps");
    std::string line;
    bool found = false;
    auto addr = reinterpret_cast<uintptr_t>(v.raw());
    while (std::getline(maps, line)) {
      if (line.find(std::filesystem::canonical(path).string()) == std::string::npos) continue;
      std::istringstream ls(line);
      std::string range;
      ls >> range;
      uintptr_t lo = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
      uintptr_t hi = std::stoull(range.substr(range.find('-') + 1), nullptr, 16);
      found |= addr >= lo && addr + t.nbytes() <= hi;
    }
    EXPECT_TRUE(found) << "view is not inside the file's mapping";
  }
  // The view keeps the mapping alive after the file object is gone.
  EXPECT_TRUE(same_bytes(v, t));

  // Memory-span parsing views the caller's bytes directly.
  std::string bytes = read_bytes(path);
  std::vector<uint64_t> aligned((bytes.size() + 7) / 8);
  std::memcpy(aligned.data(), bytes.data(), bytes.size());
  auto* base = reinterpret_cast<const unsigned char*>(aligned.data());
  auto m = SafetensorsFile::parse(base, bytes.size(), "mem");
  const auto& e = m.info("w");
  EXPECT_EQ(m.view("w").raw(), base + m.data_start() + e.begin);
}

TEST(Safetensors, GoldenBytesFromTheSpec) {
  // Built from the format description: u64 LE header size, compact JSON header padded with spaces to a
  // multiple of 8, then little-endian tensor data. Tensors are laid out (and listed) widest dtype first,
  // c: I64, a: F32, b: BF16, so each is aligned to its element size, as the reference writer does.
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"c":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)"
      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"b":{"dtype":"BF16","shape":[1,3],"data_offsets":[16,22]}})";
  ASSERT_EQ(header.size(), 196u);
  std::string golden = std::string("\xc8\0\0\0\0\0\0\0", 8) + header + "    " +
                       std::string("\x02\x01\0\0\0\0\0\0", 8) +               // c = 258
                       std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8) +  // a = [1.0, -2.0]
                       std::string("\x80\x3f\x00\x40\x40\xc0", 6);             // b = [[1.0, 2.0, -3.0]] in bf16
  ASSERT_EQ(golden.size(), 8u + 200u + 22u);

  ScratchDir d("golden");
  write_bytes(d.file("golden.safetensors"), golden);
  auto g = SafetensorsFile::open(d.file("golden.safetensors"));
  EXPECT_EQ(g.names(), (std::vector<std::string>{"c", "a", "b"}));  // offset order
  EXPECT_EQ(g.metadata().at("format"), "pt");
  Tensor a = g.load("a", DType::f32), b = g.load("b", DType::f32), c = g.view("c");
  EXPECT_EQ(a.data<float>()[0], 1.0f);
  EXPECT_EQ(a.data<float>()[1], -2.0f);
  EXPECT_EQ(b.shape(), (Shape{1, 3}));
  EXPECT_EQ(b.data<float>()[2], -3.0f);
  EXPECT_EQ(c.shape(), Shape{});
  EXPECT_EQ(c.data<int64_t>()[0], 258);

  // Our writer, given the same tensors, produces exactly these bytes.
  save_safetensors(d.file("ours.safetensors"), {{"a", g.view("a")}, {"b", g.view("b")}, {"c", c}}, {{"format", "pt"}});
  EXPECT_EQ(read_bytes(d.file("ours.safetensors")), golden);
}

TEST(Safetensors, GapsAndTrailingBytesAreTolerated) {
  ScratchDir d("gaps");
  std::string data(20, '\0');
  float x = 1.5f, y = -4.0f;
  std::memcpy(&data[0], &x, 4);
  std::memcpy(&data[8], &y, 4);
  auto f = open_bytes(d, st_bytes(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"F32","shape":[],"data_offsets":[8,12]}})", data));
  EXPECT_EQ(f.view("x").data<float>()[0], 1.5f);
  EXPECT_EQ(f.view("y").data<float>()[0], -4.0f);
  // zero-size tensors may sit inside another's range: they read nothing
  auto z = open_bytes(d, st_bytes(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})", data));
  EXPECT_EQ(z.view("e").numel(), 0);
}

TEST(Safetensors, UnpaddedHeaderGivesMisalignedDataThatStillReads) {
  ScratchDir d("misaligned");
  std::string data(8, '\0');
  float v[2] = {3.25f, -1.0f};
  std::memcpy(data.data(), v, 8);
  std::string h = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ASSERT_NE(h.size() % 4, 0u);
  auto f = open_bytes(d, st_bytes(h, data, /*pad=*/false));
  Tensor t = f.view("w");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 4, 0u);
  EXPECT_EQ(t.data<float>()[0], 3.25f);
  EXPECT_EQ(f.load("w", DType::f32).data<float>()[1], -1.0f);
}

TEST(Safetensors, UnsupportedDtypesAreListedButNotRead) {
  ScratchDir d("unsupported");
  auto f = open_bytes(d, st_bytes(R"({"q":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]},)"
                                  R"("m":{"dtype":"BOOL","shape":[2],"data_offsets":[4,6]},"u":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}})",
                                  std::string(8, '\1')));
  EXPECT_EQ(f.names(), (std::vector<std::string>{"q", "m", "u"}));
  EXPECT_FALSE(f.info("q").supported);
  expect_error([&] { f.view("q"); }, {"t.safetensors", "'q'", "F8_E4M3", "does not read"});
  expect_error([&] { f.load("m", DType::f32); }, {"'m'", "BOOL"});
  expect_error([&] { f.view("u"); }, {"'u'", "U8"});
}

TEST(Safetensors, RejectsMalformedFiles) {
  ScratchDir d("malformed");
  const std::string F = "t.safetensors";
  auto bad = [&](const std::string& bytes, std::initializer_list<std::string> needles) {
    std::vector<std::string> all(needles);
    all.push_back(F);  // every message names the file
    write_bytes(d.file(F), bytes);
    try {
      SafetensorsFile::open(d.file(F));
      ADD_FAILURE() << "accepted: expected error with '" << *needles.begin() << "'";
    } catch (const Error& e) {
      std::string msg = e.what();
      for (const auto& n : all) EXPECT_NE(msg.find(n), std::string::npos) << "missing '" << n << "' in: " << msg;
      EXPECT_FALSE(e.hint().empty()) << msg;
    }
  };
  auto entry = [](const std::string& body) { return "{\"w\":" + body + "}"; };
  const std::string d4(4, '\0');

  bad("", {"0 bytes", "shorter than the 8-byte"});
  bad("abc", {"3 bytes", "shorter"});
  bad(le64(100) + "{}", {"header length 100", "exceeds the file size"});
  bad(le64(200'000'000) + std::string(16, ' '), {"exceeds the 100 MB limit"});
  bad(le64(uint64_t(-1)) + "{}", {"exceeds the 100 MB limit"});
  bad(st_bytes("{\"w\": ", d4), {"not valid JSON"});
  bad(st_bytes(std::string("{\"w\xff\":1}"), d4), {"not valid JSON"});  // invalid UTF-8
  bad(st_bytes("[1,2]", d4), {"must be a JSON object", "array"});
  bad(st_bytes(entry("3"), d4), {"tensor 'w'", "must be an object"});
  bad(st_bytes(entry(R"({"shape":[1],"data_offsets":[0,4]})"), d4), {"tensor 'w'", "missing 'dtype'"});
  bad(st_bytes(entry(R"({"dtype":"F32","data_offsets":[0,4]})"), d4), {"tensor 'w'", "missing 'shape'"});
  bad(st_bytes(entry(R"({"dtype":"F32","shape":[1]})"), d4), {"tensor 'w'", "missing 'data_offsets'"});
  bad(st_bytes(entry(R"({"dtype":7,"shape":[1],"data_offsets":[0,4]})"), d4), {"'dtype' must be a string"});
  bad(st_bytes(entry(R"({"dtype":"F32","shape":"1","data_offsets":[0,4]})"), d4), {"'shape' must be an array"});
  bad(st_bytes(entry(R"({"dtype":"F32","shape":[1],"data_offsets":[0]})"), d4), {"'data_offsets' must be [begin, end]"});
  bad(st_bytes(entry(R"({"dtype":"F32","shape":[1],"data_offsets":{"a":1}})"), d4), {"'data_offsets' must be [begin, end]"});
  bad(st_bytes(entry(R"({"dtype":"F32","shape":[1],"data_offsets":["0","4"]})"), d4), {"two non-negative integers"});
  bad(st_bytes(entry(R"({"dtype":"F32","shape":[1],"data_offsets":[-4,0]})"), d4), {"two non-negative integers"});
  bad(st_bytes(entry(R"({"dtype":"Q9","shape":[1],"data_offsets":[0,4]})"), d4), {"tensor 'w'", "unknown dtype 'Q9'", "F32, BF16"});
  bad(st_bytes(entry(R"({"dtype":"F32","shape":[-1],"data_offsets":[0,4]})"), d4), {"tensor 'w'", "dimension -1", "non-negative integer"});
  bad(st_bytes(entry(R"({"dtype":"F32","shape":[1.5],"data_offsets":[0,4]})"), d4), {"dimension 1.5"});
  bad(st_bytes(entry(R"({"dtype":"F32","shape":[true],"data_offsets":[0,4]})"), d4), {"dimension true"});
  bad(st_bytes(entry(R"({"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,4]})"), d4), {"non-negative integer"});
  bad(st_bytes(entry(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]})"), d4), {"more elements than fit"});
  // a zero dim does not excuse the others: Tensor's stride math would still overflow
  bad(st_bytes(entry(R"({"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]})"), d4), {"more elements than fit"});
  bad(st_bytes(entry(R"({"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,4]})"), d4), {"too large"});
  bad(st_bytes(entry(R"({"dtype":"F4","shape":[3],"data_offsets":[0,2]})"), d4), {"do not fill whole bytes"});
  bad(st_bytes(entry(R"({"dtype":"F32","shape":[1],"data_offsets":[4,0]})"), d4), {"begin > end"});
  bad(st_bytes(entry(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4]})"), d4), {"span 4 bytes", "needs 8"});
  bad(st_bytes(entry(R"({"dtype":"F32","shape":[1],"data_offsets":[4,8]})"), d4), {"run past the data region (4 bytes)"});
  bad(st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
               std::string(8, '\0')),
      {"'a' and 'b' overlap"});
  bad(st_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", d4),
      {"'a' appears twice"});
  bad(st_bytes(R"({"__metadata__":["x"]})", d4), {"'__metadata__' must be an object"});
  bad(st_bytes(R"({"__metadata__":{"k":1}})", d4), {"'__metadata__' value for 'k' must be a string"});
  bad(st_bytes(R"({"__metadata__":{"k":{"a":"b"}}})", d4), {"'__metadata__' value for 'k'"});
  bad(st_bytes(entry(R"({"dtype":"F32","shape":[[[[1]]]],"data_offsets":[0,4]})"), d4), {"nests deeper"});
  bad(st_bytes(std::string(5000, '[') + std::string(5000, ']'), d4), {"nests deeper"});
}

TEST(Safetensors, AcceptsMinimalAndEmptyFiles) {
  ScratchDir d("minimal");
  auto f = open_bytes(d, st_bytes("{}", ""));
  EXPECT_EQ(f.size(), 0u);
  auto g = open_bytes(d, st_bytes(kOne, std::string("\0\0\x80\x3f", 4)));
  EXPECT_EQ(g.view("w").data<float>()[0], 1.0f);
  // Extra keys in an entry are ignored, as the reference reader does.
  auto h = open_bytes(d, st_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}})", std::string(4, '\0')));
  EXPECT_EQ(h.size(), 1u);
}

TEST(Safetensors, WriterRejectsBadInput) {
  ScratchDir d("writer");
  Tensor t = make(DType::f32, {2}, 0);
  expect_error([&] { save_safetensors(d.file("x.safetensors"), {{"a", t}, {"a", t}}); }, {"'a'", "twice"});
  expect_error([&] { save_safetensors(d.file("x.safetensors"), {{"__metadata__", t}}); }, {"reserved"});
  expect_error([&] { save_safetensors(d.file("x.safetensors"), {{"u", Tensor()}}); }, {"'u'", "undefined"});
  expect_error([&] { save_safetensors(d.file("x.safetensors"), {{std::string("\xff"), t}}); }, {"UTF-8"});
  expect_error([&] { save_safetensors(d.file("no/such/dir/x.safetensors"), {{"a", t}}); }, {"cannot create", "no/such/dir"});
  EXPECT_TRUE(std::filesystem::is_empty(d.path));  // failed saves leave nothing behind
}

TEST(Safetensors, WriterMatchesTheReferenceWriterByteForByte) {
  // The model fixtures were written by transformers (huggingface safetensors' serialize). Re-saving their
  // tensors in name order with {"format": "pt"} must reproduce each file exactly.
  ScratchDir d("reference");
  int checked = 0;
  for (const char* m : {"llama31", "qwen2", "mistral", "llama2"}) {
    std::string path = std::string(ZT_SOURCE_DIR) + "/tests/fixtures/hf/" + m + "/model/model.safetensors";
    if (!std::filesystem::exists(path)) continue;
    auto f = SafetensorsFile::open(path);
    // The reference layout has no gaps: the ranges tile the data region exactly.
    uint64_t end = 0;
    for (const auto& n : f.names()) {
      EXPECT_EQ(f.info(n).begin, end) << path << " " << n;
      end = f.info(n).end;
    }
    EXPECT_EQ(f.data_start() + end, std::filesystem::file_size(path));
    std::vector<std::string> names = f.names();
    std::sort(names.begin(), names.end());
    std::vector<std::pair<std::string, Tensor>> ts;
    for (const auto& n : names) ts.emplace_back(n, f.view(n));
    save_safetensors(d.file("out.safetensors"), ts, f.metadata());
    EXPECT_TRUE(read_bytes(d.file("out.safetensors")) == read_bytes(path)) << m;
    ++checked;
  }
  EXPECT_GT(checked, 0) << "no fixtures under tests/fixtures/hf";
}
