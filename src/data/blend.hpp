// DeepSpeed-Chat's create_prompt_dataset for step 1 without tokenising: per-dataset phase subsets of the train and
// eval splits, rows without text dropped, multi-dataset concatenation + reshuffle, and --sft_only_data_path.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace zt::data {

struct BlendOptions {
  std::vector<std::string> data_path{"Dahoas/rm-static"};
  std::vector<std::string> sft_only_data_path;
  std::string data_split = "2,4,4";
  int64_t seed = 1234;
  int phase = 1;  // DeepSpeed-Chat train_phase (1 = SFT); selects split index phase - 1
};

// One sample: a row of a loaded dataset split.
struct SampleRef {
  uint32_t dataset = 0;  // index into Blend::datasets
  bool eval_split = false;  // row of the dataset's eval split (else train split)
  int64_t row = 0;          // row of that split's table
};

struct Blend {
  std::vector<RawDataset> datasets;  // data_path entries, then sft_only_data_path entries
  std::vector<SampleRef> train;      // in DeepSpeed-Chat's final order
  std::vector<SampleRef> eval;
  // Per dataset: samples kept after dropping rows DeepSpeed-Chat skips (text None), train and eval.
  std::vector<std::pair<size_t, size_t>> kept;
  std::vector<std::pair<size_t, size_t>> dropped;

  // DeepSpeed-Chat's get_prompt_and_chosen(row) (without the end-of-conversation token).
  std::string text(const SampleRef& s) const;
  // get_prompt(row), or "" where DeepSpeed-Chat returns None.
  std::string prompt(const SampleRef& s) const;
  // "path (file row N)" for messages.
  std::string where(const SampleRef& s) const;
};

Blend build_blend(const BlendOptions& opt);

}  // namespace zt::data
