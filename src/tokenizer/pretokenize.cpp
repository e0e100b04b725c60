// Hand-written matchers for the GPT-2 / Llama 3 / Qwen2 pre-tokenizer regexes. Each alternative is tried in
// order at the current position, with the backtracking the regex engine would do spelled out.
#include "tokenizer/pretokenize.hpp"

#include "tokenizer/unicode.hpp"

namespace zt::tok {
namespace {

const char* const kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
const char* const kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

enum Cls : uint8_t { kOther = 0, kLetter = 1, kNumber = 2, kSpace = 3 };

struct Cursor {
  std::string_view s;
  // Code point and class at byte i (i < s.size()); sets `next` to the following byte offset.
  uint32_t at(size_t i, size_t& next) const {
    unsigned char c = s[i];
    if (c < 0x80) {
      next = i + 1;
      return c;
    }
    next = i;
    return next_code_point(s, next);
  }
  static Cls cls(uint32_t cp) {
    if (cp < 0x80) {
      if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return kLetter;
      if (cp >= '0' && cp <= '9') return kNumber;
      if (cp == ' ' || (cp >= 9 && cp <= 13)) return kSpace;
      return kOther;
    }
    uint8_t f = char_flags(cp);
    if (f & 32) return kSpace;
    uint8_t c = f & 31;
    if (c >= 1 && c <= 5) return kLetter;
    if (c >= 9 && c <= 11) return kNumber;
    return kOther;
  }
  Cls cls_at(size_t i, size_t& next) const { return cls(at(i, next)); }
  // End of the run of characters of class c starting at i (at most `max` characters).
  size_t run(size_t i, Cls c, size_t max = SIZE_MAX) const {
    size_t n = 0, next;
    while (i < s.size() && n < max && cls_at(i, next) == c) i = next, ++n;
    return i;
  }
};

// Case-insensitive ASCII letter compare as Oniguruma's (?i) does for these letters (U+017F folds to s).
bool fold_eq(uint32_t cp, char lower, bool ci) {
  if (cp == uint32_t(lower)) return true;
  if (!ci) return false;
  if (cp == uint32_t(lower - 32)) return true;
  return lower == 's' && cp == 0x17F;
}

size_t match_contraction(const Cursor& c, size_t i, bool ci) {
  size_t j, k, l;
  if (c.s[i] != '\'' || i + 1 >= c.s.size()) return 0;
  uint32_t a = c.at(i + 1, j);
  if (fold_eq(a, 's', ci) || fold_eq(a, 't', ci) || fold_eq(a, 'm', ci) || fold_eq(a, 'd', ci)) return j;
  if (j >= c.s.size()) return 0;
  uint32_t b = c.at(j, k);
  if ((fold_eq(a, 'r', ci) || fold_eq(a, 'v', ci)) && fold_eq(b, 'e', ci)) return k;
  if (fold_eq(a, 'l', ci) && fold_eq(b, 'l', ci)) return k;
  (void)l;
  return 0;
}

size_t match_at(SplitRegex r, const Cursor& c, size_t i) {
  const size_t n = c.s.size();
  const bool llama = r != SplitRegex::gpt2;
  if (size_t e = match_contraction(c, i, llama)) return e;
  size_t i1;
  uint32_t cp0 = c.at(i, i1);
  Cls c0 = Cursor::cls(cp0);
  size_t tmp;
  // letters
  if (c0 == kLetter) return c.run(i, kLetter);
  if (llama) {
    if (c0 != kNumber && cp0 != '\r' && cp0 != '\n' && i1 < n && c.cls_at(i1, tmp) == kLetter) return c.run(i1, kLetter);
  } else if (cp0 == ' ' && i1 < n && c.cls_at(i1, tmp) == kLetter) {
    return c.run(i1, kLetter);
  }
  // numbers
  if (r == SplitRegex::llama3 && c0 == kNumber) return c.run(i, kNumber, 3);
  if (r == SplitRegex::qwen2 && c0 == kNumber) return i1;
  if (r == SplitRegex::gpt2) {
    if (c0 == kNumber) return c.run(i, kNumber);
    if (cp0 == ' ' && i1 < n && c.cls_at(i1, tmp) == kNumber) return c.run(i1, kNumber);
  }
  // punctuation and symbols: ' ?[^\s\p{L}\p{N}]+' (+ '[\r\n]*' for llama3/qwen2)
  size_t p = SIZE_MAX;
  if (c0 == kOther) p = i;
  else if (cp0 == ' ' && i1 < n && c.cls_at(i1, tmp) == kOther) p = i1;
  if (p != SIZE_MAX) {
    size_t e = c.run(p, kOther);
    if (llama)
      while (e < n && (c.s[e] == '\r' || c.s[e] == '\n')) ++e;
    return e;
  }
  // c0 is whitespace here
  size_t j = i, last_start = i, last_nl_end = SIZE_MAX;
  while (j < n) {
    size_t nx;
    uint32_t cp = c.at(j, nx);
    if (Cursor::cls(cp) != kSpace) break;
    if (cp == '\r' || cp == '\n') last_nl_end = nx;
    last_start = j;
    j = nx;
  }
  if (llama && last_nl_end != SIZE_MAX) return last_nl_end;  // \s*[\r\n]+
  if (j == n) return j;                                         // \s+(?!\S) at the end of text
  if (last_start > i) return last_start;                        // \s+(?!\S): leave the last space to the next word
  return j;                                                     // \s+
}

}  // namespace

std::optional<SplitRegex> known_split_regex(std::string_view pattern) {
  if (pattern == kGpt2) return SplitRegex::gpt2;
  if (pattern == kLlama3) return SplitRegex::llama3;
  if (pattern == kQwen2) return SplitRegex::qwen2;
  return std::nullopt;
}

const char* split_regex_source(SplitRegex r) {
  switch (r) {
    case SplitRegex::gpt2: return kGpt2;
    case SplitRegex::llama3: return kLlama3;
    case SplitRegex::qwen2: return kQwen2;
  }
  return "";
}

void find_regex_matches(SplitRegex r, std::string_view s, std::vector<std::pair<size_t, size_t>>& out) {
  Cursor c{s};
  for (size_t i = 0; i < s.size();) {
    size_t e = match_at(r, c, i);
    out.emplace_back(i, e);
    i = e;
  }
}

void find_string_matches(std::string_view pattern, std::string_view s, std::vector<std::pair<size_t, size_t>>& out) {
  if (pattern.empty()) return;
  for (size_t i = s.find(pattern); i != std::string_view::npos; i = s.find(pattern, i + pattern.size()))
    out.emplace_back(i, i + pattern.size());
}

std::optional<SplitBehavior> parse_split_behavior(std::string_view name) {
  if (name == "Removed") return SplitBehavior::removed;
  if (name == "Isolated") return SplitBehavior::isolated;
  if (name == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
  if (name == "MergedWithNext") return SplitBehavior::merged_with_next;
  if (name == "Contiguous") return SplitBehavior::contiguous;
  return std::nullopt;
}

void split_with_behavior(std::string_view s, const std::vector<std::pair<size_t, size_t>>& matches,
                         SplitBehavior behavior, std::vector<std::string_view>& out) {
  auto emit = [&](size_t a, size_t b) {
    if (b > a) out.push_back(s.substr(a, b - a));
  };
  size_t pos = 0;        // start of the not-yet-emitted text
  size_t pending = 0;    // for merged_with_next: start of a delimiter waiting for its following text
  bool has_pending = false;
  for (size_t k = 0; k < matches.size(); ++k) {
    auto [a, b] = matches[k];
    switch (behavior) {
      case SplitBehavior::removed:
        emit(pos, a);
        pos = b;
        break;
      case SplitBehavior::isolated:
        emit(pos, a);
        emit(a, b);
        pos = b;
        break;
      case SplitBehavior::contiguous: {
        emit(pos, a);
        size_t e = b;
        while (k + 1 < matches.size() && matches[k + 1].first == e) e = matches[++k].second;
        emit(a, e);
        pos = e;
        break;
      }
      case SplitBehavior::merged_with_previous:
        emit(pos, b);
        pos = b;
        break;
      case SplitBehavior::merged_with_next:
        if (has_pending) emit(pending, a);
        else emit(pos, a);
        pending = a, has_pending = true;
        pos = b;
        break;
    }
  }
  if (behavior == SplitBehavior::merged_with_next && has_pending) emit(pending, s.size());
  else emit(pos, s.size());
}

}  // namespace zt::tok
