// A bounds-checked reader of the Thrift compact protocol (what Parquet footers and page headers use): varints,
// zigzag integers, field headers, lists, binary, and skipping of any value, with a nesting limit.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace zt::data::thrift {

// Compact protocol type ids.
enum Type : uint8_t {
  kStop = 0, kTrue = 1, kFalse = 2, kByte = 3, kI16 = 4, kI32 = 5, kI64 = 6, kDouble = 7,
  kBinary = 8, kList = 9, kSet = 10, kMap = 11, kStruct = 12,
};

struct FieldHeader {
  int16_t id = 0;
  uint8_t type = kStop;  // kStop ends the struct
  bool bool_value = false;  // for kTrue / kFalse fields the value is in the header
};

struct ListHeader {
  uint8_t elem_type = 0;
  uint32_t size = 0;
};

// Reads from [data, data + size). Every read checks bounds and throws zt::Error naming `what` (e.g. "x.parquet:
// footer") on malformed input.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size, std::string what) : p_(data), end_(data + size), begin_(data), what_(std::move(what)) {}

  size_t position() const { return size_t(p_ - begin_); }
  const std::string& what() const { return what_; }

  void begin_struct();
  void end_struct();
  FieldHeader field();
  ListHeader list();
  uint64_t varint();
  int64_t zigzag64();
  int32_t i32();
  int64_t i64();
  int8_t byte();
  bool bool_elem();  // a bool inside a list (one byte)
  double dbl();
  std::string binary();
  // Reads a value of type `type` into nothing. `header_bool` covers struct fields typed kTrue/kFalse.
  void skip(uint8_t type);
  // A field value read as an i32 regardless of integer width (with a type check naming the field).
  int32_t read_i32_field(const FieldHeader& f, const char* name);
  int64_t read_i64_field(const FieldHeader& f, const char* name);
  bool read_bool_field(const FieldHeader& f, const char* name);
  [[noreturn]] void malformed(const std::string& why) const;

 private:
  uint8_t u8();
  const uint8_t* p_;
  const uint8_t* end_;
  const uint8_t* begin_;
  std::string what_;
  // Last field id of each open struct (delta encoding), and the nesting depth.
  int16_t last_id_[64] = {};
  int depth_ = 0;
};

}  // namespace zt::data::thrift
