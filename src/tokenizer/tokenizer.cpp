// Encoding and decoding with a loaded tok::Pipeline, in HF tokenizers' order: added tokens are cut out of
// the raw text, the rest is normalized, cut again at normalized added tokens, pre-tokenized and BPE-encoded.
#include "tokenizer/tokenizer.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <thread>

#include "core/error.hpp"
#include "tokenizer/pipeline.hpp"
#include "tokenizer/unicode.hpp"

namespace zt::tok {
namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty() || s.find(from) == std::string::npos) return;
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (size_t i = s.find(from); i != std::string::npos; i = s.find(from, pos)) {
    out.append(s, pos, i - pos);
    out.append(to);
    pos = i + from.size();
  }
  out.append(s, pos);
  s = std::move(out);
}

bool ends_with_word(std::string_view s) {
  if (s.empty()) return false;
  size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  size_t j = i;
  return is_alphanumeric(next_code_point(s, j));
}
bool starts_with_word(std::string_view s) {
  if (s.empty()) return false;
  size_t i = 0;
  return is_alphanumeric(next_code_point(s, i));
}

struct Segment {
  std::string_view text;
  int32_t id = -1;  // >= 0: an added token
  bool at_start = false;
};

// HF AddedVocabulary::find_matches: leftmost-longest matches, then single_word / lstrip / rstrip.
void split_added(const Pipeline& p, const TokenTrie& trie, std::string_view s, bool at_start, std::vector<Segment>& out) {
  if (trie.empty()) {
    out.push_back({s, -1, at_start});
    return;
  }
  size_t start_offset = 0;
  for (size_t i = 0; i < s.size();) {
    if (!trie.may_start(static_cast<unsigned char>(s[i]))) {
      ++i;
      continue;
    }
    auto [idx, end] = trie.longest_at(s, i);
    if (idx < 0) {
      ++i;
      continue;
    }
    size_t start = i, stop = end;
    i = end;
    const AddedToken& a = p.added[size_t(idx)];
    if (p.encode_special_tokens && a.special) continue;
    if (a.single_word) {
      bool start_ok = start == 0 || !ends_with_word(s.substr(0, start));
      bool stop_ok = stop == s.size() || !starts_with_word(s.substr(stop));
      if (!start_ok || !stop_ok) continue;
    }
    if (a.lstrip) {
      size_t k = start;
      while (k > 0) {
        size_t b = k - 1;
        while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
        size_t tmp = b;
        if (!is_white_space(next_code_point(s, tmp))) break;
        k = b;
      }
      start = std::max(k, start_offset);
    }
    if (a.rstrip) {
      while (stop < s.size()) {
        size_t tmp = stop;
        if (!is_white_space(next_code_point(s, tmp))) break;
        stop = tmp;
      }
      i = std::max(i, stop);
    }
    if (start_offset < start) out.push_back({s.substr(start_offset, start - start_offset), -1, at_start && start_offset == 0});
    out.push_back({s.substr(start, stop - start), a.id, false});
    start_offset = stop;
  }
  if (start_offset < s.size() || s.empty())
    out.push_back({s.substr(start_offset), -1, at_start && start_offset == 0});
}

}  // namespace

std::string Pipeline::normalize(std::string_view s) const {
  std::string out(s);
  for (const auto& n : normalizers) {
    switch (n.kind) {
      case NormalizerStep::nfc: out = nfc(out); break;
      case NormalizerStep::prepend:
        if (!out.empty()) out.insert(0, n.a);
        break;
      case NormalizerStep::replace: replace_all(out, n.a, n.b); break;
    }
  }
  return out;
}

