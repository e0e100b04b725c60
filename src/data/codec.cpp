// Snappy / zstd / gzip page (de)compression for the Parquet reader, with every size checked so that a corrupt
// page is an error naming the file and column rather than an overrun.
#include "data/codec.hpp"

#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "core/error.hpp"
#include "data/parquet_meta.hpp"

namespace zt::data {

static constexpr size_t kMaxPage = size_t(1) << 30;

std::vector<uint8_t> decompress_page(int32_t codec, const uint8_t* src, size_t n, size_t expected, const std::string& what) {
  const std::string hint = "the file is corrupt or truncated; re-download or re-export it";
  check(expected <= kMaxPage, what + ": page claims " + std::to_string(expected) + " uncompressed bytes (over 1 GiB)", hint);
  std::vector<uint8_t> out(expected);
  switch (codec) {
    case 0:
      check(n == expected, what + ": uncompressed page of " + std::to_string(n) + " bytes, header says " + std::to_string(expected), hint);
      std::copy(src, src + n, out.begin());
      return out;
    case 1: {
      size_t len = 0;
      check(snappy_uncompressed_length(reinterpret_cast<const char*>(src), n, &len) == SNAPPY_OK && len == expected,
            what + ": bad snappy page (length " + std::to_string(len) + ", expected " + std::to_string(expected) + ")", hint);
      size_t out_len = expected;
      check(snappy_uncompress(reinterpret_cast<const char*>(src), n, reinterpret_cast<char*>(out.data()), &out_len) == SNAPPY_OK &&
                out_len == expected,
            what + ": snappy decompression failed", hint);
      return out;
    }
    case 2: {
      z_stream zs{};
      check(inflateInit2(&zs, 15 + 32) == Z_OK, what + ": zlib init failed");
      out.resize(expected + 1);  // one spare byte: never a zero-sized output window, and overlong data is detected
      zs.next_in = const_cast<Bytef*>(src);
      zs.avail_in = uInt(n);
      zs.next_out = out.data();
      zs.avail_out = uInt(expected + 1);
      int rc = Z_OK;
      for (;;) {
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
          if (zs.avail_in == 0 || zs.avail_out == 0) break;
          inflateReset(&zs);  // another gzip member follows
          continue;
        }
        if (rc != Z_OK || zs.avail_in == 0 || zs.avail_out == 0) break;
      }
      size_t produced = expected + 1 - zs.avail_out;
      inflateEnd(&zs);
      out.resize(expected);
      check((rc == Z_STREAM_END || rc == Z_OK) && produced == expected,
            what + ": bad gzip page (zlib code " + std::to_string(rc) + ", " + std::to_string(produced) + " of " +
                std::to_string(expected) + " bytes)",
            hint);
      return out;
    }
    case 6: {
      out.resize(expected + 1);
      size_t got = ZSTD_decompress(out.data(), expected + 1, src, n);
      out.resize(expected);
      check(!ZSTD_isError(got) && got == expected,
            what + ": bad zstd page (" + (ZSTD_isError(got) ? std::string(ZSTD_getErrorName(got)) : std::to_string(got) + " bytes") +
                ", expected " + std::to_string(expected) + ")",
            hint);
      return out;
    }
    default:
      fail(what + ": compression codec " + parquet::codec_name(codec) + " is not supported",
           "re-write the file with compression 'snappy', 'zstd', 'gzip' or 'none' (e.g. pyarrow.parquet.write_table(t, f, compression='zstd'))");
  }
}

std::vector<uint8_t> compress_page(int32_t codec, const uint8_t* src, size_t n) {
  switch (codec) {
    case 0: return std::vector<uint8_t>(src, src + n);
    case 1: {
      size_t cap = snappy_max_compressed_length(n);
      std::vector<uint8_t> out(cap);
      check(snappy_compress(reinterpret_cast<const char*>(src), n, reinterpret_cast<char*>(out.data()), &cap) == SNAPPY_OK, "snappy_compress failed");
      out.resize(cap);
      return out;
    }
    case 2: {
      z_stream zs{};
      check(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK, "deflateInit2 failed");
      std::vector<uint8_t> out(deflateBound(&zs, uLong(n)) + 32);
      zs.next_in = const_cast<Bytef*>(src);
      zs.avail_in = uInt(n);
      zs.next_out = out.data();
      zs.avail_out = uInt(out.size());
      int rc = deflate(&zs, Z_FINISH);
      out.resize(out.size() - zs.avail_out);
      deflateEnd(&zs);
      check(rc == Z_STREAM_END, "gzip compression failed");
      return out;
    }
    case 6: {
      std::vector<uint8_t> out(ZSTD_compressBound(n));
      size_t got = ZSTD_compress(out.data(), out.size(), src, n, 3);
      check(!ZSTD_isError(got), "zstd compression failed");
      out.resize(got);
      return out;
    }
    default: fail(std::string("compress_page: codec ") + parquet::codec_name(codec) + " not supported");
  }
}

}  // namespace zt::data
