// Decompression of Parquet page bodies through Debian's libraries: snappy (libsnappy), zstd (libzstd) and
// gzip (zlib). Output sizes are checked against what the page header promises.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace zt::data {

// Decompresses `n` bytes at `src` with Parquet codec id `codec` (0 none, 1 snappy, 2 gzip, 6 zstd) into exactly
// `expected` bytes. `what` names the file and column in errors; other codecs fail naming the codec.
std::vector<uint8_t> decompress_page(int32_t codec, const uint8_t* src, size_t n, size_t expected, const std::string& what);

// Compression, for tests that build Parquet files by hand (same codec ids).
std::vector<uint8_t> compress_page(int32_t codec, const uint8_t* src, size_t n);

}  // namespace zt::data
