// JSON-lines encode/decode for `zerotune tokenize`: parses each line, encodes strings in parallel batches,
// decodes id arrays, and writes results in input order.
#include "tokenizer/stream.hpp"

#include <istream>
#include <ostream>

#include "core/error.hpp"
#include "core/json.hpp"

namespace zt::tok {

size_t run_tokenize_stream(const Tokenizer& tok, std::istream& in, std::ostream& out, const StreamOptions& opt) {
  struct Item {
    bool encode;
    std::vector<int32_t> ids;
  };
  std::vector<Item> items;
  std::vector<std::string> texts;
  size_t line_no = 0;
  auto flush = [&] {
    auto enc = tok.encode_batch(texts, opt.add_special_tokens, opt.threads);
    size_t k = 0;
    std::string buf;
    for (auto& it : items) {
      if (it.encode) {
        const auto& ids = enc[k++];
        buf += '[';
        for (size_t i = 0; i < ids.size(); ++i) {
          if (i) buf += ',';
          buf += std::to_string(ids[i]);
        }
        buf += "]\n";
      } else {
        DecodeOptions d;
        d.skip_special_tokens = opt.skip_special_tokens;
        d.clean_up_tokenization_spaces = opt.clean_up_tokenization_spaces;
        buf += Json(tok.decode(it.ids, d)).dump(-1, ' ', false, Json::error_handler_t::replace);
        buf += '\n';
      }
    }
    out << buf;
    out.flush();
    items.clear();
    texts.clear();
  };
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    try {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::string where = "stdin line " + std::to_string(line_no);
      Json v;
      try {
        v = Json::parse(line);
      } catch (const std::exception& e) {
        fail(where + ": not a JSON value (" + std::string(e.what()) + ")",
             "each line must be a JSON string to encode or an array of token ids to decode");
      }
      if (v.is_string()) {
        check(!opt.decode_only, where + ": --decode expects an array of token ids, got a string");
        items.push_back({true, {}});
        texts.push_back(v.get<std::string>());
      } else if (v.is_array()) {
        Item it{false, {}};
        for (auto& x : v) {
          check(x.is_number_integer() && x.get<int64_t>() >= 0 && x.get<int64_t>() < tok.vocab_size(),
                where + ": token id " + x.dump() + " is not in the vocabulary (0.." + std::to_string(tok.vocab_size() - 1) + ")");
          it.ids.push_back(x.get<int32_t>());
        }
        items.push_back(std::move(it));
      } else {
        fail(where + ": expected a JSON string or an array of ids, got " + std::string(v.type_name()));
      }
    } catch (const Error&) {
      flush();  // answer every line before the bad one
      throw;
    }
    // batch what is already buffered; answer at once when the writer waits for us (interactive pipes)
    if (items.size() >= opt.batch_lines || in.rdbuf()->in_avail() <= 0) flush();
  }
  flush();
  return line_no;
}

}  // namespace zt::tok
