// libFuzzer targets for the tokenizer. ZT_FUZZ_JSON=0: arbitrary bytes are encoded by byte-level, NFC and
// Metaspace/byte-fallback pipelines (and $ZT_FUZZ_TOKENIZER if set); byte-level round trips must hold.
// ZT_FUZZ_JSON=1: the bytes are a tokenizer.json; loading must succeed or throw zt::Error, never crash.
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"
#include "tokenizer/pretokenize.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/unicode.hpp"

namespace {

// A byte-level BPE (GPT-2 alphabet) with a few merges and added tokens, under the Llama 3 regex.
std::string byte_level_json(const char* regex_kind) {
  zt::Json vocab = zt::Json::object();
  int id = 0;
  auto cp_str = [](uint32_t cp) {
    std::string s;
    zt::tok::append_utf8(s, cp);
    return s;
  };
  std::vector<std::string> sym(256);
  uint32_t extra = 256;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    sym[b] = cp_str(printable ? uint32_t(b) : extra++);
  }
  for (auto& s : sym) vocab[s] = id++;
  zt::Json merges = zt::Json::array();
  for (const char* m : {"\xC4\xA0 t", "t h", "\xC4\xA0t h", "e r", "i n", "\xC4\xA0 a", "a n"}) {
    std::string a(m), l = a.substr(0, a.find(' ')), r = a.substr(a.find(' ') + 1);
    if (!vocab.contains(l + r)) vocab[l + r] = id++;
    merges.push_back(a);
  }
  zt::Json added = zt::Json::array({{{"id", id}, {"content", "<|x|>"}, {"special", true}, {"normalized", false}},
                                    {{"id", id + 1}, {"content", "<y>"}, {"special", false}, {"normalized", true},
                                     {"lstrip", true}, {"rstrip", true}}});
  bool gpt2 = std::string(regex_kind) == "gpt2";
  zt::Json pre = zt::Json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", gpt2}};
  if (!gpt2)  // Llama 3 / Qwen2 layout: the regex split, then ByteLevel without its own regex
    pre = {{"type", "Sequence"},
           {"pretokenizers", zt::Json::array({{{"type", "Split"},
                                               {"pattern", {{"Regex", zt::tok::split_regex_source(zt::tok::SplitRegex::llama3)}}},
                                               {"behavior", "Isolated"}, {"invert", false}},
                                              pre})}};
  zt::Json j = {{"added_tokens", added},
                {"normalizer", std::string(regex_kind) == "nfc" ? zt::Json{{"type", "NFC"}} : zt::Json()},
                {"pre_tokenizer", pre},
                {"post_processor", {{"type", "ByteLevel"}}},
                {"decoder", {{"type", "ByteLevel"}}},
                {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}, {"ignore_merges", true}}}};
  return j.dump();
}

std::string metaspace_json() {
  zt::Json vocab = zt::Json::object();
  int id = 0;
  for (const char* t : {"<unk>", "\xE2\x96\x81", "a", "b", "\xE2\x96\x81" "a"}) vocab[t] = id++;
  static const char* hex = "0123456789ABCDEF";
  for (int b = 0; b < 256; b += 3) vocab[std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">"] = id++;
  zt::Json j = {{"normalizer", {{"type", "NFC"}}},
                {"pre_tokenizer", {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "first"}}},
                {"decoder", {{"type", "Sequence"},
                             {"decoders", zt::Json::array({{{"type", "Metaspace"}, {"prepend_scheme", "first"}},
                                                           {{"type", "ByteFallback"}}, {{"type", "Fuse"}},
                                                           {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 1}}})}}},
                {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"\xE2\x96\x81 a"}}, {"unk_token", "<unk>"},
                           {"byte_fallback", true}, {"fuse_unk", true}}}};
  return j.dump();
}

struct Tokenizers {
  std::vector<std::unique_ptr<zt::Tokenizer>> round_trip, other;
  Tokenizers() {
    for (const char* k : {"gpt2", "llama"})
      round_trip.push_back(std::make_unique<zt::Tokenizer>(zt::Tokenizer::from_json(byte_level_json(k), "", k)));
    other.push_back(std::make_unique<zt::Tokenizer>(zt::Tokenizer::from_json(byte_level_json("nfc"), "", "nfc")));
    other.push_back(std::make_unique<zt::Tokenizer>(zt::Tokenizer::from_json(metaspace_json(), "", "metaspace")));
    if (const char* p = std::getenv("ZT_FUZZ_TOKENIZER"))
      round_trip.push_back(std::make_unique<zt::Tokenizer>(zt::Tokenizer::load(p)));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
#if ZT_FUZZ_JSON
  try {
    zt::Tokenizer t = zt::Tokenizer::from_json(s, "", "fuzz.json");
    auto ids = t.encode("Hello <s> world \xE4\xB8\xAD \xFF", true);
    (void)t.decode(ids);
  } catch (const zt::Error&) {
  }
#else
  static Tokenizers tk;
  for (auto& t : tk.round_trip) {
    auto ids = t->encode(s);
    std::string back = t->decode(ids);
    if (back != zt::tok::sanitize_utf8(s)) {
      std::fprintf(stderr, "round trip failed\n");
      std::abort();
    }
  }
  for (auto& t : tk.other) {
    auto ids = t->encode(s, true);
    if (!zt::tok::valid_utf8(t->decode(ids))) std::abort();
  }
#endif
  return 0;
}
