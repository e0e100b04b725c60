// The DeepSpeed-Chat dataset registry: which dataset a --data_path names (by substring, in DeepSpeed-Chat's
// order), the columns it needs, its eval split, and how a row becomes prompt / chosen / prompt+chosen text.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/table.hpp"

namespace zt::data {

// Read access to one row of a loaded split; `where` (file and row) is used in errors.
class RowView {
 public:
  RowView(const Table& t, size_t row, std::string where) : t_(t), row_(row), where_(std::move(where)) {}
  // The string value; a null is an error naming the row and column.
  std::string_view str(std::string_view col) const;
  std::optional<std::string_view> opt_str(std::string_view col) const;
  int64_t integer(std::string_view col) const;
  const std::string& where() const { return where_; }

 private:
  const Table& t_;
  size_t row_;
  std::string where_;
};

enum class EvalSource {
  named_split,  // files of the split called DatasetRules::eval_split
  train_eval,   // no eval split: the train split cut 9:1 with the run's seed (DeepSpeed-Chat's "train_eval")
};

struct DatasetRules {
  std::string name;        // e.g. "Dahoas/rm-static" (matched as a substring of --data_path)
  std::string clean_name;  // e.g. "Dahoas_rm_static"
  std::vector<std::string> columns;  // columns read from the files
  EvalSource eval = EvalSource::named_split;
  std::string eval_split = "test";
  std::string unsupported;  // non-empty: why zerotune cannot load this dataset yet (e.g. nested columns)
  // Step-1 text (DeepSpeed-Chat's get_prompt_and_chosen); nullopt where DeepSpeed-Chat returns None (row skipped).
  std::optional<std::string> (*prompt_and_chosen)(const RowView&) = nullptr;
  // The prompt part (get_prompt), for inspection and prompt masking; nullopt where DeepSpeed-Chat returns None.
  std::optional<std::string> (*prompt)(const RowView&) = nullptr;
};

// The rules of the first registry entry whose name is a substring of `data_path`, or nullptr.
const DatasetRules* find_dataset_rules(const std::string& data_path);
// Rules for a path that names no known dataset: prompt + chosen like rm-static (a zerotune extension).
const DatasetRules& generic_prompt_chosen_rules();
std::vector<std::string> known_dataset_names();

}  // namespace zt::data
