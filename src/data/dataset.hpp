// Resolving a --data_path entry to files (a file, a `huggingface-cli download --repo-type dataset` directory, or
// a hub name found in the local Hugging Face cache) and loading its train/eval splits as DeepSpeed-Chat sees them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/registry.hpp"
#include "data/table.hpp"

namespace zt::data {

struct SplitFiles {
  std::vector<std::string> train;  // sorted
  std::vector<std::string> eval;   // empty when the dataset has no eval split here
  std::string eval_split_name;     // which split name the eval files came from
  std::string root;                // the file or directory resolved
};

// Finds the files of `data_path`. `rules` gives the eval split name. Never touches the network: a name that is not
// a local path is looked up in $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub. Unknown layouts fail,
// listing what was found.
SplitFiles resolve_split_files(const std::string& data_path, const DatasetRules& rules);

// One loaded split: the concatenated table and where each file's rows start (to name file and row in errors).
struct LoadedSplit {
  Table table;
  std::vector<std::pair<std::string, size_t>> files;  // (path, first row)
  // "file.parquet row 17" for a row of `table`.
  std::string where(size_t row) const;
};

struct RawDataset {
  std::string data_path;       // as given
  const DatasetRules* rules = nullptr;
  SplitFiles files;
  LoadedSplit train;
  LoadedSplit eval;            // empty when eval_shares_train
  bool eval_shares_train = false;
  // DeepSpeed-Chat's get_train_data() / get_eval_data(): row indices into `train` (and `eval`, or `train` again
  // when eval_shares_train) in their order. Identity, or the 9:1 "train_eval" cut.
  std::vector<int64_t> train_rows;
  std::vector<int64_t> eval_rows;

  const LoadedSplit& eval_split() const { return eval_shares_train ? train : eval; }
};

// Loads a dataset for the given seed (the seed drives the 9:1 cut of datasets without an eval split).
// A path naming no registered dataset uses prompt+chosen rules when its files have those columns.
RawDataset load_raw_dataset(const std::string& data_path, uint32_t seed);

// Reads files of one split (same columns in each) into one table.
LoadedSplit load_split(const std::vector<std::string>& files, const std::vector<std::string>& columns);

}  // namespace zt::data
