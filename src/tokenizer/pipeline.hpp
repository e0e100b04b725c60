// Internal representation of a loaded tokenizer.json: the steps of each stage as plain data, built by
// load.cpp and run by tokenizer.cpp. Not part of the public API (use tokenizer/tokenizer.hpp).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tokenizer/bpe.hpp"
#include "tokenizer/pretokenize.hpp"
#include "tokenizer/tokenizer.hpp"

namespace zt::tok {

struct NormalizerStep {
  enum Kind { nfc, prepend, replace } kind;
  std::string a, b;  // prepend: a = text; replace: a = pattern, b = content
};

enum class PrependScheme { always, first, never };

struct PreTokenizerStep {
  enum Kind { byte_level, split, metaspace } kind;
  bool add_prefix_space = false;         // byte_level
  bool use_regex = false;                // byte_level: split with the GPT-2 regex first
  std::optional<SplitRegex> regex;       // split: a known regex, or
  std::string literal;                   // split: a literal string pattern
  SplitBehavior behavior = SplitBehavior::isolated;
  std::string replacement;               // metaspace
  PrependScheme prepend = PrependScheme::always;
  bool split_on_replacement = true;      // metaspace "split"
};

struct DecoderStep {
  enum Kind { byte_level, metaspace, replace, byte_fallback, fuse, strip } kind;
  std::string a, b;                      // replace: pattern, content; metaspace: a = replacement; strip: a = content
  size_t start = 0, stop = 0;            // strip
  PrependScheme prepend = PrependScheme::always;  // metaspace
};

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false, single_word = false, lstrip = false, rstrip = false, normalized = false;
};

// Byte trie over added-token contents for leftmost-longest matching (as aho-corasick LeftmostLongest).
class TokenTrie {
 public:
  void insert(const std::string& s, int32_t index);
  bool empty() const { return nodes_.size() <= 1; }
  // Longest token starting at s[i]: its index and end, or {-1, i}.
  std::pair<int32_t, size_t> longest_at(std::string_view s, size_t i) const;
  bool may_start(unsigned char c) const { return first_[c]; }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> next;
    int32_t token = -1;
  };
  std::vector<Node> nodes_{Node{}};
  bool first_[256] = {};
};

struct Pipeline {
  std::string source;  // file name for messages
  std::vector<NormalizerStep> normalizers;
  std::vector<PreTokenizerStep> pre_tokenizers;
  std::unique_ptr<BpeModel> model;
  bool raw_bytes = false;  // the pre-tokenizer ends with ByteLevel: words reach the model as raw bytes
  // post-processor template for a single sequence: ids to emit, with -1 marking where the sequence goes
  std::optional<std::vector<int32_t>> template_single;
  std::optional<std::vector<DecoderStep>> decoders;  // nullopt: no decoder (tokens joined with " ")
  std::vector<AddedToken> added;
  TokenTrie raw_trie, normalized_trie;  // non-normalized / normalized added tokens (index into `added`)
  bool encode_special_tokens = false;   // tokenizer_config split_special_tokens
  Vocab token_to_id;                    // model vocabulary and added tokens, by token text
  std::vector<std::string> id_to_token;
  std::vector<uint8_t> id_is_added, id_is_special;
  std::optional<int32_t> bos, eos, pad;
  // DecodeOptions::clean_up_tokenization_spaces = nullopt: transformers 5's default, i.e. tokenizer_config's
  // clean_up_tokenization_spaces and ..._for_bpe_even_though_it_will_corrupt_output (the model is BPE)
  bool clean_up_by_default = false;

  std::string normalize(std::string_view s) const;
};

// Parses tokenizer.json text (and tokenizer_config.json text, possibly empty); load.cpp.
std::unique_ptr<Pipeline> build_pipeline(const std::string& text, const std::string& config_text,
                                         const std::string& source, Reference ref);

}  // namespace zt::tok
