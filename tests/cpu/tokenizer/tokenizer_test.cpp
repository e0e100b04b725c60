// Unit tests of zt::Tokenizer on small hand-made tokenizer.json files: each supported component, HF's
// added-token rules, errors naming JSON paths, invalid UTF-8, NFC, the regex matchers and the JSON-lines stream.
#include <gtest/gtest.h>

#include <sstream>

#include "core/error.hpp"
#include "core/json.hpp"
#include "tokenizer/pretokenize.hpp"
#include "tokenizer/stream.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/unicode.hpp"

using namespace zt;
using Ids = std::vector<int32_t>;

namespace {

// A character-level BPE over `chars` plus merged tokens; ids in insertion order.
Json bpe_json(const std::vector<std::string>& tokens, const Json& merges) {
  Json vocab = Json::object();
  for (size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = int(i);
  return Json{{"version", "1.0"},
              {"added_tokens", Json::array()},
              {"normalizer", nullptr},
              {"pre_tokenizer", nullptr},
              {"post_processor", nullptr},
              {"decoder", nullptr},
              {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
}

Tokenizer make(const Json& j, const Json& cfg = Json()) {
  return Tokenizer::from_json(j.dump(), cfg.is_null() ? std::string() : cfg.dump(), "test.json");
}

std::string error_of(const Json& j) {
  try {
    make(j);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Tokenizer, MergesApplyByRankAndAcceptBothFormats) {
  std::vector<std::string> v{"a", "b", "c", "ab", "bc", "abc"};
  Tokenizer s = make(bpe_json(v, {"b c", "a b", "a bc"}));
  Tokenizer p = make(bpe_json(v, Json::array({Json::array({"b", "c"}), Json::array({"a", "b"}), Json::array({"a", "bc"})})));
  EXPECT_EQ(s.encode("abc"), (Ids{5}));  // b c first, then a bc
  EXPECT_EQ(p.encode("abc"), (Ids{5}));
  EXPECT_EQ(s.encode("abab"), (Ids{3, 3}));
  Tokenizer r = make(bpe_json(v, {"a b", "b c"}));
  EXPECT_EQ(r.encode("abc"), (Ids{3, 2}));  // a b wins, then nothing merges ab+c
  EXPECT_EQ(r.encode(""), Ids{});
}

TEST(Tokenizer, EqualRanksMergeLeftmostFirst) {
  Tokenizer t = make(bpe_json({"a", "aa"}, {"a a"}));
  EXPECT_EQ(t.encode("aaa"), (Ids{1, 0}));
  EXPECT_EQ(t.encode("aaaaa"), (Ids{1, 1, 0}));
}

TEST(Tokenizer, IgnoreMergesTakesWholeWordsFromTheVocabulary) {
  Json j = bpe_json({"a", "b", "c", "bc", "abc"}, {"b c"});  // "abc" is unreachable by merges
  EXPECT_EQ(make(j).encode("abc"), (Ids{0, 3}));
  j["model"]["ignore_merges"] = true;
  EXPECT_EQ(make(j).encode("abc"), (Ids{4}));
}

TEST(Tokenizer, UnknownCharactersFuseOrNotAndByteFallback) {
  Json j = bpe_json({"<unk>", "a"}, Json::array());
  j["model"]["unk_token"] = "<unk>";
  EXPECT_EQ(make(j).encode("xya"), (Ids{0, 0, 1}));
  j["model"]["fuse_unk"] = true;
  EXPECT_EQ(make(j).encode("xya"), (Ids{0, 1}));
  // byte fallback: é is C3 A9
  Json k = bpe_json({"<unk>", "a", "<0xC3>", "<0xA9>"}, Json::array());
  k["model"]["unk_token"] = "<unk>";
  k["model"]["byte_fallback"] = true;
  EXPECT_EQ(make(k).encode("a\xC3\xA9" "a"), (Ids{1, 2, 3, 1}));
  EXPECT_EQ(make(k).encode("\xE2\x82\xAC"), (Ids{0}));  // € has no byte tokens: unk
  k["decoder"] = {{"type", "ByteFallback"}};
  EXPECT_EQ(make(k).decode(Ids{1, 2, 3}), "a\xC3\xA9");
  EXPECT_EQ(make(k).decode(Ids{1, 2}), "a\xEF\xBF\xBD");  // a lone lead byte decodes to U+FFFD
  // without unk_token the character is dropped, as HF does
  Json n = bpe_json({"a"}, Json::array());
  EXPECT_EQ(make(n).encode("xa"), (Ids{0}));
}

TEST(Tokenizer, LlamaTwoStyleNormalizerAndDecoder) {
  Json j = bpe_json({"<unk>", "<s>", "</s>", "\xE2\x96\x81", "h", "i", "\xE2\x96\x81h", "\xE2\x96\x81hi"},
                    {"\xE2\x96\x81 h", "\xE2\x96\x81h i"});
  j["model"]["unk_token"] = "<unk>";
  j["added_tokens"] = Json::array({{{"id", 1}, {"content", "<s>"}, {"special", true}, {"normalized", false}}});
  j["normalizer"] = {{"type", "Sequence"},
                     {"normalizers", Json::array({{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
                                                  {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}})}};
  j["decoder"] = {{"type", "Sequence"},
                  {"decoders", Json::array({{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
                                            {{"type", "ByteFallback"}},
                                            {{"type", "Fuse"}},
                                            {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}};
  Json cfg = {{"tokenizer_class", "LlamaTokenizer"}, {"bos_token", "<s>"}, {"eos_token", "</s>"}, {"add_bos_token", true},
              {"legacy", true}};
  // transformers 5 replaces Prepend + Replace by Metaspace(prepend always, no split)
  Tokenizer t = make(j, cfg);
  EXPECT_EQ(t.encode("hi hi"), (Ids{7, 7}));
  EXPECT_EQ(t.encode("hi", true), (Ids{1, 7}));
  EXPECT_EQ(t.encode("<s>hi"), (Ids{1, 7}));  // the piece after <s> gets its own ▁
  EXPECT_EQ(t.encode(" hi"), (Ids{7}));       // a leading space is the ▁: none is added
  EXPECT_EQ(t.decode(Ids{1, 7, 7}), "<s> hi hi");
  EXPECT_EQ(t.decode(Ids{1, 7, 7}, {.skip_special_tokens = true}), "hi hi");
  EXPECT_TRUE(t.adds_bos());
  // HF tokenizers runs the file's normalizer: Prepend gives " hi" a second ▁
  Tokenizer raw = Tokenizer::from_json(j.dump(), cfg.dump(), "test.json", Reference::tokenizers);
  EXPECT_EQ(raw.encode(" hi"), (Ids{3, 7}));
  EXPECT_EQ(raw.encode("<s>hi"), (Ids{1, 7}));
  EXPECT_EQ(raw.encode("hi", true), (Ids{1, 7}));
  // legacy false (transformers' default): only the start of the text gets ▁
  cfg["legacy"] = false;
  Tokenizer nl = make(j, cfg);
  EXPECT_EQ(nl.encode("<s>hi"), (Ids{1, 4, 5}));
  EXPECT_EQ(nl.encode("hi<s>hi"), (Ids{7, 1, 4, 5}));
  cfg.erase("legacy");
  EXPECT_EQ(make(j, cfg).encode("<s>hi"), (Ids{1, 4, 5}));
  // add_prefix_space false: no ▁ prepended and no leading space stripped when decoding
  cfg["add_prefix_space"] = false;
  Tokenizer np = make(j, cfg);
  EXPECT_EQ(np.encode("hi hi"), (Ids{4, 5, 7}));
  EXPECT_EQ(np.decode(Ids{7}), " hi");
  cfg.erase("add_prefix_space");
  cfg["legacy"] = true;
  EXPECT_FALSE(t.adds_eos());
  cfg["add_eos_token"] = true;
  Tokenizer e = make(j, cfg);
  EXPECT_EQ(e.encode("hi", true), (Ids{1, 7, 2}));
  EXPECT_EQ(e.eos_id(), 2);
  // any fast tokenizer: explicit add_bos_token/add_eos_token rebuild the template; absent keys keep the file's
  j["post_processor"] = nullptr;
  Json generic = {{"tokenizer_class", "PreTrainedTokenizerFast"}, {"bos_token", "<s>"}, {"eos_token", "</s>"}};
  EXPECT_EQ(make(j, generic).encode("hi", true), (Ids{7}));
  generic["add_eos_token"] = true;
  EXPECT_EQ(make(j, generic).encode("hi", true), (Ids{7, 2}));
  generic["add_bos_token"] = true;
  EXPECT_EQ(make(j, generic).encode("hi", true), (Ids{1, 7, 2}));
}

// transformers 5 ignores clean_up_tokenization_spaces for BPE models unless
// clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output is set; an explicit true forces it.
TEST(Tokenizer, CleanUpTokenizationSpacesAsTransformersFive) {
  Json j = bpe_json({"a", "\xE2\x96\x81", ".", "'", "s"}, Json::array());
  j["decoder"] = {{"type", "Sequence"},
                  {"decoders", Json::array({{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
                                            {{"type", "Fuse"}}})}};
  const Ids ids{0, 1, 2, 1, 3, 4};  // "a . 's"
  DecodeOptions dflt, on, off;
  dflt.clean_up_tokenization_spaces = std::nullopt;
  on.clean_up_tokenization_spaces = true;
  Json cfg = {{"clean_up_tokenization_spaces", true}};
  Tokenizer t = make(j, cfg);
  EXPECT_EQ(t.decode(ids), "a . 's");
  EXPECT_EQ(t.decode(ids, dflt), "a . 's");
  EXPECT_EQ(t.decode(ids, on), "a.'s");
  EXPECT_EQ(t.decode(ids, off), "a . 's");
  cfg["clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output"] = true;
  EXPECT_EQ(make(j, cfg).decode(ids, dflt), "a.'s");
  EXPECT_EQ(make(j, cfg).decode(ids, off), "a . 's");
  cfg["clean_up_tokenization_spaces"] = false;
  EXPECT_EQ(make(j, cfg).decode(ids, dflt), "a . 's");
}

TEST(Tokenizer, MetaspacePreTokenizerAndDecoder) {
  Json j = bpe_json({"\xE2\x96\x81", "a", "b", "\xE2\x96\x81" "a", "\xE2\x96\x81" "b", "<x>"},
                    {"\xE2\x96\x81 a", "\xE2\x96\x81 b"});
  j["added_tokens"] = Json::array({{{"id", 5}, {"content", "<x>"}, {"special", true}, {"normalized", false}}});
  j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "first"}, {"split", true}};
  j["decoder"] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "first"}, {"split", true}};
  Tokenizer t = make(j);
  EXPECT_EQ(t.encode("a b"), (Ids{3, 4}));
  EXPECT_EQ(t.encode("a<x>b"), (Ids{3, 5, 2}));  // "first": only the start of the input gets ▁
  EXPECT_EQ(t.decode(Ids{3, 4}), "a b");
  j["pre_tokenizer"]["prepend_scheme"] = "always";
  EXPECT_EQ(make(j).encode("a<x>b"), (Ids{3, 5, 4}));
}

TEST(Tokenizer, AddedTokenOptions) {
  Json j = bpe_json({" ", "a", "b", "<m>", "tok"}, Json::array());
  auto added = [&](bool lstrip, bool rstrip, bool single_word) {
    j["added_tokens"] = Json::array({{{"id", 3}, {"content", "<m>"}, {"special", true}, {"normalized", false},
                                      {"lstrip", lstrip}, {"rstrip", rstrip}, {"single_word", single_word}}});
    return make(j);
  };
  EXPECT_EQ(added(false, false, false).encode("a <m> b"), (Ids{1, 0, 3, 0, 2}));
  EXPECT_EQ(added(true, false, false).encode("a <m> b"), (Ids{1, 3, 0, 2}));
  EXPECT_EQ(added(false, true, false).encode("a <m> b"), (Ids{1, 0, 3, 2}));
  EXPECT_EQ(added(true, true, false).encode("a  <m>  b"), (Ids{1, 3, 2}));
  EXPECT_EQ(added(false, false, true).encode("a<m>b"), (Ids{1, 2}));  // <m> inside a word is not matched
  EXPECT_EQ(added(false, false, true).encode("a <m> b"), (Ids{1, 0, 3, 0, 2}));
  // leftmost-longest between overlapping added tokens
  j["added_tokens"] = Json::array({{{"id", 3}, {"content", "<m>"}, {"special", true}, {"normalized", false}},
                                   {{"id", 6}, {"content", "<m>b"}, {"special", false}, {"normalized", false}}});
  EXPECT_EQ(make(j).encode("a<m>b<m>"), (Ids{1, 6, 3}));
  EXPECT_FALSE(make(j).is_special(6));
  EXPECT_EQ(make(j).vocab_size(), 7);
  EXPECT_EQ(make(j).decode(Ids{1, 6, 3}, {.skip_special_tokens = true}), "a <m>b");  // no decoder: joined with spaces
}

TEST(Tokenizer, NormalizedAddedTokensMatchAfterNormalization) {
  Json j = bpe_json({"a", "e\xCC\x81", "\xC3\xA9", "<\xC3\xA9>"}, Json::array());
  j["normalizer"] = {{"type", "NFC"}};
  j["added_tokens"] = Json::array({{{"id", 3}, {"content", "<e\xCC\x81>"}, {"special", false}, {"normalized", true}}});
  Tokenizer t = make(j);
  EXPECT_EQ(t.encode("a<e\xCC\x81>a"), (Ids{0, 3, 0}));  // both the token and the text are NFC'd
  EXPECT_EQ(t.encode("e\xCC\x81"), (Ids{2}));
}

TEST(Tokenizer, SplitBehaviors) {
  Json j = bpe_json({"a", "b", "-"}, Json::array());
  auto with = [&](const char* behavior) {
    j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", false}};
    return make(j).encode("a-b--a");
  };
  EXPECT_EQ(with("Removed"), (Ids{0, 1, 0}));
  EXPECT_EQ(with("Isolated"), (Ids{0, 2, 1, 2, 2, 0}));
  std::vector<std::string_view> out;
  std::vector<std::pair<size_t, size_t>> m;
  zt::tok::find_string_matches("-", "a-b--a", m);
  auto split = [&](zt::tok::SplitBehavior b) {
    out.clear();
    zt::tok::split_with_behavior("a-b--a", m, b, out);
    std::string s;
    for (auto x : out) s += std::string(x) + "|";
    return s;
  };
  EXPECT_EQ(split(zt::tok::SplitBehavior::merged_with_previous), "a-|b-|-|a|");
  EXPECT_EQ(split(zt::tok::SplitBehavior::merged_with_next), "a|-b|-|-a|");
  EXPECT_EQ(split(zt::tok::SplitBehavior::contiguous), "a|-|b|--|a|");
}

std::string pieces(zt::tok::SplitRegex r, std::string_view s) {
  std::vector<std::pair<size_t, size_t>> m;
  zt::tok::find_regex_matches(r, s, m);
  std::string out;
  for (auto [a, b] : m) out += std::string(s.substr(a, b - a)) + "|";
  return out;
}

TEST(PreTokenizerRegex, MatchesTheRegexSemantics) {
  using zt::tok::SplitRegex;
  EXPECT_EQ(pieces(SplitRegex::llama3, "I've 12345  x\n\n y"), "I|'ve| |123|45| | x|\n\n| y|");
  EXPECT_EQ(pieces(SplitRegex::qwen2, "ab 123"), "ab| |1|2|3|");
  EXPECT_EQ(pieces(SplitRegex::gpt2, "ab 123  x  "), "ab| 123| | x|  |");
  EXPECT_EQ(pieces(SplitRegex::llama3, "HE'S 'LL"), "HE|'S| '|LL|");
  EXPECT_EQ(pieces(SplitRegex::gpt2, "HE'S"), "HE|'|S|");
  EXPECT_EQ(pieces(SplitRegex::llama3, "a...\r\n\r\nb"), "a|...\r\n\r\n|b|");
  EXPECT_EQ(pieces(SplitRegex::llama3, "\t\tword"), "\t|\tword|");
  EXPECT_EQ(pieces(SplitRegex::llama3, "x \n  y"), "x| \n| | y|");
  EXPECT_EQ(pieces(SplitRegex::llama3, "\xC2\xA0\xE4\xB8\xAD"), "\xC2\xA0\xE4\xB8\xAD|");  // NBSP + CJK letter
  EXPECT_EQ(pieces(SplitRegex::llama3, "\xD9\xA1\xD9\xA2\xD9\xA3\xD9\xA4"), "\xD9\xA1\xD9\xA2\xD9\xA3|\xD9\xA4|");
  EXPECT_TRUE(zt::tok::known_split_regex(zt::tok::split_regex_source(SplitRegex::llama3)));
}

TEST(Unicode, InvalidUtf8IsReplacedByMaximalSubparts) {
  using zt::tok::sanitize_utf8;
  const std::string R = "\xEF\xBF\xBD";
  // expectations are Python's bytes.decode("utf-8", "replace")
  EXPECT_EQ(sanitize_utf8("a\xFF" "b"), "a" + R + "b");
  EXPECT_EQ(sanitize_utf8("\xE2\x82"), R);
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), R + R + R);
  EXPECT_EQ(sanitize_utf8("\xF0\x9F\x98"), R);
  EXPECT_EQ(sanitize_utf8("\xC0\xAF"), R + R);
  EXPECT_EQ(sanitize_utf8("\xF4\x90\x80\x80"), R + R + R + R);
  EXPECT_EQ(sanitize_utf8("ok \xE2\x82\xAC"), "ok \xE2\x82\xAC");
  EXPECT_TRUE(zt::tok::valid_utf8("\xEF\xBF\xBD"));
  EXPECT_FALSE(zt::tok::valid_utf8("\x80"));
}

TEST(Unicode, NfcComposesReordersAndExcludes) {
  using zt::tok::nfc;
  EXPECT_EQ(nfc("e\xCC\x81"), "\xC3\xA9");
  EXPECT_EQ(nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"), "\xEA\xB0\x81");  // jamo -> 각
  EXPECT_EQ(nfc("\xE2\x84\xAB"), "\xC3\x85");                              // Angstrom sign -> Å
  EXPECT_EQ(nfc("s\xCC\x87\xCC\xA3"), "\xE1\xB9\xA9");                     // s + dot above + dot below -> ṩ
  EXPECT_EQ(nfc("q\xCC\x87\xCC\xA3"), "q\xCC\xA3\xCC\x87");                // canonical reordering
  EXPECT_EQ(nfc("\xE0\xA4\x95\xE0\xA4\xBC"), "\xE0\xA4\x95\xE0\xA4\xBC");  // क़ is a composition exclusion
  EXPECT_EQ(nfc("\xEF\xAC\x81"), "\xEF\xAC\x81");                          // ﬁ: compatibility only
  EXPECT_TRUE(zt::tok::is_letter(0x4E2D));
  EXPECT_TRUE(zt::tok::is_number(0x0661));
  EXPECT_TRUE(zt::tok::is_white_space(0x3000));
  EXPECT_FALSE(zt::tok::is_white_space(0x200B));
}

TEST(Tokenizer, InvalidUtf8InputEncodesAsItsReplacement) {
  Json j = bpe_json({"a", "\xEF\xBF\xBD"}, Json::array());
  Tokenizer t = make(j);
  EXPECT_EQ(t.encode("a\xFF\xFE" "a"), t.encode("a\xEF\xBF\xBD\xEF\xBF\xBD" "a"));
  EXPECT_EQ(t.encode("a\xFF"), (Ids{0, 1}));
}

TEST(Tokenizer, UnsupportedOrMalformedJsonNamesThePath) {
  Json j = bpe_json({"a"}, Json::array());
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", Json::array({{{"type", "NFC"}}, {{"type", "NFKC"}}})}};
  EXPECT_NE(error_of(j).find("test.json: normalizer.normalizers[1].type \"NFKC\" is not supported"), std::string::npos)
      << error_of(j);
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "\\w+"}}}, {"behavior", "Isolated"}, {"invert", false}};
  EXPECT_NE(error_of(j).find("pre_tokenizer.pattern.Regex"), std::string::npos) << error_of(j);
  j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", Json::array({{{"type", "Whitespace"}}})}};
  EXPECT_NE(error_of(j).find("pre_tokenizer.pretokenizers[0].type \"Whitespace\""), std::string::npos) << error_of(j);
  j["pre_tokenizer"] = nullptr;
  j["model"]["type"] = "WordPiece";
  EXPECT_NE(error_of(j).find("model.type \"WordPiece\" is not supported"), std::string::npos);
  j["model"]["type"] = "BPE";
  j["model"]["merges"] = Json::array({"a"});
  EXPECT_NE(error_of(j).find("model.merges[0]"), std::string::npos);
  j["model"]["merges"] = Json::array({"a b"});
  EXPECT_NE(error_of(j).find("model.merges[0] uses a token missing"), std::string::npos);
  j["model"]["merges"] = Json::array();
  j["decoder"] = {{"type", "WordPiece"}};
  EXPECT_NE(error_of(j).find("decoder.type \"WordPiece\""), std::string::npos);
  j["decoder"] = nullptr;
  j["post_processor"] = {{"type", "RobertaProcessing"}};
  EXPECT_NE(error_of(j).find("post_processor.type \"RobertaProcessing\""), std::string::npos);
  j.erase("post_processor");
  j.erase("model");
  EXPECT_NE(error_of(j).find("model is missing"), std::string::npos) << error_of(j);
  EXPECT_THROW(Tokenizer::from_json("{\"model\": ", "", "x.json"), Error);
  EXPECT_THROW(Tokenizer::load("/nonexistent/dir"), Error);
}

TEST(Tokenizer, BatchEqualsSingle) {
  Tokenizer t = make(bpe_json({"a", "b", "ab"}, {"a b"}));
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) texts.push_back(std::string(size_t(i % 17), 'a') + std::string(size_t(i % 5), 'b'));
  auto batch = t.encode_batch(texts, false, 4);
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(batch[i], t.encode(texts[i]));
}

TEST(TokenizeStream, EncodesAndDecodesJsonLinesInOrder) {
  Json j = bpe_json({"a", "b", "ab", "<s>"}, {"a b"});
  j["added_tokens"] = Json::array({{{"id", 3}, {"content", "<s>"}, {"special", true}, {"normalized", false}}});
  j["post_processor"] = {{"type", "TemplateProcessing"},
                         {"single", Json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                                 {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
                         {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {3}}, {"tokens", {"<s>"}}}}}}};
  Tokenizer t = make(j);
  std::istringstream in("\"abab\"\n[3,2,0]\n\"\"\n");
  std::ostringstream out;
  zt::tok::StreamOptions opt;
  EXPECT_EQ(zt::tok::run_tokenize_stream(t, in, out, opt), 3u);
  EXPECT_EQ(out.str(), "[2,2]\n\"<s> ab a\"\n[]\n");
  std::istringstream in2("\"ab\"\n");
  std::ostringstream out2;
  opt.add_special_tokens = true;
  zt::tok::run_tokenize_stream(t, in2, out2, opt);
  EXPECT_EQ(out2.str(), "[3,2]\n");
  std::istringstream bad("\"a\"\n{\"x\":1}\n");
  std::ostringstream out3;
  try {
    zt::tok::run_tokenize_stream(t, bad, out3, opt);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("stdin line 2"), std::string::npos);
  }
  std::istringstream ids("[99]\n");
  EXPECT_THROW(zt::tok::run_tokenize_stream(t, ids, out3, opt), Error);
}

}  // namespace
