// Builds a tok::Pipeline from tokenizer.json and tokenizer_config.json. Every field we do not implement is
// an error naming its JSON path; nothing is silently approximated.
#include <algorithm>
#include <climits>
#include <filesystem>

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/mmap.hpp"
#include "tokenizer/pipeline.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/unicode.hpp"

namespace zt::tok {
namespace {

struct Ctx {
  std::string src;
  [[noreturn]] void fail_at(const std::string& path, const std::string& what, const std::string& hint = {}) const {
    zt::fail(src + ": " + path + " " + what, hint.empty() ? "zerotune supports the BPE tokenizers of Llama 2/3, Qwen2/3, "
                                                            "Mistral and GPT-2/OPT; please open an issue with this file"
                                                          : hint);
  }
  const Json& get(const Json& j, const std::string& path, const char* key) const {
    if (!j.is_object() || !j.contains(key)) fail_at(path + "." + key, "is missing", "the file is not a valid tokenizer.json");
    return j[key];
  }
  std::string str(const Json& j, const std::string& path, const char* key) const {
    const Json& v = get(j, path, key);
    if (!v.is_string()) fail_at(path + "." + key, "must be a string, got " + std::string(v.type_name()), "fix the file");
    return v.get<std::string>();
  }
  bool opt_bool(const Json& j, const std::string& path, const char* key, bool dflt) const {
    if (!j.contains(key) || j[key].is_null()) return dflt;
    if (!j[key].is_boolean()) fail_at(path + "." + key, "must be true or false", "fix the file");
    return j[key].get<bool>();
  }
  std::string type(const Json& j, const std::string& path) const {
    if (!j.is_object()) fail_at(path, "must be an object", "fix the file");
    return str(j, path, "type");
  }
  [[noreturn]] void unsupported_type(const std::string& path, const std::string& t) const {
    fail_at(path + ".type", "\"" + t + "\" is not supported");
  }
  std::string pattern_string(const Json& j, const std::string& path, bool allow_regex, std::optional<SplitRegex>* regex) const {
    const Json& p = get(j, path, "pattern");
    if (p.is_object() && p.contains("String") && p["String"].is_string()) return p["String"].get<std::string>();
    if (p.is_object() && p.contains("Regex") && p["Regex"].is_string()) {
      std::string re = p["Regex"].get<std::string>();
      if (allow_regex)
        if (auto k = known_split_regex(re)) {
          *regex = k;
          return {};
        }
      fail_at(path + ".pattern.Regex", "\"" + re + "\" is not a regex zerotune implements",
              "supported: the GPT-2, Llama 3 and Qwen2 pre-tokenizer regexes");
    }
    fail_at(path + ".pattern", "must be {\"String\": ...} or {\"Regex\": ...}", "fix the file");
  }
};

PrependScheme prepend_scheme(const Ctx& c, const Json& j, const std::string& path) {
  if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null()) {
    std::string s = c.str(j, path, "prepend_scheme");
    if (s == "always") return PrependScheme::always;
    if (s == "first") return PrependScheme::first;
    if (s == "never") return PrependScheme::never;
    c.fail_at(path + ".prepend_scheme", "\"" + s + "\" is not one of always/first/never", "fix the file");
  }
  return c.opt_bool(j, path, "add_prefix_space", true) ? PrependScheme::always : PrependScheme::never;
}

std::string metaspace_replacement(const Ctx& c, const Json& j, const std::string& path) {
  std::string r = j.contains("replacement") ? c.str(j, path, "replacement") : std::string("\xE2\x96\x81");
  size_t i = 0;
  if (r.empty() || (next_code_point(r, i), i != r.size()))
    c.fail_at(path + ".replacement", "must be a single character", "fix the file");
  return r;
}

void load_normalizer(const Ctx& c, const Json& j, const std::string& path, Pipeline& p) {
  if (j.is_null()) return;
  std::string t = c.type(j, path);
  if (t == "Sequence") {
    const Json& list = c.get(j, path, "normalizers");
    if (!list.is_array()) c.fail_at(path + ".normalizers", "must be an array", "fix the file");
    for (size_t i = 0; i < list.size(); ++i)
      load_normalizer(c, list[i], path + ".normalizers[" + std::to_string(i) + "]", p);
  } else if (t == "NFC") {
    p.normalizers.push_back({NormalizerStep::nfc, {}, {}});
  } else if (t == "Prepend") {
    p.normalizers.push_back({NormalizerStep::prepend, c.str(j, path, "prepend"), {}});
  } else if (t == "Replace") {
    std::optional<SplitRegex> none;
    std::string pat = c.pattern_string(j, path, false, &none);
    if (pat.empty()) c.fail_at(path + ".pattern.String", "must not be empty", "fix the file");
    p.normalizers.push_back({NormalizerStep::replace, pat, c.str(j, path, "content")});
  } else {
    c.unsupported_type(path, t);
  }
}

void load_pre_tokenizer(const Ctx& c, const Json& j, const std::string& path, Pipeline& p) {
  if (j.is_null()) return;
  std::string t = c.type(j, path);
  PreTokenizerStep s{};
  if (t == "Sequence") {
    const Json& list = c.get(j, path, "pretokenizers");
    if (!list.is_array()) c.fail_at(path + ".pretokenizers", "must be an array", "fix the file");
    for (size_t i = 0; i < list.size(); ++i)
      load_pre_tokenizer(c, list[i], path + ".pretokenizers[" + std::to_string(i) + "]", p);
    return;
  }
  if (p.raw_bytes)
    c.fail_at(path, "follows a ByteLevel pre-tokenizer, which zerotune only supports as the last step");
  if (t == "ByteLevel") {
    s.kind = PreTokenizerStep::byte_level;
    s.add_prefix_space = c.opt_bool(j, path, "add_prefix_space", true);
    s.use_regex = c.opt_bool(j, path, "use_regex", true);
    p.raw_bytes = true;
  } else if (t == "Split") {
    s.kind = PreTokenizerStep::split;
    s.literal = c.pattern_string(j, path, true, &s.regex);
    if (!s.regex && s.literal.empty()) c.fail_at(path + ".pattern.String", "must not be empty", "fix the file");
    std::string b = c.str(j, path, "behavior");
    auto beh = parse_split_behavior(b);
    if (!beh) c.fail_at(path + ".behavior", "\"" + b + "\" is not a split behavior", "fix the file");
    s.behavior = *beh;
    if (c.opt_bool(j, path, "invert", false)) c.fail_at(path + ".invert", "true is not supported");
  } else if (t == "Metaspace") {
    s.kind = PreTokenizerStep::metaspace;
    s.replacement = metaspace_replacement(c, j, path);
    s.prepend = prepend_scheme(c, j, path);
    s.split_on_replacement = c.opt_bool(j, path, "split", true);
  } else {
    c.unsupported_type(path, t);
  }
  p.pre_tokenizers.push_back(std::move(s));
}

void load_decoder(const Ctx& c, const Json& j, const std::string& path, std::vector<DecoderStep>& out) {
  std::string t = c.type(j, path);
  DecoderStep d{};
  if (t == "Sequence") {
    const Json& list = c.get(j, path, "decoders");
    if (!list.is_array()) c.fail_at(path + ".decoders", "must be an array", "fix the file");
    for (size_t i = 0; i < list.size(); ++i) load_decoder(c, list[i], path + ".decoders[" + std::to_string(i) + "]", out);
    return;
  } else if (t == "ByteLevel") {
    d.kind = DecoderStep::byte_level;
  } else if (t == "Metaspace") {
    d.kind = DecoderStep::metaspace;
    d.a = metaspace_replacement(c, j, path);
    d.prepend = prepend_scheme(c, j, path);
  } else if (t == "Replace") {
    std::optional<SplitRegex> none;
    d.kind = DecoderStep::replace;
    d.a = c.pattern_string(j, path, false, &none);
    d.b = c.str(j, path, "content");
    if (d.a.empty()) c.fail_at(path + ".pattern.String", "must not be empty", "fix the file");
  } else if (t == "ByteFallback") {
    d.kind = DecoderStep::byte_fallback;
  } else if (t == "Fuse") {
    d.kind = DecoderStep::fuse;
  } else if (t == "Strip") {
    d.kind = DecoderStep::strip;
    d.a = c.str(j, path, "content");
    size_t i = 0;
    if (d.a.empty() || (next_code_point(d.a, i), i != d.a.size()))
      c.fail_at(path + ".content", "must be a single character", "fix the file");
    const Json& st = c.get(j, path, "start");
    const Json& sp = c.get(j, path, "stop");
    if (!st.is_number_unsigned() || !sp.is_number_unsigned())
      c.fail_at(path + ".start", "and .stop must be non-negative integers", "fix the file");
    d.start = st.get<size_t>(), d.stop = sp.get<size_t>();
  } else {
    c.unsupported_type(path, t);
  }
  out.push_back(std::move(d));
}

// Post-processors: returns the single-sequence template (ids, -1 for the sequence) or nullopt (adds nothing).
void load_post_processor(const Ctx& c, const Json& j, const std::string& path, Pipeline& p) {
  if (j.is_null()) return;
  std::string t = c.type(j, path);
  if (t == "Sequence") {
    const Json& list = c.get(j, path, "processors");
    if (!list.is_array()) c.fail_at(path + ".processors", "must be an array", "fix the file");
    for (size_t i = 0; i < list.size(); ++i)
      load_post_processor(c, list[i], path + ".processors[" + std::to_string(i) + "]", p);
  } else if (t == "ByteLevel") {
    // only adjusts offsets; ids are unchanged
  } else if (t == "TemplateProcessing") {
    if (p.template_single) c.fail_at(path, "is a second TemplateProcessing, which is not supported");
    const Json& single = c.get(j, path, "single");
    const Json& specials = c.get(j, path, "special_tokens");
    if (!single.is_array()) c.fail_at(path + ".single", "must be an array", "fix the file");
    std::vector<int32_t> tmpl;
    bool has_a = false;
    for (size_t i = 0; i < single.size(); ++i) {
      std::string ip = path + ".single[" + std::to_string(i) + "]";
      const Json& piece = single[i];
      if (piece.is_object() && piece.contains("Sequence")) {
        std::string id = c.str(piece["Sequence"], ip + ".Sequence", "id");
        if (id != "A") c.fail_at(ip + ".Sequence.id", "\"" + id + "\" is not supported for a single sequence");
        tmpl.push_back(-1);
        has_a = true;
      } else if (piece.is_object() && piece.contains("SpecialToken")) {
        std::string id = c.str(piece["SpecialToken"], ip + ".SpecialToken", "id");
        if (!specials.is_object() || !specials.contains(id))
          c.fail_at(path + ".special_tokens", "has no entry \"" + id + "\" used by " + ip, "fix the file");
        const Json& ids = c.get(specials[id], path + ".special_tokens." + id, "ids");
        if (!ids.is_array()) c.fail_at(path + ".special_tokens." + id + ".ids", "must be an array", "fix the file");
        for (auto& x : ids) {
          if (!x.is_number_integer()) c.fail_at(path + ".special_tokens." + id + ".ids", "must hold integers", "fix the file");
          tmpl.push_back(x.get<int32_t>());
        }
      } else {
        c.fail_at(ip, "must be {\"Sequence\": ...} or {\"SpecialToken\": ...}", "fix the file");
      }
    }
    if (!has_a) c.fail_at(path + ".single", "does not contain the sequence $A", "fix the file");
    p.template_single = std::move(tmpl);
  } else {
    c.unsupported_type(path, t);
  }
}

// `sentencepiece_bpe`: transformers' LlamaTokenizer, which builds its BPE with byte_fallback and fuse_unk on.
void load_model(const Ctx& c, const Json& j, Pipeline& p, bool sentencepiece_bpe) {
  std::string path = "model";
  if (!j.is_object()) c.fail_at(path, "must be an object", "the file is not a valid tokenizer.json");
  std::string t = j.contains("type") ? c.str(j, path, "type") : std::string("BPE");
  if (t != "BPE") c.unsupported_type(path, t);
  if (j.contains("dropout") && !j["dropout"].is_null() && !(j["dropout"].is_number() && j["dropout"].get<double>() == 0.0))
    c.fail_at(path + ".dropout", "is set; BPE dropout (a training-time augmentation) is not supported",
              "set \"dropout\": null");
  for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (j.contains(k) && !j[k].is_null() && !(j[k].is_string() && j[k].get<std::string>().empty()))
      c.fail_at(path + "." + k, "is not supported");
  BpeOptions opt;
  opt.ignore_merges = c.opt_bool(j, path, "ignore_merges", false);
  opt.byte_fallback = c.opt_bool(j, path, "byte_fallback", false);
  opt.fuse_unk = c.opt_bool(j, path, "fuse_unk", false);
  if (sentencepiece_bpe) opt.byte_fallback = opt.fuse_unk = true;
  if (j.contains("unk_token") && !j["unk_token"].is_null()) opt.unk_token = c.str(j, path, "unk_token");

  const Json& vj = c.get(j, path, "vocab");
  if (!vj.is_object()) c.fail_at(path + ".vocab", "must be an object of token -> id", "fix the file");
  Vocab vocab;
  vocab.reserve(vj.size());
  int32_t max_id = -1;
  for (auto it = vj.begin(); it != vj.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 || it.value().get<int64_t>() > INT32_MAX)
      c.fail_at(path + ".vocab[\"" + it.key() + "\"]", "must be a non-negative integer id", "fix the file");
    int32_t id = it.value().get<int32_t>();
    vocab.emplace(it.key(), id);
    max_id = std::max(max_id, id);
  }
  const Json& mj = c.get(j, path, "merges");
  if (!mj.is_array()) c.fail_at(path + ".merges", "must be an array", "fix the file");
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(mj.size());
  for (size_t i = 0; i < mj.size(); ++i) {
    const Json& m = mj[i];
    std::string ip = path + ".merges[" + std::to_string(i) + "]";
    if (m.is_string()) {
      const std::string& s = m.get_ref<const std::string&>();
      size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        c.fail_at(ip, "\"" + s + "\" must be two tokens separated by one space", "fix the file");
      merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      c.fail_at(ip, "must be \"a b\" or [\"a\", \"b\"]", "fix the file");
    }
  }
  p.id_to_token.assign(size_t(max_id + 1), std::string());
  for (auto& [tok, id] : vocab) p.id_to_token[size_t(id)] = tok;
  p.token_to_id = vocab;
  p.model = std::make_unique<BpeModel>(std::move(vocab), merges, opt, c.src);
}

