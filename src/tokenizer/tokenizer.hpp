// zt::Tokenizer: a Hugging Face tokenizer.json (+ tokenizer_config.json) loaded natively; encodes exactly as
// Hugging Face does (added tokens, normalizer, pre-tokenizer, BPE, post-processor) and decodes likewise.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace zt {

namespace tok {
struct Pipeline;  // tokenizer.cpp
}

struct DecodeOptions {
  bool skip_special_tokens = false;  // HF skip_special_tokens
  // transformers' clean-up (" ." -> "." ...). false: none (HF tokenizers' own decode); true: applied (forced);
  // nullopt: what transformers 5's decode does by default. That reads clean_up_tokenization_spaces from
  // tokenizer_config.json but ignores it for BPE models (every model zerotune loads) unless the config also
  // sets clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output.
  std::optional<bool> clean_up_tokenization_spaces = false;
};

// Whose encoding to reproduce where the two Hugging Face libraries differ. transformers 5 rebuilds the
// pipeline of some tokenizer classes from tokenizer_config.json instead of taking tokenizer.json as written:
// for tokenizer_class LlamaTokenizer(Fast) on a SentencePiece-style (non byte-level) file it drops the
// normalizer and splits with Metaspace(prepend_scheme from add_prefix_space/legacy, split=false), so a text
// that starts with a space gets no second "▁". `tokenizers` follows tokenizer.json alone
// (tokenizers.Tokenizer.from_file), as transformers.js does.
enum class Reference { transformers, tokenizers };

class Tokenizer {
 public:
  // `path`: a tokenizer.json file or a model directory holding tokenizer.json (and optionally
  // tokenizer_config.json, read from the same directory).
  static Tokenizer load(const std::string& path, Reference ref = Reference::transformers);
  // From JSON text; `config_json` may be empty. `source` names the file in errors.
  static Tokenizer from_json(const std::string& tokenizer_json, const std::string& config_json,
                             const std::string& source = "tokenizer.json", Reference ref = Reference::transformers);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Ids of `text` as HF's tokenizer(text, add_special_tokens=...)["input_ids"]. Invalid UTF-8 is first
  // replaced, maximal subpart by maximal subpart, with U+FFFD (Python's bytes.decode("utf-8", "replace")).
  // Thread-safe.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const;
  // Encodes texts in parallel on `threads` threads (0 = all hardware threads); results in input order.
  std::vector<std::vector<int32_t>> encode_batch(const std::vector<std::string>& texts, bool add_special_tokens = false,
                                                 int threads = 0) const;
  // Text of ids as HF's tokenizer.decode(ids, skip_special_tokens=...); ids outside the vocabulary are skipped
  // as HF does.
  std::string decode(std::span<const int32_t> ids, const DecodeOptions& opt = {}) const;

  // Number of ids (model vocabulary and added tokens): one more than the largest id.
  int32_t vocab_size() const;
  std::optional<int32_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(int32_t id) const;
  bool is_special(int32_t id) const;

  // From tokenizer_config.json (or the added tokens when absent there).
  std::optional<int32_t> bos_id() const;
  std::optional<int32_t> eos_id() const;
  std::optional<int32_t> pad_id() const;
  // What encode(text, true) puts around the text, read from the post-processor.
  bool adds_bos() const;
  bool adds_eos() const;

 private:
  Tokenizer();
  std::unique_ptr<tok::Pipeline> p_;
};

}  // namespace zt
