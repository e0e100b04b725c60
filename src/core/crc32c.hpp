// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), slicing-by-8 over compile-time tables, and the
// masked form TFRecord files store (TensorBoard event files, see train/tensorboard).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace zt {

// Extends `crc` (the CRC of the bytes before, 0 for none) over n bytes: crc32c(ab) == crc32c(b, crc32c(a)).
uint32_t crc32c(const void* data, size_t n, uint32_t crc = 0);
inline uint32_t crc32c(std::string_view s, uint32_t crc = 0) { return crc32c(s.data(), s.size(), crc); }

// TFRecord's masking (so a CRC stored next to its own data does not look like data):
// ((crc >> 15) | (crc << 17)) + 0xa282ead8, modulo 2^32.
inline uint32_t crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t crc32c_unmask(uint32_t masked) {
  uint32_t r = masked - 0xa282ead8u;
  return (r >> 17) | (r << 15);
}

}  // namespace zt
