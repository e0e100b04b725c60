// Parquet footer and page-header structures (the subset zerotune reads) and their decoding from the Thrift
// compact protocol. Field numbers follow parquet-format's parquet.thrift.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/thrift.hpp"

namespace zt::data::parquet {

enum class PhysicalType : int32_t { boolean = 0, int32 = 1, int64 = 2, int96 = 3, float_ = 4, double_ = 5, byte_array = 6, fixed_len_byte_array = 7 };
enum class Repetition : int32_t { required = 0, optional = 1, repeated = 2 };
enum class Encoding : int32_t { plain = 0, plain_dictionary = 2, rle = 3, bit_packed = 4, delta_binary_packed = 5,
                                delta_length_byte_array = 6, delta_byte_array = 7, rle_dictionary = 8, byte_stream_split = 9 };
enum class Codec : int32_t { uncompressed = 0, snappy = 1, gzip = 2, lzo = 3, brotli = 4, lz4 = 5, zstd = 6, lz4_raw = 7 };
enum class PageType : int32_t { data_page = 0, index_page = 1, dictionary_page = 2, data_page_v2 = 3 };

const char* physical_type_name(int32_t t);
const char* encoding_name(int32_t e);
const char* codec_name(int32_t c);

struct SchemaElement {
  std::optional<int32_t> type;  // PhysicalType; absent for groups
  std::optional<int32_t> type_length;
  std::optional<int32_t> repetition;  // Repetition
  std::string name;
  int32_t num_children = 0;
  std::optional<int32_t> converted_type;  // 0 UTF8, 15..22 INT_8..UINT_64, ...
  std::optional<int32_t> logical_type;    // field id of the LogicalType union member (1 STRING, 10 INTEGER, ...)
};

struct ColumnMeta {
  int32_t type = 0;
  std::vector<int32_t> encodings;
  std::vector<std::string> path;
  int32_t codec = 0;
  int64_t num_values = 0;
  int64_t total_uncompressed_size = 0;
  int64_t total_compressed_size = 0;
  int64_t data_page_offset = -1;
  std::optional<int64_t> dictionary_page_offset;
};

struct ColumnChunk {
  std::optional<std::string> file_path;  // external column chunks are not supported
  bool has_meta = false;
  ColumnMeta meta;
};

struct RowGroup {
  std::vector<ColumnChunk> columns;
  int64_t num_rows = 0;
};

struct FileMetaData {
  int32_t version = 0;
  std::vector<SchemaElement> schema;
  int64_t num_rows = 0;
  std::vector<RowGroup> row_groups;
  std::string created_by;
};

struct DataPageHeader {
  int32_t num_values = 0;
  int32_t encoding = 0;
  int32_t definition_level_encoding = 3;
  int32_t repetition_level_encoding = 3;
};

struct DataPageHeaderV2 {
  int32_t num_values = 0;
  int32_t num_nulls = 0;
  int32_t num_rows = 0;
  int32_t encoding = 0;
  int32_t definition_levels_byte_length = 0;
  int32_t repetition_levels_byte_length = 0;
  bool is_compressed = true;
};

struct DictionaryPageHeader {
  int32_t num_values = 0;
  int32_t encoding = 0;
};

struct PageHeader {
  int32_t type = 0;
  int32_t uncompressed_page_size = 0;
  int32_t compressed_page_size = 0;
  std::optional<DataPageHeader> data_page;
  std::optional<DictionaryPageHeader> dictionary_page;
  std::optional<DataPageHeaderV2> data_page_v2;
};

FileMetaData read_file_metadata(thrift::Reader& r);
PageHeader read_page_header(thrift::Reader& r);

}  // namespace zt::data::parquet