namespace {

void pre_tokenize(const Pipeline& p, std::string_view text, bool at_start, std::deque<std::string>& store,
                  std::vector<std::string_view>& words) {
  std::vector<std::string_view> cur{text}, next;
  std::vector<std::pair<size_t, size_t>> matches;
  for (const auto& step : p.pre_tokenizers) {
    next.clear();
    for (size_t w = 0; w < cur.size(); ++w) {
      std::string_view s = cur[w];
      matches.clear();
      switch (step.kind) {
        case PreTokenizerStep::byte_level:
          if (step.add_prefix_space && !s.empty() && s[0] != ' ') {
            store.push_back(" " + std::string(s));
            s = store.back();
          }
          if (step.use_regex) {
            find_regex_matches(SplitRegex::gpt2, s, matches);
            split_with_behavior(s, matches, SplitBehavior::isolated, next);
          } else if (!s.empty()) {
            next.push_back(s);
          }
          break;
        case PreTokenizerStep::split:
          if (step.regex) find_regex_matches(*step.regex, s, matches);
          else find_string_matches(step.literal, s, matches);
          split_with_behavior(s, matches, step.behavior, next);
          break;
        case PreTokenizerStep::metaspace: {
          std::string m(s);
          replace_all(m, " ", step.replacement);
          bool first_piece = at_start && w == 0 && s.data() == text.data();
          if (!m.starts_with(step.replacement) &&
              (step.prepend == PrependScheme::always || (step.prepend == PrependScheme::first && first_piece)))
            m.insert(0, step.replacement);
          store.push_back(std::move(m));
          std::string_view v = store.back();
          if (step.split_on_replacement) {
            find_string_matches(step.replacement, v, matches);
            split_with_behavior(v, matches, SplitBehavior::merged_with_next, next);
          } else if (!v.empty()) {
            next.push_back(v);
          }
          break;
        }
      }
    }
    std::swap(cur, next);
  }
  for (auto w : cur)
    if (!w.empty()) words.push_back(w);
}

void encode_text(const Pipeline& p, std::string_view text, std::vector<int32_t>& ids, WordCache* cache) {
  std::vector<Segment> raw, pieces;
  split_added(p, p.raw_trie, text, true, raw);
  std::deque<std::string> store;
  for (const Segment& seg : raw) {
    if (seg.id >= 0) {
      pieces.push_back(seg);
      continue;
    }
    std::string_view norm = seg.text;
    if (!p.normalizers.empty()) {
      store.push_back(p.normalize(seg.text));
      norm = store.back();
    }
    split_added(p, p.normalized_trie, norm, seg.at_start, pieces);
  }
  std::vector<std::string_view> words;
  for (const Segment& seg : pieces) {
    if (seg.id >= 0) {
      ids.push_back(seg.id);
      continue;
    }
    if (seg.text.empty()) continue;
    words.clear();
    pre_tokenize(p, seg.text, seg.at_start, store, words);
    for (auto w : words) p.model->encode_word(w, ids, cache);
  }
}

// Lossy UTF-8 decoding of bytes, as Rust's String::from_utf8_lossy.
std::string lossy(std::string_view bytes) { return sanitize_utf8(bytes); }

void run_decoder(const DecoderStep& d, std::vector<std::string>& toks) {
  switch (d.kind) {
    case DecoderStep::byte_level: {
      std::string bytes;
      for (const auto& t : toks) {
        std::string mapped;
        bool ok = true;
        for (size_t i = 0; i < t.size() && ok;) {
          int b = byte_from_unicode(next_code_point(t, i));
          if (b < 0) ok = false;
          else mapped += char(b);
        }
        bytes += ok ? mapped : t;
      }
      toks.assign(1, lossy(bytes));
      break;
    }
    case DecoderStep::metaspace:
      for (size_t i = 0; i < toks.size(); ++i)
        replace_all(toks[i], d.a, (i == 0 && d.prepend != PrependScheme::never) ? "" : " ");
      break;
    case DecoderStep::replace:
      for (auto& t : toks) replace_all(t, d.a, d.b);
      break;
    case DecoderStep::byte_fallback: {
      std::vector<std::string> out;
      std::string pending;
      auto flush = [&] {
        if (pending.empty()) return;
        if (valid_utf8(pending)) out.push_back(pending);
        else
          for (size_t k = 0; k < pending.size(); ++k) out.push_back("\xEF\xBF\xBD");
        pending.clear();
      };
      auto hexv = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
      };
      for (auto& t : toks) {
        if (t.size() == 6 && t.starts_with("<0x") && t.back() == '>' && hexv(t[3]) >= 0 && hexv(t[4]) >= 0) {
          pending += char(hexv(t[3]) * 16 + hexv(t[4]));
        } else {
          flush();
          out.push_back(std::move(t));
        }
      }
      flush();
      toks = std::move(out);
      break;
    }
    case DecoderStep::fuse: {
      std::string all;
      for (auto& t : toks) all += t;
      toks.assign(1, std::move(all));
      break;
    }
    case DecoderStep::strip:
      for (auto& t : toks) {
        size_t b = 0, e = t.size();
        for (size_t k = 0; k < d.start && t.compare(b, d.a.size(), d.a) == 0; ++k) b += d.a.size();
        for (size_t k = 0; k < d.stop && e >= b + d.a.size() && t.compare(e - d.a.size(), d.a.size(), d.a) == 0; ++k)
          e -= d.a.size();
        t = t.substr(b, e - b);
      }
      break;
  }
}

}  // namespace
}  // namespace zt::tok

