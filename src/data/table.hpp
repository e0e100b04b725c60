// zt::data::Table: rows of named string/integer columns read from .jsonl, .json or .parquet files (column-major,
// nulls kept as a validity mask), and read_table() which picks the reader from the file name.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"

namespace zt::data {

enum class ColumnType { string, int64 };
const char* column_type_name(ColumnType t);

struct Column {
  std::string name;
  ColumnType type = ColumnType::string;
  std::vector<std::string> strings;  // (rows) when type == string; "" where null
  std::vector<int64_t> ints;         // (rows) when type == int64; 0 where null
  std::vector<uint8_t> valid;        // (rows) 1 = a value, 0 = null

  size_t size() const { return valid.size(); }
  bool is_null(size_t row) const { return !valid[row]; }
  void push_null();
  void push_string(std::string s);
  void push_int(int64_t v);
};

struct Table {
  std::string source;                // the file read, for errors
  size_t num_rows = 0;
  std::vector<Column> columns;
  std::vector<std::string> skipped;  // columns left out by ReadOptions::skip_unsupported ("name (why)")

  const Column* find(std::string_view name) const;
  // The column or an error naming `source` and listing the columns there are.
  const Column& column(std::string_view name) const;
  std::vector<std::string> column_names() const;
  // Row `r` as a JSON object (null, string or integer per column).
  Json row_json(size_t r) const;
  // Appends the rows of `other` (same columns, same types, by name) to this table.
  void append(Table&& other);
};

struct ReadOptions {
  // Columns to read, in this order; empty = every column of the file. A listed column that is missing is an error.
  std::vector<std::string> columns;
  // With an empty `columns` list: leave out columns of unsupported types (listed in Table::skipped) instead of failing.
  bool skip_unsupported = false;
};

// By extension: .jsonl, .json, .parquet (case-insensitive). Anything else is an error naming the path.
Table read_table(const std::string& path, const ReadOptions& opt = {});
Table read_jsonl(const std::string& path, const ReadOptions& opt = {});
// A JSON array of row objects, an object of equal-length column arrays (HF's dict of lists), or JSON lines in a
// file named .json (as Hugging Face's json loader accepts).
Table read_json(const std::string& path, const ReadOptions& opt = {});
Table read_parquet(const std::string& path, const ReadOptions& opt = {});

// True when `path` ends (case-insensitively) in one of the readable extensions.
bool is_table_file(const std::string& path);

}  // namespace zt::data
