// The .jsonl and .json dataset readers: rows of objects whose requested fields are strings, integers or null.
// Errors name the file, the line (jsonl) or row index (json) and the key.
#include <map>

#include "core/error.hpp"
#include "core/mmap.hpp"
#include "data/table.hpp"

namespace zt::data {

namespace {

// Rows keep their keys in file order, so columns appear in the order the file first names them.
using RowJson = nlohmann::ordered_json;

// Accumulates rows into columns; unknown columns appear in first-seen order (missing keys are nulls).
class RowBuilder {
 public:
  RowBuilder(std::string source, const ReadOptions& opt) : opt_(opt) {
    t_.source = std::move(source);
    for (auto& name : opt.columns) add_column(name);
  }

  // `where` = "line 12" / "row 3", used in errors.
  void add_row(const RowJson& row, const std::string& where) {
    check(row.is_object(), t_.source + " " + where + ": expected a JSON object, got " + std::string(row.type_name()),
          "each row must be an object like {\"prompt\": \"...\", \"chosen\": \"...\"}");
    if (opt_.columns.empty()) {
      for (auto it = row.begin(); it != row.end(); ++it)
        if (!index_.count(it.key()) && !skipped_.count(it.key())) add_column(it.key());
    }
    for (auto& c : t_.columns) {
      auto it = row.find(c.name);
      if (it == row.end() || it->is_null()) {
        c.push_null();
        continue;
      }
      push_value(c, *it, where);
    }
    ++t_.num_rows;
  }

  Table finish() {
    for (auto& [name, why] : skipped_) t_.skipped.push_back(name + " (" + why + ")");
    if (!skipped_.empty()) {
      std::vector<Column> kept;
      for (auto& c : t_.columns)
        if (!skipped_.count(c.name)) kept.push_back(std::move(c));
      t_.columns = std::move(kept);
    }
    for (auto& name : opt_.columns) (void)t_.column(name);  // present by construction
    return std::move(t_);
  }

 private:
  void add_column(const std::string& name) {
    index_[name] = t_.columns.size();
    Column c;
    c.name = name;
    for (size_t r = 0; r < t_.num_rows; ++r) c.push_null();
    t_.columns.push_back(std::move(c));
    typed_.push_back(false);
  }

  void push_value(Column& c, const RowJson& v, const std::string& where) {
    size_t ci = index_[c.name];
    ColumnType want;
    if (v.is_string())
      want = ColumnType::string;
    else if (v.is_number_integer())
      want = ColumnType::int64;
    else {
      if (opt_.columns.empty() && opt_.skip_unsupported) {
        skipped_.emplace(c.name, std::string(v.type_name()) + " values are not supported");
        c.push_null();
        return;
      }
      fail(t_.source + " " + where + ": key '" + c.name + "' is a " + std::string(v.type_name()) +
               "; dataset columns must be strings or integers",
           "convert the column, or use a dataset whose schema does not need it");
    }
    if (!typed_[ci]) {
      // First value decides the type; earlier nulls are re-made in that type.
      size_t n = c.valid.size();
      c.type = want;
      c.strings.assign(want == ColumnType::string ? n : 0, std::string());
      c.ints.assign(want == ColumnType::int64 ? n : 0, 0);
      typed_[ci] = true;
    }
    check(c.type == want,
          t_.source + " " + where + ": key '" + c.name + "' is " + column_type_name(want) + " here but " +
              column_type_name(c.type) + " in earlier rows",
          "a column must hold one type (or null) in every row");
    if (want == ColumnType::string) {
      c.push_string(v.get<std::string>());
    } else if (v.is_number_unsigned()) {
      auto u = v.get<uint64_t>();
      check(u <= uint64_t(INT64_MAX), t_.source + " " + where + ": key '" + c.name + "' does not fit a 64-bit integer");
      c.push_int(int64_t(u));
    } else {
      c.push_int(v.get<int64_t>());
    }
  }

  const ReadOptions& opt_;
  Table t_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> skipped_;
  std::vector<bool> typed_;
};

Table parse_lines(const std::string& path, const std::string& text, const ReadOptions& opt) {
  RowBuilder b(path, opt);
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string::npos ? text.size() : nl;
    ++line_no;
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    RowJson row;
    try {
      row = RowJson::parse(line);
    } catch (const std::exception& e) {
      fail(path + " line " + std::to_string(line_no) + ": invalid JSON (" + e.what() + ")",
           "a .jsonl file holds one JSON object per line");
    }
    b.add_row(row, "line " + std::to_string(line_no));
  }
  return b.finish();
}

}  // namespace

Table read_jsonl(const std::string& path, const ReadOptions& opt) { return parse_lines(path, read_file(path), opt); }

Table read_json(const std::string& path, const ReadOptions& opt) {
  std::string text = read_file(path);
  RowJson doc;
  try {
    doc = RowJson::parse(text);
  } catch (const std::exception&) {
    // Hugging Face's json loader also takes JSON lines in a .json file; anything else fails there with its line.
    return parse_lines(path, text, opt);
  }
  RowBuilder b(path, opt);
  if (doc.is_array()) {
    for (size_t i = 0; i < doc.size(); ++i) b.add_row(doc[i], "row " + std::to_string(i));
    return b.finish();
  }
  check(doc.is_object(), path + ": top-level JSON is a " + std::string(doc.type_name()),
        "expected an array of row objects, an object of column arrays, or JSON lines");
  // Dict of lists: {"prompt": [...], "chosen": [...]}.
  size_t n = 0;
  bool first = true;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    check(it->is_array(), path + ": key '" + it.key() + "' is a " + std::string(it->type_name()) + ", not a column array",
          "a top-level object must map column names to equal-length arrays (or use an array of row objects)");
    check(first || it->size() == n,
          path + ": column '" + it.key() + "' has " + std::to_string(it->size()) + " values, others " + std::to_string(n),
          "all column arrays must have the same length");
    n = it->size();
    first = false;
  }
  for (size_t r = 0; r < n; ++r) {
    RowJson row = RowJson::object();
    for (auto it = doc.begin(); it != doc.end(); ++it) row[it.key()] = (*it)[r];
    b.add_row(row, "row " + std::to_string(r));
  }
  return b.finish();
}

}  // namespace zt::data
