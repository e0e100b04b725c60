// Decoding of FileMetaData / SchemaElement / RowGroup / ColumnChunk / ColumnMetaData / PageHeader from the
// Thrift compact protocol; fields zerotune does not use are skipped, type mismatches are reported as malformed.
#include "data/parquet_meta.hpp"

namespace zt::data::parquet {

using thrift::FieldHeader;
using thrift::Reader;

namespace {

// Calls on_field(f) for each field of the struct at the reader's position; fields it does not consume (returns
// false) are skipped.
template <class F>
void read_struct(Reader& r, F&& on_field) {
  r.begin_struct();
  for (;;) {
    FieldHeader f = r.field();
    if (f.type == thrift::kStop) break;
    if (!on_field(f)) r.skip(f.type);
  }
  r.end_struct();
}

template <class F>
void read_list(Reader& r, const FieldHeader& f, uint8_t elem, const char* name, F&& on_elem) {
  if (f.type != thrift::kList) r.malformed(std::string("field ") + name + " is not a list");
  thrift::ListHeader h = r.list();
  if (h.size && h.elem_type != elem) r.malformed(std::string("list ") + name + " has elements of the wrong type");
  for (uint32_t i = 0; i < h.size; ++i) on_elem();
}

void expect(Reader& r, const FieldHeader& f, uint8_t type, const char* name) {
  if (f.type != type) r.malformed(std::string("field ") + name + " has the wrong type");
}

SchemaElement read_schema_element(Reader& r) {
  SchemaElement e;
  read_struct(r, [&](const FieldHeader& f) {
    switch (f.id) {
      case 1: e.type = r.read_i32_field(f, "SchemaElement.type"); return true;
      case 2: e.type_length = r.read_i32_field(f, "SchemaElement.type_length"); return true;
      case 3: e.repetition = r.read_i32_field(f, "SchemaElement.repetition_type"); return true;
      case 4: expect(r, f, thrift::kBinary, "SchemaElement.name"); e.name = r.binary(); return true;
      case 5: e.num_children = r.read_i32_field(f, "SchemaElement.num_children"); return true;
      case 6: e.converted_type = r.read_i32_field(f, "SchemaElement.converted_type"); return true;
      case 10: {
        expect(r, f, thrift::kStruct, "SchemaElement.logicalType");
        // A union: remember which member is set, skip its contents.
        read_struct(r, [&](const FieldHeader& u) {
          e.logical_type = u.id;
          return false;
        });
        return true;
      }
      default: return false;
    }
  });
  return e;
}

ColumnMeta read_column_meta(Reader& r) {
  ColumnMeta m;
  read_struct(r, [&](const FieldHeader& f) {
    switch (f.id) {
      case 1: m.type = r.read_i32_field(f, "ColumnMetaData.type"); return true;
      case 2: read_list(r, f, thrift::kI32, "ColumnMetaData.encodings", [&] { m.encodings.push_back(r.i32()); }); return true;
      case 3: read_list(r, f, thrift::kBinary, "ColumnMetaData.path_in_schema", [&] { m.path.push_back(r.binary()); }); return true;
      case 4: m.codec = r.read_i32_field(f, "ColumnMetaData.codec"); return true;
      case 5: m.num_values = r.read_i64_field(f, "ColumnMetaData.num_values"); return true;
      case 6: m.total_uncompressed_size = r.read_i64_field(f, "ColumnMetaData.total_uncompressed_size"); return true;
      case 7: m.total_compressed_size = r.read_i64_field(f, "ColumnMetaData.total_compressed_size"); return true;
      case 9: m.data_page_offset = r.read_i64_field(f, "ColumnMetaData.data_page_offset"); return true;
      case 11: m.dictionary_page_offset = r.read_i64_field(f, "ColumnMetaData.dictionary_page_offset"); return true;
      default: return false;
    }
  });
  return m;
}

ColumnChunk read_column_chunk(Reader& r) {
  ColumnChunk c;
  read_struct(r, [&](const FieldHeader& f) {
    switch (f.id) {
      case 1: expect(r, f, thrift::kBinary, "ColumnChunk.file_path"); c.file_path = r.binary(); return true;
      case 3: expect(r, f, thrift::kStruct, "ColumnChunk.meta_data"); c.meta = read_column_meta(r); c.has_meta = true; return true;
      default: return false;
    }
  });
  return c;
}

RowGroup read_row_group(Reader& r) {
  RowGroup g;
  read_struct(r, [&](const FieldHeader& f) {
    switch (f.id) {
      case 1: read_list(r, f, thrift::kStruct, "RowGroup.columns", [&] { g.columns.push_back(read_column_chunk(r)); }); return true;
      case 3: g.num_rows = r.read_i64_field(f, "RowGroup.num_rows"); return true;
      default: return false;
    }
  });
  return g;
}

}  // namespace

FileMetaData read_file_metadata(Reader& r) {
  FileMetaData md;
  read_struct(r, [&](const FieldHeader& f) {
    switch (f.id) {
      case 1: md.version = r.read_i32_field(f, "FileMetaData.version"); return true;
      case 2: read_list(r, f, thrift::kStruct, "FileMetaData.schema", [&] { md.schema.push_back(read_schema_element(r)); }); return true;
      case 3: md.num_rows = r.read_i64_field(f, "FileMetaData.num_rows"); return true;
      case 4: read_list(r, f, thrift::kStruct, "FileMetaData.row_groups", [&] { md.row_groups.push_back(read_row_group(r)); }); return true;
      case 6: expect(r, f, thrift::kBinary, "FileMetaData.created_by"); md.created_by = r.binary(); return true;
      default: return false;
    }
  });
  return md;
}

PageHeader read_page_header(Reader& r) {
  PageHeader h;
  read_struct(r, [&](const FieldHeader& f) {
    switch (f.id) {
      case 1: h.type = r.read_i32_field(f, "PageHeader.type"); return true;
      case 2: h.uncompressed_page_size = r.read_i32_field(f, "PageHeader.uncompressed_page_size"); return true;
      case 3: h.compressed_page_size = r.read_i32_field(f, "PageHeader.compressed_page_size"); return true;
      case 5: {
        expect(r, f, thrift::kStruct, "PageHeader.data_page_header");
        DataPageHeader d;
        read_struct(r, [&](const FieldHeader& g) {
          switch (g.id) {
            case 1: d.num_values = r.read_i32_field(g, "DataPageHeader.num_values"); return true;
            case 2: d.encoding = r.read_i32_field(g, "DataPageHeader.encoding"); return true;
            case 3: d.definition_level_encoding = r.read_i32_field(g, "DataPageHeader.definition_level_encoding"); return true;
            case 4: d.repetition_level_encoding = r.read_i32_field(g, "DataPageHeader.repetition_level_encoding"); return true;
            default: return false;
          }
        });
        h.data_page = d;
        return true;
      }
      case 7: {
        expect(r, f, thrift::kStruct, "PageHeader.dictionary_page_header");
        DictionaryPageHeader d;
        read_struct(r, [&](const FieldHeader& g) {
          switch (g.id) {
            case 1: d.num_values = r.read_i32_field(g, "DictionaryPageHeader.num_values"); return true;
            case 2: d.encoding = r.read_i32_field(g, "DictionaryPageHeader.encoding"); return true;
            default: return false;
          }
        });
        h.dictionary_page = d;
        return true;
      }
      case 8: {
        expect(r, f, thrift::kStruct, "PageHeader.data_page_header_v2");
        DataPageHeaderV2 d;
        read_struct(r, [&](const FieldHeader& g) {
          switch (g.id) {
            case 1: d.num_values = r.read_i32_field(g, "DataPageHeaderV2.num_values"); return true;
            case 2: d.num_nulls = r.read_i32_field(g, "DataPageHeaderV2.num_nulls"); return true;
            case 3: d.num_rows = r.read_i32_field(g, "DataPageHeaderV2.num_rows"); return true;
            case 4: d.encoding = r.read_i32_field(g, "DataPageHeaderV2.encoding"); return true;
            case 5: d.definition_levels_byte_length = r.read_i32_field(g, "DataPageHeaderV2.definition_levels_byte_length"); return true;
            case 6: d.repetition_levels_byte_length = r.read_i32_field(g, "DataPageHeaderV2.repetition_levels_byte_length"); return true;
            case 7: d.is_compressed = r.read_bool_field(g, "DataPageHeaderV2.is_compressed"); return true;
            default: return false;
          }
        });
        h.data_page_v2 = d;
        return true;
      }
      default: return false;
    }
  });
  return h;
}

const char* physical_type_name(int32_t t) {
  static const char* names[] = {"BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
  return t >= 0 && t < 8 ? names[t] : "unknown type";
}

const char* encoding_name(int32_t e) {
  static const char* names[] = {"PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED", "DELTA_BINARY_PACKED",
                                "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY", "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
  return e >= 0 && e < 10 ? names[e] : "unknown encoding";
}

const char* codec_name(int32_t c) {
  static const char* names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};
  return c >= 0 && c < 8 ? names[c] : "unknown codec";
}

}  // namespace zt::data::parquet