std::optional<std::string> config_token(const Json& cfg, const char* key) {
  if (!cfg.is_object() || !cfg.contains(key)) return std::nullopt;
  const Json& v = cfg[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

// Whether any step of a (possibly nested) tokenizer.json component has type `type`.
bool has_step_type(const Json& j, const char* type) {
  if (j.is_array()) {
    for (const auto& x : j)
      if (has_step_type(x, type)) return true;
    return false;
  }
  if (!j.is_object()) return false;
  if (j.contains("type") && j["type"].is_string() && j["type"].get<std::string>() == type) return true;
  for (const char* k : {"pretokenizers", "normalizers", "decoders", "processors"})
    if (j.contains(k) && has_step_type(j[k], type)) return true;
  return false;
}

// transformers 5's LlamaTokenizer.__init__ (tokenizer_class LlamaTokenizer / LlamaTokenizerFast): it keeps the
// vocabulary, merges, added tokens and post-processor of tokenizer.json but replaces the rest: no normalizer,
// a Metaspace pre-tokenizer without splitting (prepend "▁" always with legacy, to the first piece only
// without, never when add_prefix_space is false) and the decoder Replace(▁→" "), ByteFallback, Fuse, then
// Strip one leading space when add_prefix_space. tokenizer_config.json: add_prefix_space (default true), legacy
// (default false).
void set_transformers_llama_pipeline(const Json& cfg, const std::string& cfg_src, Pipeline& p) {
  auto opt = [&](const char* key, bool dflt) {
    return cfg.is_object() && cfg.contains(key) && !cfg[key].is_null() ? json_opt_bool(cfg, key, dflt, cfg_src) : dflt;
  };
  bool add_prefix_space = opt("add_prefix_space", true), legacy = opt("legacy", false);
  const std::string meta = "\xE2\x96\x81";
  p.normalizers.clear();
  PreTokenizerStep m{};
  m.kind = PreTokenizerStep::metaspace;
  m.replacement = meta;
  m.prepend = !add_prefix_space ? PrependScheme::never : legacy ? PrependScheme::always : PrependScheme::first;
  m.split_on_replacement = false;
  p.pre_tokenizers.assign(1, m);
  std::vector<DecoderStep> d(3);
  d[0].kind = DecoderStep::replace, d[0].a = meta, d[0].b = " ";
  d[1].kind = DecoderStep::byte_fallback;
  d[2].kind = DecoderStep::fuse;
  if (add_prefix_space) {
    DecoderStep strip{};
    strip.kind = DecoderStep::strip, strip.a = " ", strip.start = 1, strip.stop = 0;
    d.push_back(strip);
  }
  p.decoders = std::move(d);
}

}  // namespace

void TokenTrie::insert(const std::string& s, int32_t index) {
  if (s.empty()) return;
  int32_t n = 0;
  for (unsigned char ch : s) {
    int32_t nx = -1;
    for (auto& [c, k] : nodes_[size_t(n)].next)
      if (c == ch) nx = k;
    if (nx < 0) {
      nx = int32_t(nodes_.size());
      nodes_[size_t(n)].next.emplace_back(ch, nx);
      nodes_.emplace_back();
    }
    n = nx;
  }
  if (nodes_[size_t(n)].token < 0) nodes_[size_t(n)].token = index;
  first_[static_cast<unsigned char>(s[0])] = true;
}

std::pair<int32_t, size_t> TokenTrie::longest_at(std::string_view s, size_t i) const {
  std::pair<int32_t, size_t> best{-1, i};
  int32_t n = 0;
  for (size_t k = i; k < s.size(); ++k) {
    int32_t nx = -1;
    for (auto& [c, idx] : nodes_[size_t(n)].next)
      if (c == static_cast<unsigned char>(s[k])) nx = idx;
    if (nx < 0) break;
    n = nx;
    if (nodes_[size_t(n)].token >= 0) best = {nodes_[size_t(n)].token, k + 1};
  }
  return best;
}

std::unique_ptr<Pipeline> build_pipeline(const std::string& text, const std::string& config_text, const std::string& source,
                                         Reference ref) {
  Ctx c{source};
  auto p = std::make_unique<Pipeline>();
  p->source = source;
  Json j = parse_json(text, source);
  if (!j.is_object()) c.fail_at("(root)", "must be a JSON object", "the file is not a valid tokenizer.json");
  // tokenizer_config.json first: transformers rebuilds parts of some pipelines from it
  Json cfg;
  std::string cfg_src = "tokenizer_config.json";
  if (!config_text.empty()) {
    cfg = parse_json(config_text, cfg_src);
    if (!cfg.is_object()) zt::fail(cfg_src + ": must be a JSON object");
  }
  std::string cls = cfg.is_object() && cfg.contains("tokenizer_class") && cfg["tokenizer_class"].is_string()
                        ? cfg["tokenizer_class"].get<std::string>() : std::string();
  if (cls.ends_with("Fast")) cls.resize(cls.size() - 4);
  // transformers' LlamaTokenizer on a SentencePiece-style file; a byte-level file (some Llama 3 derivatives
  // name this class) keeps its own pipeline
  bool tf_llama = ref == Reference::transformers && cls == "LlamaTokenizer" &&
                  !(j.contains("pre_tokenizer") && has_step_type(j["pre_tokenizer"], "ByteLevel"));
  load_model(c, c.get(j, "", "model"), *p, tf_llama);
  if (tf_llama) {
    set_transformers_llama_pipeline(cfg, cfg_src, *p);  // the file's normalizer/pre-tokenizer/decoder are unused
  } else {
    if (j.contains("normalizer")) load_normalizer(c, j["normalizer"], "normalizer", *p);
    if (j.contains("pre_tokenizer")) load_pre_tokenizer(c, j["pre_tokenizer"], "pre_tokenizer", *p);
    if (p->raw_bytes) p->model->use_raw_bytes();
    if (j.contains("decoder") && !j["decoder"].is_null()) {
      p->decoders.emplace();
      load_decoder(c, j["decoder"], "decoder", *p->decoders);
    }
  }
  if (j.contains("post_processor")) load_post_processor(c, j["post_processor"], "post_processor", *p);
  // added tokens
  if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
    const Json& at = j["added_tokens"];
    if (!at.is_array()) c.fail_at("added_tokens", "must be an array", "fix the file");
    for (size_t i = 0; i < at.size(); ++i) {
      std::string ip = "added_tokens[" + std::to_string(i) + "]";
      const Json& t = at[i];
      AddedToken a;
      a.content = c.str(t, ip, "content");
      const Json& id = c.get(t, ip, "id");
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
        c.fail_at(ip + ".id", "must be a non-negative integer", "fix the file");
      a.id = id.get<int32_t>();
      a.special = c.opt_bool(t, ip, "special", false);
      a.single_word = c.opt_bool(t, ip, "single_word", false);
      a.lstrip = c.opt_bool(t, ip, "lstrip", false);
      a.rstrip = c.opt_bool(t, ip, "rstrip", false);
      a.normalized = c.opt_bool(t, ip, "normalized", !a.special);
      if (a.content.empty()) continue;
      if (size_t(a.id) >= p->id_to_token.size()) p->id_to_token.resize(size_t(a.id) + 1);
      p->id_to_token[size_t(a.id)] = a.content;
      p->token_to_id[a.content] = a.id;
      p->added.push_back(std::move(a));
    }
  }
  p->id_is_added.assign(p->id_to_token.size(), 0);
  p->id_is_special.assign(p->id_to_token.size(), 0);
  for (size_t i = 0; i < p->added.size(); ++i) {
    const AddedToken& a = p->added[i];
    p->id_is_added[size_t(a.id)] = 1;
    if (a.special) p->id_is_special[size_t(a.id)] = 1;
    // HF matches normalized added tokens by their normalized form
    if (a.normalized) p->normalized_trie.insert(p->normalize(a.content), int32_t(i));
    else p->raw_trie.insert(a.content, int32_t(i));
  }

  // special tokens and flags from tokenizer_config.json
  auto resolve = [&](const char* key) -> std::optional<int32_t> {
    auto t = config_token(cfg, key);
    if (!t) return std::nullopt;
    auto it = p->token_to_id.find(*t);
    check(it != p->token_to_id.end(), cfg_src + ": " + key + " '" + *t + "' is not a token of " + source,
          "the tokenizer_config.json does not belong to this tokenizer.json");
    return it->second;
  };
  p->bos = resolve("bos_token");
  p->eos = resolve("eos_token");
  p->pad = resolve("pad_token");
  if (cfg.is_object()) {
    // transformers 5 skips the clean-up for BPE models unless forced (TokenizersBackend._decode)
    p->clean_up_by_default =
        json_opt_bool(cfg, "clean_up_tokenization_spaces", false, cfg_src) &&
        json_opt_bool(cfg, "clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output", false, cfg_src);
    p->encode_special_tokens = json_opt_bool(cfg, "split_special_tokens", false, cfg_src);
    // transformers rebuilds the post-processor template from add_bos_token/add_eos_token: always for
    // LlamaTokenizerFast / CodeLlamaTokenizerFast / GemmaTokenizerFast (defaults true/false), and for any fast
    // tokenizer whose tokenizer_config.json sets either key (PreTrainedTokenizerFast.update_post_processor).
    bool llama_like = cls == "LlamaTokenizer" || cls == "CodeLlamaTokenizer" || cls == "GemmaTokenizer";
    bool explicit_flags = (cfg.contains("add_bos_token") && !cfg["add_bos_token"].is_null()) ||
                          (cfg.contains("add_eos_token") && !cfg["add_eos_token"].is_null());
    if (llama_like || explicit_flags) {
      bool add_bos = json_opt_bool(cfg, "add_bos_token", llama_like, cfg_src);
      bool add_eos = json_opt_bool(cfg, "add_eos_token", false, cfg_src);
      check(!add_bos || p->bos, cfg_src + ": add_bos_token is true but bos_token is not set", "set bos_token");
      check(!add_eos || p->eos, cfg_src + ": add_eos_token is true but eos_token is not set", "set eos_token");
      std::vector<int32_t> tmpl;
      if (add_bos) tmpl.push_back(*p->bos);
      tmpl.push_back(-1);
      if (add_eos) tmpl.push_back(*p->eos);
      p->template_single = std::move(tmpl);
    }
  }
  return p;
}

}  // namespace zt::tok

namespace zt {

Tokenizer Tokenizer::load(const std::string& path, Reference ref) {
  namespace fs = std::filesystem;
  std::string file = path, config;
  if (fs::is_directory(path)) {
    file = (fs::path(path) / "tokenizer.json").string();
    check(fs::exists(file), path + " has no tokenizer.json",
          "zerotune reads the Hugging Face fast-tokenizer file; slow-only models (tokenizer.model alone) are not supported");
  }
  check(fs::exists(file), "tokenizer file " + file + " does not exist", "pass a tokenizer.json or a model directory");
  auto cfg_path = fs::path(file).parent_path() / "tokenizer_config.json";
  if (fs::exists(cfg_path)) config = read_file(cfg_path.string());
  return from_json(read_file(file), config, file, ref);
}

Tokenizer Tokenizer::from_json(const std::string& tokenizer_json, const std::string& config_json, const std::string& source,
                               Reference ref) {
  Tokenizer t;
  t.p_ = tok::build_pipeline(tokenizer_json, config_json, source, ref);
  return t;
}

}  // namespace zt
