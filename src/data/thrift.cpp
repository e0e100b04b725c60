// Thrift compact protocol decoding for Parquet metadata. Hand-written from the protocol description; every
// byte read is bounds-checked and nesting is capped so that malformed files fail with an error, never a crash.
#include "data/thrift.hpp"

#include <cstring>

#include "core/error.hpp"

namespace zt::data::thrift {

static constexpr int kMaxDepth = 60;

void Reader::malformed(const std::string& why) const {
  fail(what_ + ": malformed Thrift metadata at byte " + std::to_string(position()) + ": " + why,
       "the file is truncated or not a Parquet file; re-download or re-export it");
}

uint8_t Reader::u8() {
  if (p_ >= end_) malformed("unexpected end of data");
  return *p_++;
}

uint64_t Reader::varint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    uint8_t b = u8();
    v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  malformed("varint longer than 10 bytes");
}

int64_t Reader::zigzag64() {
  uint64_t u = varint();
  return int64_t(u >> 1) ^ -int64_t(u & 1);
}

int32_t Reader::i32() {
  int64_t v = zigzag64();
  if (v < INT32_MIN || v > INT32_MAX) malformed("i32 out of range");
  return int32_t(v);
}

int64_t Reader::i64() { return zigzag64(); }

int8_t Reader::byte() { return int8_t(u8()); }

bool Reader::bool_elem() { return u8() == 1; }

double Reader::dbl() {
  if (end_ - p_ < 8) malformed("unexpected end of data in a double");
  double d;
  std::memcpy(&d, p_, 8);
  p_ += 8;
  return d;
}

std::string Reader::binary() {
  uint64_t n = varint();
  if (n > uint64_t(end_ - p_)) malformed("binary of " + std::to_string(n) + " bytes runs past the end");
  std::string s(reinterpret_cast<const char*>(p_), size_t(n));
  p_ += n;
  return s;
}

void Reader::begin_struct() {
  if (depth_ >= kMaxDepth) malformed("structures nested too deeply");
  last_id_[depth_++] = 0;
}

void Reader::end_struct() {
  if (depth_ > 0) --depth_;
}

FieldHeader Reader::field() {
  FieldHeader f;
  uint8_t b = u8();
  f.type = b & 0x0f;
  if (f.type == kStop) return f;
  int delta = b >> 4;
  int16_t& last = last_id_[depth_ > 0 ? depth_ - 1 : 0];
  if (delta)
    f.id = int16_t(last + delta);
  else
    f.id = int16_t(i32());
  last = f.id;
  if (f.type == kTrue || f.type == kFalse) f.bool_value = f.type == kTrue;
  if (f.type > kStruct) malformed("unknown field type " + std::to_string(f.type));
  return f;
}

ListHeader Reader::list() {
  ListHeader h;
  uint8_t b = u8();
  h.elem_type = b & 0x0f;
  uint64_t n = b >> 4;
  if (n == 15) n = varint();
  // Every element takes at least one byte (bools in lists too), so a larger count is malformed.
  if (n > uint64_t(end_ - p_)) malformed("list size " + std::to_string(n) + " exceeds the data");
  h.size = uint32_t(n);
  return h;
}

void Reader::skip(uint8_t type) {
  switch (type) {
    case kTrue:
    case kFalse:
      return;  // value lives in the field header (struct fields); list elements use bool_elem
    case kByte: u8(); return;
    case kI16:
    case kI32:
    case kI64: varint(); return;
    case kDouble: dbl(); return;
    case kBinary: {
      uint64_t n = varint();
      if (n > uint64_t(end_ - p_)) malformed("binary runs past the end");
      p_ += n;
      return;
    }
    case kList:
    case kSet: {
      ListHeader h = list();
      if (depth_ >= kMaxDepth) malformed("structures nested too deeply");
      ++depth_;
      for (uint32_t i = 0; i < h.size; ++i) {
        if (h.elem_type == kTrue || h.elem_type == kFalse)
          u8();
        else
          skip(h.elem_type);
      }
      --depth_;
      return;
    }
    case kMap: {
      uint64_t n = varint();
      if (n == 0) return;
      uint8_t kv = u8();
      if (n > uint64_t(end_ - p_)) malformed("map size exceeds the data");
      if (depth_ >= kMaxDepth) malformed("structures nested too deeply");
      ++depth_;
      for (uint64_t i = 0; i < n; ++i) {
        uint8_t kt = kv >> 4, vt = kv & 0x0f;
        if (kt == kTrue || kt == kFalse) u8(); else skip(kt);
        if (vt == kTrue || vt == kFalse) u8(); else skip(vt);
      }
      --depth_;
      return;
    }
    case kStruct: {
      begin_struct();
      for (;;) {
        FieldHeader f = field();
        if (f.type == kStop) break;
        skip(f.type);
      }
      end_struct();
      return;
    }
    default: malformed("cannot skip type " + std::to_string(type));
  }
}

int32_t Reader::read_i32_field(const FieldHeader& f, const char* name) {
  if (f.type != kI32 && f.type != kI16 && f.type != kByte)
    malformed(std::string("field ") + name + " has type " + std::to_string(f.type) + ", expected an integer");
  if (f.type == kByte) return byte();
  return i32();
}

int64_t Reader::read_i64_field(const FieldHeader& f, const char* name) {
  if (f.type != kI64 && f.type != kI32 && f.type != kI16)
    malformed(std::string("field ") + name + " has type " + std::to_string(f.type) + ", expected an integer");
  return i64();
}

bool Reader::read_bool_field(const FieldHeader& f, const char* name) {
  if (f.type != kTrue && f.type != kFalse) malformed(std::string("field ") + name + " is not a bool");
  return f.bool_value;
}

}  // namespace zt::data::thrift
