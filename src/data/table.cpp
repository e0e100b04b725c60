// Table basics (column append, lookup, JSON view of a row) and read_table's dispatch on the file extension.
// The readers themselves live in json_reader.cpp and parquet.cpp.
#include "data/table.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace zt::data {

const char* column_type_name(ColumnType t) { return t == ColumnType::string ? "string" : "integer"; }

void Column::push_null() {
  if (type == ColumnType::string)
    strings.emplace_back();
  else
    ints.push_back(0);
  valid.push_back(0);
}

void Column::push_string(std::string s) {
  strings.push_back(std::move(s));
  valid.push_back(1);
}

void Column::push_int(int64_t v) {
  ints.push_back(v);
  valid.push_back(1);
}

const Column* Table::find(std::string_view name) const {
  for (auto& c : columns)
    if (c.name == name) return &c;
  return nullptr;
}

std::vector<std::string> Table::column_names() const {
  std::vector<std::string> out;
  for (auto& c : columns) out.push_back(c.name);
  return out;
}

static std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? "(none)" : s;
}

const Column& Table::column(std::string_view name) const {
  if (auto* c = find(name)) return *c;
  fail(source + ": no column '" + std::string(name) + "'; columns: " + join(column_names()),
       "the dataset's schema expects this column; check that the file belongs to this dataset");
}

Json Table::row_json(size_t r) const {
  Json o = Json::object();
  for (auto& c : columns) {
    if (c.is_null(r))
      o[c.name] = nullptr;
    else if (c.type == ColumnType::string)
      o[c.name] = c.strings[r];
    else
      o[c.name] = c.ints[r];
  }
  return o;
}

void Table::append(Table&& other) {
  if (columns.empty() && num_rows == 0) {
    std::string keep = source;
    *this = std::move(other);
    if (!keep.empty()) source = keep;
    return;
  }
  for (auto& c : columns) {
    const Column* o = other.find(c.name);
    check(o != nullptr, other.source + ": no column '" + c.name + "' (present in " + source + ")",
          "all files of one dataset split must have the same columns");
    check(o->type == c.type || o->valid.end() == std::find(o->valid.begin(), o->valid.end(), 1),
          other.source + ": column '" + c.name + "' is " + column_type_name(o->type) + " but " + column_type_name(c.type) +
              " in " + source,
          "all files of one dataset split must have the same column types");
    for (size_t r = 0; r < o->size(); ++r) {
      if (o->is_null(r))
        c.push_null();
      else if (c.type == ColumnType::string)
        c.push_string(o->strings[r]);
      else
        c.push_int(o->ints[r]);
    }
  }
  num_rows += other.num_rows;
}

static std::string lower_ext(const std::string& path) {
  std::string p = path;
  std::transform(p.begin(), p.end(), p.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
  return p;
}

static bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

bool is_table_file(const std::string& path) {
  std::string p = lower_ext(path);
  return ends_with(p, ".jsonl") || ends_with(p, ".json") || ends_with(p, ".parquet");
}

Table read_table(const std::string& path, const ReadOptions& opt) {
  std::string p = lower_ext(path);
  if (ends_with(p, ".jsonl")) return read_jsonl(path, opt);
  if (ends_with(p, ".json")) return read_json(path, opt);
  if (ends_with(p, ".parquet")) return read_parquet(path, opt);
  fail(path + ": not a dataset file", "dataset files must end in .jsonl, .json or .parquet");
}

}  // namespace zt::data
