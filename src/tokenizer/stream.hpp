// The JSON-lines protocol of `zerotune tokenize`: one JSON value per input line (a string to encode or an
// array of ids to decode), one JSON value per output line, in order.
#pragma once
#include <iosfwd>
#include <optional>

#include "tokenizer/tokenizer.hpp"

namespace zt::tok {

struct StreamOptions {
  bool add_special_tokens = false;   // when encoding
  bool decode_only = false;          // every line must be an array of ids
  bool skip_special_tokens = false;  // when decoding
  // transformers' decode clean-up, as DecodeOptions (nullopt = transformers 5's default for this tokenizer)
  std::optional<bool> clean_up_tokenization_spaces;
  int threads = 0;                   // encoding threads (0 = all)
  size_t batch_lines = 2048;         // lines encoded together
};

// Returns the number of lines processed. Throws zt::Error naming the line for malformed input.
size_t run_tokenize_stream(const Tokenizer& tok, std::istream& in, std::ostream& out, const StreamOptions& opt);

}  // namespace zt::tok
