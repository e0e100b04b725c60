// Step-1 samples: prompt + chosen + end-of-conversation text tokenised with the tokenizer's special tokens and
// truncated right to max_seq_len (HF semantics), stored pad-free in a node-local mmap cache keyed by content.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "data/blend.hpp"

namespace zt {
class Tokenizer;
class MappedFile;
}  // namespace zt

namespace zt::data {

struct SampleOptions {
  int64_t max_seq_len = 512;
  // Appended to every text; empty = the tokenizer's EOS token text (DeepSpeed-Chat passes tokenizer.eos_token).
  std::string end_of_conversation;
  // Also record how many leading tokens are prompt (for a prompt-masked loss); costs a second encode per sample.
  bool record_prompt_tokens = false;
  int threads = 0;  // encoding threads, 0 = all cores
  bool progress = true;  // log progress while tokenising
};

// How HF wraps a single sequence: specials before and after the text's own tokens (e.g. Llama 3: [BOS], []).
struct SpecialWrap {
  std::vector<int32_t> prefix, suffix;
};
SpecialWrap special_wrap(const Tokenizer& tok);
// tokenizer(text, max_length=L, truncation=True)["input_ids"] without padding: prefix + raw[:L - specials] + suffix.
std::vector<int32_t> truncate_wrapped(const SpecialWrap& w, const std::vector<int32_t>& raw, int64_t max_seq_len);

// A tokenised split in the cache file format (read through mmap). Labels equal the tokens (every real token is
// trained, DeepSpeed-Chat's labels where attention_mask is 1); padding to max_seq_len is only conceptual.
class SampleStore {
 public:
  static SampleStore open(const std::string& path);
  size_t size() const { return n_; }
  std::span<const int32_t> tokens(size_t i) const;
  // Leading prompt tokens of sample i (0 unless built with record_prompt_tokens).
  int32_t prompt_tokens(size_t i) const;
  SampleRef source(size_t i) const;
  int64_t total_tokens() const { return int64_t(offsets_[n_]); }
  const Json& header() const { return header_; }
  const std::string& path() const { return path_; }

 private:
  std::shared_ptr<MappedFile> file_;
  std::string path_;
  Json header_;
  size_t n_ = 0;
  const uint64_t* offsets_ = nullptr;  // (n + 1)
  const int32_t* prompt_ = nullptr;    // (n)
  const int64_t* source_ = nullptr;    // (n, 2): dataset << 1 | eval, row
  const int32_t* tokens_ = nullptr;    // (total)
};

// Tokenises `refs` of `blend` and writes the cache file atomically; `header` is stored in it.
void write_sample_store(const std::string& path, const Blend& blend, const std::vector<SampleRef>& refs, const Tokenizer& tok,
                        const SampleOptions& opt, Json header);

struct PreparedData {
  std::string key;  // content hash
  std::string train_path, eval_path;
  bool from_cache = false;
  SampleStore train, eval;
};

// The cache key: every input that changes the samples (paths and their files' sizes and times, split, seed, phase,
// SFT-only paths, tokenizer files' contents, max_seq_len, end-of-conversation text, options, format version).
std::string sample_cache_key(const BlendOptions& blend, const std::string& tokenizer_path, const Tokenizer& tok,
                             const SampleOptions& opt);

// DeepSpeed-Chat's create_prompt_dataset for step 1: builds (or reuses) <output_dir>/step1_{train,eval}_<key>.bin.
// `tokenizer_path` is the tokenizer.json or model directory `tok` was loaded from (its files feed the key).
PreparedData prepare_step1_data(const BlendOptions& blend, const Tokenizer& tok, const std::string& tokenizer_path,
                                const SampleOptions& opt, const std::string& output_dir);

}  // namespace zt::data