namespace zt {

Tokenizer::Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

namespace {
std::vector<int32_t> encode_impl(const tok::Pipeline& p, std::string_view text, bool add_special_tokens,
                                 tok::WordCache* cache) {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  std::string clean;
  if (!tok::valid_utf8(text)) {
    clean = tok::sanitize_utf8(text);
    text = clean;
  }
  if (add_special_tokens && p.template_single) {
    for (int32_t id : *p.template_single) {
      if (id >= 0) ids.push_back(id);
      else tok::encode_text(p, text, ids, cache);
    }
  } else {
    tok::encode_text(p, text, ids, cache);
  }
  return ids;
}
}  // namespace

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  return encode_impl(*p_, text, add_special_tokens, nullptr);
}

std::vector<std::vector<int32_t>> Tokenizer::encode_batch(const std::vector<std::string>& texts, bool add_special_tokens,
                                                          int threads) const {
  std::vector<std::vector<int32_t>> out(texts.size());
  size_t n = threads > 0 ? size_t(threads) : std::max(1u, std::thread::hardware_concurrency());
  n = std::min(n, texts.size());
  if (n <= 1) {
    tok::WordCache cache;
    for (size_t i = 0; i < texts.size(); ++i) out[i] = encode_impl(*p_, texts[i], add_special_tokens, &cache);
    return out;
  }
  std::atomic<size_t> next{0};
  std::vector<std::exception_ptr> errors(n);
  std::vector<std::thread> pool;
  for (size_t t = 0; t < n; ++t)
    pool.emplace_back([&, t] {
      try {
        tok::WordCache cache;  // private per worker: no lock traffic on the hot path
        for (size_t i; (i = next.fetch_add(1)) < texts.size();)
          out[i] = encode_impl(*p_, texts[i], add_special_tokens, &cache);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, const DecodeOptions& opt) const {
  const auto& p = *p_;
  std::vector<std::string> toks;
  toks.reserve(ids.size());
  for (int32_t id : ids) {
    if (id < 0 || size_t(id) >= p.id_to_token.size()) continue;
    if (p.id_to_token[size_t(id)].empty() && !p.id_is_added[size_t(id)]) continue;  // hole in the id space
    if (opt.skip_special_tokens && p.id_is_special[size_t(id)]) continue;
    toks.push_back(p.id_to_token[size_t(id)]);
  }
  std::string text;
  if (p.decoders) {
    for (const auto& d : *p.decoders) tok::run_decoder(d, toks);
    for (auto& t : toks) text += t;
  } else {
    for (size_t i = 0; i < toks.size(); ++i) text += (i ? " " : "") + toks[i];
  }
  if (opt.clean_up_tokenization_spaces.value_or(p.clean_up_by_default)) {
    for (auto [a, b] : {std::pair{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
                        {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}})
      tok::replace_all(text, a, b);
  }
  return text;
}

int32_t Tokenizer::vocab_size() const { return int32_t(p_->id_to_token.size()); }

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  auto it = p_->token_to_id.find(token);
  if (it == p_->token_to_id.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  if (id < 0 || size_t(id) >= p_->id_to_token.size()) return std::nullopt;
  if (p_->id_to_token[size_t(id)].empty() && !p_->id_is_added[size_t(id)]) return std::nullopt;
  return p_->id_to_token[size_t(id)];
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && size_t(id) < p_->id_is_special.size() && p_->id_is_special[size_t(id)];
}
std::optional<int32_t> Tokenizer::bos_id() const { return p_->bos; }
std::optional<int32_t> Tokenizer::eos_id() const { return p_->eos; }
std::optional<int32_t> Tokenizer::pad_id() const { return p_->pad; }
bool Tokenizer::adds_bos() const {
  return p_->template_single && !p_->template_single->empty() && p_->bos && p_->template_single->front() == *p_->bos;
}
bool Tokenizer::adds_eos() const {
  return p_->template_single && !p_->template_single->empty() && p_->eos && p_->template_single->back() == *p_->eos;
}

}  // namespace zt
