// zerotune's own Parquet reader for what `datasets`/pyarrow write: flat string (BYTE_ARRAY) and integer
// (INT32/INT64) columns, PLAIN and dictionary encodings, RLE/bit-packed definition levels, data pages v1 and v2.
#include <cstring>
#include <functional>

#include "core/error.hpp"
#include "core/mmap.hpp"
#include "data/codec.hpp"
#include "data/parquet_meta.hpp"
#include "data/table.hpp"

namespace zt::data {

using namespace parquet;

namespace {

const std::string kCorruptHint = "the file is corrupt or truncated; re-download or re-export it";

// A top-level column of the schema with what is needed to decode it.
struct LeafInfo {
  std::string name;        // top-level field name
  size_t leaf_index = 0;   // index among leaves = index of the column chunk in each row group
  bool nested = false;     // inside a group, or repeated: not supported
  int32_t type = -1;       // physical type
  int32_t max_def = 0;
  std::optional<int32_t> converted;
  std::optional<int32_t> logical;
};

uint32_t read_le32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Walks the flattened schema (depth-first, num_children) and lists top-level fields with their first leaf.
std::vector<LeafInfo> schema_columns(const FileMetaData& md, const std::string& path) {
  check(!md.schema.empty(), path + ": Parquet schema is empty", kCorruptHint);
  std::vector<LeafInfo> out;
  size_t pos = 1, leaf = 0;
  // Returns the number of leaves under element `pos` (consuming it and its children), depth-limited.
  std::function<size_t(int, int32_t, bool)> walk = [&](int depth, int32_t def, bool repeated) -> size_t {
    check(depth < 64 && pos < md.schema.size(), path + ": Parquet schema is malformed (children run past the end)", kCorruptHint);
    const SchemaElement& e = md.schema[pos++];
    int32_t d = def + (e.repetition.value_or(0) != int32_t(Repetition::required) ? 1 : 0);
    bool rep = repeated || e.repetition.value_or(0) == int32_t(Repetition::repeated);
    if (e.num_children <= 0 && e.type) {
      if (depth == 1) {
        LeafInfo li;
        li.name = e.name;
        li.leaf_index = leaf;
        li.nested = rep;
        li.type = *e.type;
        li.max_def = d;
        li.converted = e.converted_type;
        li.logical = e.logical_type;
        out.push_back(li);
      }
      ++leaf;
      return 1;
    }
    check(e.num_children > 0 && size_t(e.num_children) <= md.schema.size(), path + ": Parquet schema is malformed (group '" + e.name + "')", kCorruptHint);
    size_t first_leaf = leaf, n = 0;
    for (int32_t c = 0; c < e.num_children; ++c) n += walk(depth + 1, d, rep);
    if (depth == 1) {
      LeafInfo li;
      li.name = e.name;
      li.leaf_index = first_leaf;
      li.nested = true;
      out.push_back(li);
    }
    return n;
  };
  int32_t roots = md.schema[0].num_children;
  check(roots >= 0, path + ": Parquet schema root is malformed", kCorruptHint);
  for (int32_t c = 0; c < roots; ++c) walk(1, 0, false);
  return out;
}

// Why a column cannot be read, or "" when it can.
std::string unsupported_reason(const LeafInfo& li) {
  if (li.nested) return "nested or repeated columns (lists, structs) are not supported";
  if (li.type == int32_t(PhysicalType::byte_array)) return "";
  if (li.type == int32_t(PhysicalType::int32) || li.type == int32_t(PhysicalType::int64)) return "";
  return std::string("physical type ") + physical_type_name(li.type) + " is not supported (only strings and integers)";
}

// RLE / bit-packed hybrid decoder over [p, end) producing `n` values of `bit_width` bits.
void decode_hybrid(const uint8_t* p, const uint8_t* end, int bit_width, size_t n, std::vector<uint32_t>& out, const std::string& what) {
  out.clear();
  out.reserve(std::min<size_t>(n, size_t(1) << 20));
  check(bit_width >= 0 && bit_width <= 32, what + ": RLE bit width " + std::to_string(bit_width) + " out of range", kCorruptHint);
  if (bit_width == 0) {
    out.assign(n, 0);
    return;
  }
  const size_t value_bytes = size_t(bit_width + 7) / 8;
  while (out.size() < n) {
    uint64_t header = 0;
    for (int shift = 0;; shift += 7) {
      check(p < end && shift < 64, what + ": RLE run header runs past the end of the page", kCorruptHint);
      uint8_t b = *p++;
      header |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    if (header & 1) {
      uint64_t groups = header >> 1;
      check(groups > 0 && groups <= uint64_t(end - p) / size_t(bit_width) + 1 && groups * size_t(bit_width) <= uint64_t(end - p),
            what + ": bit-packed run runs past the end of the page", kCorruptHint);
      uint64_t count = groups * 8;
      uint64_t bitpos = 0;
      for (uint64_t i = 0; i < count && out.size() < n; ++i) {
        uint64_t v = 0;
        for (int b = 0; b < bit_width; ++b, ++bitpos) v |= uint64_t((p[bitpos >> 3] >> (bitpos & 7)) & 1) << b;
        out.push_back(uint32_t(v));
      }
      p += groups * size_t(bit_width);
    } else {
      uint64_t run = header >> 1;
      check(value_bytes <= size_t(end - p), what + ": RLE run value runs past the end of the page", kCorruptHint);
      uint32_t v = 0;
      for (size_t i = 0; i < value_bytes; ++i) v |= uint32_t(p[i]) << (8 * i);
      p += value_bytes;
      check(run > 0, what + ": empty RLE run", kCorruptHint);
      uint64_t take = std::min<uint64_t>(run, n - out.size());
      out.insert(out.end(), size_t(take), v);
    }
  }
}

int bit_width_of(uint32_t max_value) {
  int w = 0;
  while (max_value) {
    ++w;
    max_value >>= 1;
  }
  return w;
}

struct Dictionary {
  bool present = false;
  std::vector<std::string> strings;
  std::vector<int64_t> ints;
  size_t size() const { return strings.size() + ints.size(); }
};

// Decodes one column chunk of one row group, appending rows to `col`.
class ChunkReader {
 public:
  ChunkReader(const MappedFile& f, size_t data_end, const LeafInfo& li, const ColumnMeta& meta, int64_t rows, std::string what)
      : f_(f), data_end_(data_end), li_(li), meta_(meta), rows_(rows), what_(std::move(what)) {}

  void read(Column& col) {
    check(meta_.type == li_.type, what_ + ": column chunk type " + physical_type_name(meta_.type) + " differs from the schema", kCorruptHint);
    int64_t start = meta_.data_page_offset;
    if (meta_.dictionary_page_offset && *meta_.dictionary_page_offset > 0 && *meta_.dictionary_page_offset < start)
      start = *meta_.dictionary_page_offset;
    check(start >= 4 && meta_.total_compressed_size >= 0 && uint64_t(start) <= data_end_ &&
              uint64_t(meta_.total_compressed_size) <= data_end_ - uint64_t(start),
          what_ + ": column chunk lies outside the file (offset " + std::to_string(start) + ", " +
              std::to_string(meta_.total_compressed_size) + " bytes)",
          kCorruptHint);
    size_t pos = size_t(start), end = size_t(start + meta_.total_compressed_size);
    int64_t done = 0;
    while (done < rows_) {
      check(pos < end, what_ + ": column chunk ends after " + std::to_string(done) + " of " + std::to_string(rows_) + " rows", kCorruptHint);
      thrift::Reader r(f_.data() + pos, end - pos, what_ + " page header");
      PageHeader h = read_page_header(r);
      pos += r.position();
      check(h.compressed_page_size >= 0 && size_t(h.compressed_page_size) <= end - pos && h.uncompressed_page_size >= 0,
            what_ + ": page of " + std::to_string(h.compressed_page_size) + " bytes runs past the column chunk", kCorruptHint);
      const uint8_t* body = f_.data() + pos;
      size_t body_n = size_t(h.compressed_page_size);
      pos += body_n;
      switch (h.type) {
        case int32_t(PageType::dictionary_page): read_dictionary(h, body, body_n); break;
        case int32_t(PageType::data_page): done += read_data_v1(h, body, body_n, col, rows_ - done); break;
        case int32_t(PageType::data_page_v2): done += read_data_v2(h, body, body_n, col, rows_ - done); break;
        default: break;  // index pages and unknown page types carry no values
      }
    }
  }

 private:
  void read_dictionary(const PageHeader& h, const uint8_t* body, size_t n) {
    check(h.dictionary_page.has_value(), what_ + ": dictionary page without its header", kCorruptHint);
    check(!dict_.present, what_ + ": second dictionary page in one column chunk", kCorruptHint);
    int32_t enc = h.dictionary_page->encoding;
    check(enc == int32_t(Encoding::plain) || enc == int32_t(Encoding::plain_dictionary),
          what_ + ": dictionary page encoding " + encoding_name(enc) + " is not supported", "re-write the file with pyarrow defaults");
    std::vector<uint8_t> raw = decompress_page(meta_.codec, body, n, size_t(h.uncompressed_page_size), what_);
    int32_t count = h.dictionary_page->num_values;
    check(count >= 0, what_ + ": negative dictionary size", kCorruptHint);
    Column tmp;
    tmp.type = li_.type == int32_t(PhysicalType::byte_array) ? ColumnType::string : ColumnType::int64;
    decode_plain(raw.data(), raw.data() + raw.size(), size_t(count), tmp);
    dict_.strings = std::move(tmp.strings);
    dict_.ints = std::move(tmp.ints);
    dict_.present = true;
  }

  int64_t read_data_v1(const PageHeader& h, const uint8_t* body, size_t n, Column& col, int64_t rows_left) {
    check(h.data_page.has_value(), what_ + ": data page without its header", kCorruptHint);
    const DataPageHeader& d = *h.data_page;
    check(d.num_values >= 0 && d.num_values <= rows_left, what_ + ": data page holds " + std::to_string(d.num_values) +
                                                               " values but only " + std::to_string(rows_left) + " rows remain", kCorruptHint);
    std::vector<uint8_t> raw = decompress_page(meta_.codec, body, n, size_t(h.uncompressed_page_size), what_);
    const uint8_t* p = raw.data();
    const uint8_t* end = p + raw.size();
    std::vector<uint32_t> defs;
    if (li_.max_def > 0) {
      check(d.definition_level_encoding == int32_t(Encoding::rle),
            what_ + ": definition levels encoded as " + encoding_name(d.definition_level_encoding) + " are not supported",
            "re-write the file with a current pyarrow");
      check(end - p >= 4, what_ + ": data page too short for its definition levels", kCorruptHint);
      uint32_t len = read_le32(p);
      p += 4;
      check(len <= size_t(end - p), what_ + ": definition levels run past the page", kCorruptHint);
      decode_hybrid(p, p + len, bit_width_of(uint32_t(li_.max_def)), size_t(d.num_values), defs, what_);
      p += len;
    }
    emit(d.encoding, p, end, defs, size_t(d.num_values), col);
    return d.num_values;
  }

  int64_t read_data_v2(const PageHeader& h, const uint8_t* body, size_t n, Column& col, int64_t rows_left) {
    check(h.data_page_v2.has_value(), what_ + ": data page v2 without its header", kCorruptHint);
    const DataPageHeaderV2& d = *h.data_page_v2;
    check(d.num_values >= 0 && d.num_values <= rows_left, what_ + ": data page holds " + std::to_string(d.num_values) +
                                                               " values but only " + std::to_string(rows_left) + " rows remain", kCorruptHint);
    check(d.repetition_levels_byte_length >= 0 && d.definition_levels_byte_length >= 0 &&
              size_t(d.repetition_levels_byte_length) + size_t(d.definition_levels_byte_length) <= n &&
              size_t(d.repetition_levels_byte_length) + size_t(d.definition_levels_byte_length) <= size_t(h.uncompressed_page_size),
          what_ + ": data page v2 level lengths exceed the page", kCorruptHint);
    check(d.repetition_levels_byte_length == 0, what_ + ": repetition levels in a flat column", kCorruptHint);
    const uint8_t* p = body + d.repetition_levels_byte_length;
    std::vector<uint32_t> defs;
    if (li_.max_def > 0)
      decode_hybrid(p, p + d.definition_levels_byte_length, bit_width_of(uint32_t(li_.max_def)), size_t(d.num_values), defs, what_);
    p += d.definition_levels_byte_length;
    size_t levels = size_t(d.repetition_levels_byte_length) + size_t(d.definition_levels_byte_length);
    size_t values_n = n - levels;
    size_t values_expected = size_t(h.uncompressed_page_size) - levels;
    std::vector<uint8_t> raw;
    if (d.is_compressed && meta_.codec != int32_t(Codec::uncompressed)) {
      raw = decompress_page(meta_.codec, p, values_n, values_expected, what_);
    } else {
      check(values_n == values_expected, what_ + ": uncompressed data page v2 size mismatch", kCorruptHint);
      raw.assign(p, p + values_n);
    }
    emit(d.encoding, raw.data(), raw.data() + raw.size(), defs, size_t(d.num_values), col);
    return d.num_values;
  }

  // Decodes the values section and appends num_values rows (nulls where the definition level is below max).
  void emit(int32_t encoding, const uint8_t* p, const uint8_t* end, const std::vector<uint32_t>& defs, size_t num_values, Column& col) {
    size_t present = num_values;
    if (li_.max_def > 0) {
      present = 0;
      for (uint32_t v : defs) {
        check(v <= uint32_t(li_.max_def), what_ + ": definition level " + std::to_string(v) + " above the maximum", kCorruptHint);
        present += v == uint32_t(li_.max_def);
      }
    }
    Column vals;
    vals.type = col.type;
    if (encoding == int32_t(Encoding::plain)) {
      decode_plain(p, end, present, vals);
    } else if (encoding == int32_t(Encoding::rle_dictionary) || encoding == int32_t(Encoding::plain_dictionary)) {
      check(dict_.present, what_ + ": dictionary-encoded page without a dictionary page", kCorruptHint);
      if (present > 0) {
        check(p < end, what_ + ": dictionary page data is empty", kCorruptHint);
        int bw = *p++;
        std::vector<uint32_t> idx;
        decode_hybrid(p, end, bw, present, idx, what_);
        for (uint32_t i : idx) {
          check(i < dict_.size(), what_ + ": dictionary index " + std::to_string(i) + " out of range (" + std::to_string(dict_.size()) + " entries)", kCorruptHint);
          if (col.type == ColumnType::string)
            vals.push_string(dict_.strings[i]);
          else
            vals.push_int(dict_.ints[i]);
        }
      }
    } else {
      fail(what_ + ": encoding " + encoding_name(encoding) + " is not supported",
           "zerotune reads PLAIN and dictionary encodings (pyarrow's defaults); re-write the file with "
           "pyarrow.parquet.write_table(t, f, use_dictionary=True, column_encoding=None)");
    }
    size_t vi = 0;
    for (size_t i = 0; i < num_values; ++i) {
      if (li_.max_def > 0 && defs[i] != uint32_t(li_.max_def)) {
        col.push_null();
      } else if (col.type == ColumnType::string) {
        col.push_string(std::move(vals.strings[vi++]));
      } else {
        col.push_int(vals.ints[vi++]);
      }
    }
  }

  void decode_plain(const uint8_t* p, const uint8_t* end, size_t count, Column& out) {
    if (li_.type == int32_t(PhysicalType::byte_array)) {
      for (size_t i = 0; i < count; ++i) {
        check(end - p >= 4, what_ + ": string value " + std::to_string(i) + " runs past the page", kCorruptHint);
        uint32_t len = read_le32(p);
        p += 4;
        check(len <= size_t(end - p), what_ + ": string value " + std::to_string(i) + " runs past the page", kCorruptHint);
        out.push_string(std::string(reinterpret_cast<const char*>(p), len));
        p += len;
      }
    } else if (li_.type == int32_t(PhysicalType::int32)) {
      check(count <= size_t(end - p) / 4, what_ + ": INT32 values run past the page", kCorruptHint);
      bool unsigned32 = li_.converted.value_or(-1) == 21;  // UINT_32
      for (size_t i = 0; i < count; ++i, p += 4) {
        uint32_t u = read_le32(p);
        out.push_int(unsigned32 ? int64_t(u) : int64_t(int32_t(u)));
      }
    } else {
      check(count <= size_t(end - p) / 8, what_ + ": INT64 values run past the page", kCorruptHint);
      bool unsigned64 = li_.converted.value_or(-1) == 22;  // UINT_64
      for (size_t i = 0; i < count; ++i, p += 8) {
        int64_t v;
        std::memcpy(&v, p, 8);
        check(!unsigned64 || v >= 0, what_ + ": unsigned 64-bit value does not fit a signed 64-bit integer",
              "use a signed integer column");
        out.push_int(v);
      }
    }
  }

  const MappedFile& f_;
  size_t data_end_;
  const LeafInfo& li_;
  const ColumnMeta& meta_;
  int64_t rows_;
  std::string what_;
  Dictionary dict_;
};

}  // namespace

Table read_parquet(const std::string& path, const ReadOptions& opt) {
  auto file = MappedFile::open(path);
  const uint8_t* d = file->data();
  size_t n = file->size();
  const std::string not_parquet = "is this really a Parquet file? re-download or re-export it";
  check(n >= 12 && std::memcmp(d, "PAR1", 4) == 0 && std::memcmp(d + n - 4, "PAR1", 4) == 0,
        path + ": not a Parquet file (missing PAR1 magic)", not_parquet);
  uint32_t footer_len = read_le32(d + n - 8);
  check(footer_len <= n - 12, path + ": Parquet footer length " + std::to_string(footer_len) + " exceeds the file", not_parquet);
  size_t footer_start = n - 8 - footer_len;
  thrift::Reader r(d + footer_start, footer_len, path + ": footer");
  FileMetaData md = read_file_metadata(r);
  std::vector<LeafInfo> cols = schema_columns(md, path);

  Table t;
  t.source = path;
  std::vector<const LeafInfo*> selected;
  if (opt.columns.empty()) {
    for (auto& li : cols) {
      std::string why = unsupported_reason(li);
      if (why.empty()) {
        selected.push_back(&li);
      } else if (opt.skip_unsupported) {
        t.skipped.push_back(li.name + " (" + why + ")");
      } else {
        fail(path + ": column '" + li.name + "': " + why, "select only string and integer columns");
      }
    }
  } else {
    for (auto& name : opt.columns) {
      const LeafInfo* found = nullptr;
      for (auto& li : cols)
        if (li.name == name) found = &li;
      if (!found) {
        std::string names;
        for (auto& li : cols) names += (names.empty() ? "" : ", ") + li.name;
        fail(path + ": no column '" + name + "'; columns: " + (names.empty() ? "(none)" : names),
             "the dataset's schema expects this column; check that the file belongs to this dataset");
      }
      std::string why = unsupported_reason(*found);
      check(why.empty(), path + ": column '" + name + "': " + why, "this dataset needs a column type zerotune cannot read yet");
      selected.push_back(found);
    }
  }
  for (auto* li : selected) {
    Column c;
    c.name = li->name;
    c.type = li->type == int32_t(PhysicalType::byte_array) ? ColumnType::string : ColumnType::int64;
    t.columns.push_back(std::move(c));
  }
  int64_t total = 0;
  for (size_t g = 0; g < md.row_groups.size(); ++g) {
    const RowGroup& rg = md.row_groups[g];
    check(rg.num_rows >= 0,
          path + ": row group " + std::to_string(g) + " claims " + std::to_string(rg.num_rows) + " rows", kCorruptHint);
    for (size_t k = 0; k < selected.size(); ++k) {
      const LeafInfo& li = *selected[k];
      std::string what = path + ": column '" + li.name + "' (row group " + std::to_string(g) + ")";
      check(li.leaf_index < rg.columns.size(), what + ": missing column chunk", kCorruptHint);
      const ColumnChunk& cc = rg.columns[li.leaf_index];
      check(!cc.file_path, what + ": column data in another file ('" + cc.file_path.value_or("") + "') is not supported",
            "write the table as one self-contained file");
      check(cc.has_meta, what + ": column chunk without metadata", kCorruptHint);
      check(cc.meta.path.size() == 1 && cc.meta.path[0] == li.name, what + ": column chunk path does not match the schema", kCorruptHint);
      ChunkReader(*file, footer_start, li, cc.meta, rg.num_rows, what).read(t.columns[k]);
    }
    total += rg.num_rows;
  }
  t.num_rows = size_t(total);
  for (auto& c : t.columns)
    check(c.size() == t.num_rows, path + ": column '" + c.name + "' has " + std::to_string(c.size()) + " rows, expected " + std::to_string(total), kCorruptHint);
  check(md.num_rows == total, path + ": footer says " + std::to_string(md.num_rows) + " rows, row groups hold " + std::to_string(total), kCorruptHint);
  return t;
}

}  // namespace zt::data
