// Pre-tokenizer splitting: native matchers for the regexes that GPT-2, Llama 3 and Qwen2/3 use (their
// Oniguruma semantics, alternation order and backtracking written out by hand), and split behaviours.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zt::tok {

enum class SplitRegex {
  gpt2,    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  llama3,  // (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  qwen2,   // as llama3 with \p{N} (one digit per piece)
};

// The regex a tokenizer.json pattern is, or nullopt when it is not one we implement.
std::optional<SplitRegex> known_split_regex(std::string_view pattern);
const char* split_regex_source(SplitRegex r);

// Byte spans [start, end) of all non-overlapping matches of `r` in valid UTF-8 text `s`, left to right.
void find_regex_matches(SplitRegex r, std::string_view s, std::vector<std::pair<size_t, size_t>>& out);
void find_string_matches(std::string_view pattern, std::string_view s, std::vector<std::pair<size_t, size_t>>& out);

enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };
std::optional<SplitBehavior> parse_split_behavior(std::string_view name);

// Splits s at the given matches (delimiters) per HF's SplitDelimiterBehavior; empty pieces are dropped.
void split_with_behavior(std::string_view s, const std::vector<std::pair<size_t, size_t>>& matches,
                         SplitBehavior behavior, std::vector<std::string_view>& out);

}  // namespace zt::tok
