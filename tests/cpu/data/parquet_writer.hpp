// A deliberately small Parquet writer for tests only: flat string/int32/int64 columns, required or optional,
// PLAIN or dictionary values, data page v1 (RLE levels) or v2 (bit-packed levels), any codec zerotune reads.
#pragma once
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "data/codec.hpp"

namespace zt::test {

class CompactWriter {
 public:
  std::string out;
  void byte(uint8_t b) { out.push_back(char(b)); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      byte(uint8_t(v | 0x80));
      v >>= 7;
    }
    byte(uint8_t(v));
  }
  void zz(int64_t v) { varint((uint64_t(v) << 1) ^ uint64_t(v >> 63)); }
  void field(int16_t id, uint8_t type) {
    int16_t delta = int16_t(id - last_.back());
    if (delta > 0 && delta <= 15) {
      byte(uint8_t(delta << 4 | type));
    } else {
      byte(type);
      zz(id);
    }
    last_.back() = id;
  }
  void i32(int16_t id, int64_t v) { field(id, 5), zz(v); }
  void i64(int16_t id, int64_t v) { field(id, 6), zz(v); }
  void str(int16_t id, const std::string& s) { field(id, 8), varint(s.size()), out += s; }
  void boolean(int16_t id, bool v) { field(id, v ? 1 : 2); }
  void list(int16_t id, uint8_t elem, size_t n) {
    field(id, 9);
    if (n < 15)
      byte(uint8_t(n << 4 | elem));
    else
      byte(uint8_t(0xf0 | elem)), varint(n);
  }
  void begin(int16_t id) { field(id, 12), last_.push_back(0); }
  void begin_elem() { last_.push_back(0); }
  void end() { byte(0), last_.pop_back(); }

 private:
  std::vector<int16_t> last_{0};
};

struct TestColumn {
  std::string name;
  int type = 6;  // 1 INT32, 2 INT64, 6 BYTE_ARRAY
  bool optional = false;
  std::vector<std::optional<std::string>> s;
  std::vector<std::optional<int64_t>> i;
  size_t rows() const { return type == 6 ? s.size() : i.size(); }
};

struct WriteOptions {
  int codec = 0;
  bool dictionary = false;
  int page_version = 1;
  size_t rows_per_group = 7;
  size_t rows_per_page = 3;
};

inline void put_le32(std::string& o, uint32_t v) { o.append(reinterpret_cast<const char*>(&v), 4); }

// RLE runs (v1) or bit-packed groups (v2) of `bw`-bit values.
inline std::string hybrid(const std::vector<uint32_t>& v, int bw, bool bitpacked) {
  CompactWriter w;
  if (bitpacked) {
    size_t groups = (v.size() + 7) / 8;
    w.varint(groups << 1 | 1);
    std::string bytes(groups * size_t(bw), '\0');
    for (size_t k = 0; k < v.size(); ++k)
      for (int b = 0; b < bw; ++b)
        if (v[k] >> b & 1) bytes[(k * size_t(bw) + size_t(b)) / 8] |= char(1 << ((k * size_t(bw) + size_t(b)) % 8));
    w.out += bytes;
  } else {
    for (size_t k = 0; k < v.size();) {
      size_t j = k;
      while (j < v.size() && v[j] == v[k]) ++j;
      w.varint((j - k) << 1);
      for (int b = 0; b < (bw + 7) / 8; ++b) w.byte(uint8_t(v[k] >> (8 * b)));
      k = j;
    }
  }
  return w.out;
}

inline std::string plain_value(const TestColumn& c, size_t r) {
  std::string o;
  if (c.type == 6) {
    put_le32(o, uint32_t(c.s[r]->size()));
    o += *c.s[r];
  } else if (c.type == 1) {
    put_le32(o, uint32_t(int32_t(*c.i[r])));
  } else {
    int64_t v = *c.i[r];
    o.append(reinterpret_cast<const char*>(&v), 8);
  }
  return o;
}

