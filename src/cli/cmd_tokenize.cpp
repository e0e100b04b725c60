// `zerotune tokenize`: encode/decode JSON lines on stdin with a Hugging Face tokenizer.json, the way HF does.
// The protocol lives in src/tokenizer/stream.cpp.
#include <iostream>

#include "cli/args.hpp"
#include "tokenizer/stream.hpp"
#include "tokenizer/tokenizer.hpp"

namespace zt::cli {

int cmd_tokenize(const std::vector<std::string>& args) {
  Args a("tokenize",
         "Reads one JSON value per line on stdin: a string is encoded to an array of token ids, an array of ids is\n"
         "decoded to a string (special tokens kept as text, as HF's skip_special_tokens=False). Writes one JSON value\n"
         "per line, UTF-8, in order, as transformers' tokenizer(text)[\"input_ids\"] and tokenizer.decode(ids).\n"
         "A line that is not JSON (or not valid UTF-8) is an error naming the line.",
         {
             {"tokenizer", FlagKind::string, "", "tokenizer.json, or a model directory holding it", true, {}},
             {"add_special_tokens", FlagKind::boolean, "", "add the post-processor's special tokens (e.g. BOS) when encoding", false, {}},
             {"decode", FlagKind::boolean, "", "every line is an array of ids to decode (strings are an error)", false, {}},
             {"skip_special_tokens", FlagKind::boolean, "", "drop special tokens when decoding", false, {}},
             {"clean_up_tokenization_spaces", FlagKind::string, "config",
              "transformers' decode clean-up (\" .\" -> \".\", ...): config = as transformers 5 (off for BPE unless "
              "tokenizer_config.json forces it), true = applied", false,
              {"config", "true", "false"}},
             {"reference", FlagKind::string, "transformers",
              "encode as transformers' AutoTokenizer or as tokenizers (tokenizer.json alone); they differ for LlamaTokenizer "
              "configs", false,
              {"transformers", "tokenizers"}},
             {"threads", FlagKind::integer, "0", "encoding threads (0 = all cores)", false, {}},
         });
  if (!a.parse(args)) return 0;
  Tokenizer tok = Tokenizer::load(a.str("tokenizer"),
                                  a.str("reference") == "tokenizers" ? Reference::tokenizers : Reference::transformers);
  tok::StreamOptions opt;
  opt.add_special_tokens = a.flag("add_special_tokens");
  opt.decode_only = a.flag("decode");
  opt.skip_special_tokens = a.flag("skip_special_tokens");
  opt.threads = int(a.integer("threads"));
  std::string clean = a.str("clean_up_tokenization_spaces");
  if (clean != "config") opt.clean_up_tokenization_spaces = clean == "true";
  std::ios::sync_with_stdio(false);
  tok::run_tokenize_stream(tok, std::cin, std::cout, opt);
  return 0;
}

}  // namespace zt::cli
