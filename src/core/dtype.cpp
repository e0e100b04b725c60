// dtype names, sizes and bulk conversions.
#include "core/dtype.hpp"

#include <cmath>

#include "core/error.hpp"

namespace zt {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::bf16: return 2;
    case DType::f16: return 2;
    case DType::i32: return 4;
    case DType::i64: return 8;
    case DType::f64: return 8;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::bf16: return "bf16";
    case DType::f16: return "f16";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
    case DType::f64: return "f64";
  }
  return "?";
}

DType parse_dtype(const std::string& s) {
  if (s == "f32" || s == "fp32" || s == "float32" || s == "float") return DType::f32;
  if (s == "bf16" || s == "bfloat16") return DType::bf16;
  if (s == "f16" || s == "fp16" || s == "float16" || s == "half") return DType::f16;
  if (s == "i32" || s == "int32") return DType::i32;
  if (s == "i64" || s == "int64") return DType::i64;
  if (s == "f64" || s == "fp64" || s == "float64" || s == "double") return DType::f64;
  fail("unknown dtype '" + s + "'", "use one of fp32, bf16, fp16");
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t man = h & 0x3ff;
  uint32_t u;
  if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else {  // subnormal: value = man * 2^-24
      float f = std::ldexp(float(man), -24);
      std::memcpy(&u, &f, 4);
      u |= sign;
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | (man << 13);
  } else {
    u = sign | ((exp + 112) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint16_t sign = uint16_t((u >> 16) & 0x8000);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00;   // NaN
  if (a >= 0x477ff000u) return sign | 0x7c00;  // rounds to >= 65520: inf
  if (a < 0x38800000u) {                       // below the smallest normal (2^-14): subnormal or zero
    float af;
    std::memcpy(&af, &a, 4);
    // round to nearest even multiple of 2^-24
    float scaled = af * 16777216.0f;  // exact: power of two
    float r = std::nearbyint(scaled);
    return sign | uint16_t(r);
  }
  // normal: rebias exponent and round mantissa to 10 bits, nearest even
  uint32_t rounded = a + 0xfffu + ((a >> 13) & 1u);
  return sign | uint16_t(((rounded >> 13) - (112u << 10)) & 0x7fff);
}

template <class Load>
static void store_as(void* dst, DType dst_t, size_t n, Load load) {
  switch (dst_t) {
    case DType::f32: { auto* d = static_cast<float*>(dst); for (size_t i = 0; i < n; ++i) d[i] = float(load(i)); break; }
    case DType::f64: { auto* d = static_cast<double*>(dst); for (size_t i = 0; i < n; ++i) d[i] = load(i); break; }
    case DType::bf16: { auto* d = static_cast<uint16_t*>(dst); for (size_t i = 0; i < n; ++i) d[i] = f32_to_bf16(float(load(i))); break; }
    case DType::f16: { auto* d = static_cast<uint16_t*>(dst); for (size_t i = 0; i < n; ++i) d[i] = f32_to_f16(float(load(i))); break; }
    default: fail(std::string("convert: destination dtype ") + dtype_name(dst_t) + " is not a float type");
  }
}

void convert(void* dst, DType dst_t, const void* src, DType src_t, size_t n) {
  if (dst_t == src_t) {
    std::memcpy(dst, src, n * dtype_size(src_t));
    return;
  }
  switch (src_t) {
    case DType::f32: { auto* s = static_cast<const float*>(src); store_as(dst, dst_t, n, [&](size_t i) { return double(s[i]); }); break; }
    case DType::f64: { auto* s = static_cast<const double*>(src); store_as(dst, dst_t, n, [&](size_t i) { return s[i]; }); break; }
    case DType::bf16: { auto* s = static_cast<const uint16_t*>(src); store_as(dst, dst_t, n, [&](size_t i) { return double(bf16_to_f32(s[i])); }); break; }
    case DType::f16: { auto* s = static_cast<const uint16_t*>(src); store_as(dst, dst_t, n, [&](size_t i) { return double(f16_to_f32(s[i])); }); break; }
    default: fail(std::string("convert: source dtype ") + dtype_name(src_t) + " is not a float type");
  }
}

}  // namespace zt
