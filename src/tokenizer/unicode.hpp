// Unicode support for the tokenizer: UTF-8 decoding (lossy, maximal-subpart U+FFFD like Rust's
// from_utf8_lossy and Python's errors="replace"), general categories, White_Space, NFC.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace zt::tok {

// Index order matches tools/tokenizer/gen_unicode_tables.py.
enum class GeneralCategory : uint8_t {
  Cn, Lu, Ll, Lt, Lm, Lo, Mn, Mc, Me, Nd, Nl, No, Pc, Pd, Ps, Pe, Pi, Pf, Po, Sm, Sc, Sk, So, Zs, Zl, Zp, Cc, Cf, Cs, Co
};

uint8_t char_flags(uint32_t cp);  // bits 0-4 category, bit 5 White_Space, bit 6 Alphabetic
inline GeneralCategory category(uint32_t cp) { return GeneralCategory(char_flags(cp) & 31); }
inline bool is_letter(uint32_t cp) {  // \p{L}
  uint8_t c = char_flags(cp) & 31;
  return c >= 1 && c <= 5;
}
inline bool is_number(uint32_t cp) {  // \p{N}
  uint8_t c = char_flags(cp) & 31;
  return c >= 9 && c <= 11;
}
inline bool is_white_space(uint32_t cp) { return char_flags(cp) & 32; }  // \s, Rust char::is_whitespace
// Rust char::is_alphanumeric: Alphabetic or Numeric (Nd, Nl, No).
inline bool is_alphanumeric(uint32_t cp) { return (char_flags(cp) & 64) || is_number(cp); }
uint8_t combining_class(uint32_t cp);
const char* unicode_version();

// Decodes one code point at s[i]; advances i. Invalid sequences yield U+FFFD and advance by the
// maximal subpart (WHATWG / Unicode 15 §3.9 "U+FFFD substitution of maximal subparts").
uint32_t next_code_point(std::string_view s, size_t& i);
void append_utf8(std::string& out, uint32_t cp);
// True when s is well-formed UTF-8.
bool valid_utf8(std::string_view s);
// Replaces each maximal invalid subpart with U+FFFD; returns s unchanged when it is valid.
std::string sanitize_utf8(std::string_view s);

// Canonical composition (NFC) of valid UTF-8 text.
std::string nfc(std::string_view s);

}  // namespace zt::tok