inline std::string write_parquet(const std::vector<TestColumn>& cols, const WriteOptions& opt) {
  std::string file = "PAR1";
  size_t rows = cols.empty() ? 0 : cols[0].rows();
  struct ChunkMeta { int64_t dict_off = -1, data_off = 0, size = 0, usize = 0; };
  std::vector<std::vector<ChunkMeta>> metas;
  std::vector<size_t> group_rows;
  auto compress = [&](const std::string& raw) {
    auto v = data::compress_page(opt.codec, reinterpret_cast<const uint8_t*>(raw.data()), raw.size());
    return std::string(v.begin(), v.end());
  };
  for (size_t g0 = 0; g0 < rows; g0 += opt.rows_per_group) {
    size_t g1 = std::min(rows, g0 + opt.rows_per_group);
    group_rows.push_back(g1 - g0);
    metas.emplace_back();
    for (auto& c : cols) {
      ChunkMeta m;
      size_t start = file.size();
      // Dictionary of distinct present values in first-seen order.
      std::vector<std::string> dict_vals;
      std::vector<uint32_t> codes(rows, 0);
      if (opt.dictionary) {
        for (size_t r = g0; r < g1; ++r) {
          bool present = c.type == 6 ? c.s[r].has_value() : c.i[r].has_value();
          if (!present) continue;
          std::string pv = plain_value(c, r);
          size_t k = 0;
          while (k < dict_vals.size() && dict_vals[k] != pv) ++k;
          if (k == dict_vals.size()) dict_vals.push_back(pv);
          codes[r] = uint32_t(k);
        }
        std::string raw;
        for (auto& s : dict_vals) raw += s;
        std::string body = compress(raw);
        CompactWriter h;
        h.i32(1, 2), h.i32(2, int64_t(raw.size())), h.i32(3, int64_t(body.size()));
        h.begin(7), h.i32(1, int64_t(dict_vals.size())), h.i32(2, 0), h.end();
        h.byte(0);
        m.dict_off = int64_t(file.size());
        file += h.out + body;
      }
      m.data_off = int64_t(file.size());
      for (size_t p0 = g0; p0 < g1; p0 += opt.rows_per_page) {
        size_t p1 = std::min(g1, p0 + opt.rows_per_page);
        std::vector<uint32_t> defs, idx;
        std::string values;
        for (size_t r = p0; r < p1; ++r) {
          bool present = c.type == 6 ? c.s[r].has_value() : c.i[r].has_value();
          defs.push_back(present ? 1 : 0);
          if (!present) continue;
          if (opt.dictionary)
            idx.push_back(codes[r]);
          else
            values += plain_value(c, r);
        }
        if (opt.dictionary) {
          int bw = 0;
          while ((size_t(1) << bw) < dict_vals.size()) ++bw;
          values = std::string(1, char(bw)) + (idx.empty() ? std::string() : hybrid(idx, bw, opt.page_version == 2));
        }
        std::string levels = c.optional ? hybrid(defs, 1, opt.page_version == 2) : std::string();
        CompactWriter h;
        std::string body;
        size_t usize;
        int enc = opt.dictionary ? 8 : 0;
        if (opt.page_version == 1) {
          std::string raw;
          if (c.optional) put_le32(raw, uint32_t(levels.size())), raw += levels;
          raw += values;
          body = compress(raw);
          usize = raw.size();
          h.i32(1, 0), h.i32(2, int64_t(usize)), h.i32(3, int64_t(body.size()));
          h.begin(5), h.i32(1, int64_t(p1 - p0)), h.i32(2, enc), h.i32(3, 3), h.i32(4, 3), h.end();
        } else {
          body = levels + compress(values);
          usize = levels.size() + values.size();
          size_t nulls = 0;
          for (auto d : defs) nulls += d == 0;
          h.i32(1, 3), h.i32(2, int64_t(usize)), h.i32(3, int64_t(body.size()));
          h.begin(8), h.i32(1, int64_t(p1 - p0)), h.i32(2, int64_t(nulls)), h.i32(3, int64_t(p1 - p0)), h.i32(4, enc);
          h.i32(5, int64_t(levels.size())), h.i32(6, 0), h.boolean(7, opt.codec != 0), h.end();
        }
        h.byte(0);
        file += h.out + body;
        m.usize += int64_t(h.out.size() + usize);
      }
      m.size = int64_t(file.size() - start);
      metas.back().push_back(m);
    }
  }
  CompactWriter f;
  f.i32(1, 1);
  f.list(2, 12, cols.size() + 1);
  f.begin_elem(), f.str(4, "schema"), f.i32(5, int64_t(cols.size())), f.end();
  for (auto& c : cols) {
    f.begin_elem(), f.i32(1, c.type), f.i32(3, c.optional ? 1 : 0), f.str(4, c.name);
    if (c.type == 6) f.i32(6, 0);
    f.end();
  }
  f.i64(3, int64_t(rows));
  f.list(4, 12, metas.size());
  for (size_t g = 0; g < metas.size(); ++g) {
    f.begin_elem();
    f.list(1, 12, cols.size());
    for (size_t k = 0; k < cols.size(); ++k) {
      const ChunkMeta& m = metas[g][k];
      f.begin_elem();
      f.i64(2, m.data_off);
      f.begin(3);
      f.i32(1, cols[k].type);
      f.list(2, 5, 1), f.zz(opt.dictionary ? 8 : 0);
      f.list(3, 8, 1), f.varint(cols[k].name.size()), f.out += cols[k].name;
      f.i32(4, opt.codec), f.i64(5, int64_t(group_rows[g])), f.i64(6, m.usize), f.i64(7, m.size), f.i64(9, m.data_off);
      if (m.dict_off >= 0) f.i64(11, m.dict_off);
      f.end();
      f.end();
    }
    f.i64(2, 0), f.i64(3, int64_t(group_rows[g]));
    f.end();
  }
  f.str(6, "zerotune test writer");
  f.byte(0);
  file += f.out;
  put_le32(file, uint32_t(f.out.size()));
  file += "PAR1";
  return file;
}

}  // namespace zt::test
