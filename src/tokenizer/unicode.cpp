// Lookups over the generated Unicode tables (two-stage arrays built once per process, immutable), UTF-8
// decoding with maximal-subpart replacement, and NFC (decompose, canonical reorder, compose).
#include "tokenizer/unicode.hpp"

#include <algorithm>
#include <array>
#include <memory>

#include "tokenizer/unicode_tables.hpp"

namespace zt::tok {
namespace {

constexpr uint32_t kMaxCp = 0x110000;
constexpr uint32_t kBlock = 128;

// Two-stage lookup table: stage1[cp / 128] selects a deduplicated 128-entry block of stage2.
class StagedTable {
 public:
  StagedTable(const tables::RangeValue* ranges, size_t n) {
    std::vector<uint8_t> full(kMaxCp, 0);
    for (size_t r = 0; r < n; ++r) {
      uint32_t end = r + 1 < n ? ranges[r + 1].start : kMaxCp;
      std::fill(full.begin() + ranges[r].start, full.begin() + end, ranges[r].value);
    }
    stage1_.resize(kMaxCp / kBlock);
    std::vector<std::pair<std::string, uint32_t>> seen;
    for (uint32_t b = 0; b < kMaxCp / kBlock; ++b) {
      std::string blk(reinterpret_cast<const char*>(full.data() + b * kBlock), kBlock);
      auto it = std::find_if(seen.begin(), seen.end(), [&](auto& p) { return p.first == blk; });
      if (it == seen.end()) {
        seen.emplace_back(blk, uint32_t(stage2_.size() / kBlock));
        stage2_.insert(stage2_.end(), blk.begin(), blk.end());
        it = seen.end() - 1;
      }
      stage1_[b] = uint16_t(it->second);
    }
  }
  uint8_t get(uint32_t cp) const {
    if (cp >= kMaxCp) return 0;
    return stage2_[size_t(stage1_[cp / kBlock]) * kBlock + cp % kBlock];
  }

 private:
  std::vector<uint16_t> stage1_;
  std::vector<uint8_t> stage2_;
};

const StagedTable& flag_table() {
  static const StagedTable t(tables::kFlagRanges, tables::kFlagRanges_size);
  return t;
}
const StagedTable& ccc_table() {
  static const StagedTable t(tables::kCccRanges, tables::kCccRanges_size);
  return t;
}

// Hangul syllable constants (Unicode §3.12).
constexpr uint32_t SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
constexpr uint32_t LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= SBase && cp < SBase + SCount) {
    uint32_t s = cp - SBase;
    out.push_back(LBase + s / NCount);
    out.push_back(VBase + (s % NCount) / TCount);
    if (s % TCount) out.push_back(TBase + s % TCount);
    return;
  }
  const auto* b = tables::kDecomp;
  const auto* e = b + tables::kDecomp_size;
  const auto* it = std::lower_bound(b, e, cp, [](const tables::Decomposition& d, uint32_t c) { return d.cp < c; });
  if (it == e || it->cp != cp) {
    out.push_back(cp);
    return;
  }
  for (uint32_t k = 0; k < it->length; ++k) decompose(tables::kDecompData[it->offset + k], out);
}

uint32_t compose_pair(uint32_t a, uint32_t b) {
  if (a >= LBase && a < LBase + LCount && b >= VBase && b < VBase + VCount)
    return SBase + ((a - LBase) * VCount + (b - VBase)) * TCount;
  if (a >= SBase && a < SBase + SCount && (a - SBase) % TCount == 0 && b > TBase && b < TBase + TCount)
    return a + (b - TBase);
  const auto* beg = tables::kCompose;
  const auto* end = beg + tables::kCompose_size;
  const auto* it = std::lower_bound(beg, end, std::make_pair(a, b), [](const tables::Composition& c, std::pair<uint32_t, uint32_t> k) {
    return c.first < k.first || (c.first == k.first && c.second < k.second);
  });
  return (it != end && it->first == a && it->second == b) ? it->composed : 0;
}

}  // namespace

uint8_t char_flags(uint32_t cp) { return flag_table().get(cp); }
uint8_t combining_class(uint32_t cp) { return cp < 0x300 ? 0 : ccc_table().get(cp); }
const char* unicode_version() { return tables::kUnicodeVersion; }

uint32_t next_code_point(std::string_view s, size_t& i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  unsigned char c = p[i];
  if (c < 0x80) {
    ++i;
    return c;
  }
  int need;
  uint32_t cp;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) need = 1, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) {
    need = 2, cp = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3, cp = c & 0x07;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    ++i;
    return 0xFFFD;
  }
  size_t j = i + 1;
  for (int k = 0; k < need; ++k, ++j) {
    if (j >= n || p[j] < lo || p[j] > hi) {
      i = j;  // the maximal subpart ends before the first byte that cannot continue it
      return 0xFFFD;
    }
    cp = (cp << 6) | (p[j] & 0x3F);
    lo = 0x80, hi = 0xBF;
  }
  i = j;
  return cp;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) out += char(cp);
  else if (cp < 0x800) out += char(0xC0 | (cp >> 6)), out += char(0x80 | (cp & 0x3F));
  else if (cp < 0x10000)
    out += char(0xE0 | (cp >> 12)), out += char(0x80 | ((cp >> 6) & 0x3F)), out += char(0x80 | (cp & 0x3F));
  else
    out += char(0xF0 | (cp >> 18)), out += char(0x80 | ((cp >> 12) & 0x3F)), out += char(0x80 | ((cp >> 6) & 0x3F)),
        out += char(0x80 | (cp & 0x3F));
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t before = i;
    uint32_t cp = next_code_point(s, i);
    if (cp == 0xFFFD && !(i - before == 3 && s.substr(before, 3) == "\xEF\xBF\xBD")) return false;
  }
  return true;
}

std::string sanitize_utf8(std::string_view s) {
  if (valid_utf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) append_utf8(out, next_code_point(s, i));
  return out;
}

std::string nfc(std::string_view s) {
  // Quick check: text below U+0300 with no Hangul jamo is already NFC.
  bool simple = true;
  for (unsigned char c : s)
    if (c >= 0xCC) {
      simple = false;
      break;
    }
  if (simple) return std::string(s);
  std::vector<uint32_t> cps;
  cps.reserve(s.size());
  for (size_t i = 0; i < s.size();) decompose(next_code_point(s, i), cps);
  // canonical ordering: stable sort each run of non-starters by combining class
  for (size_t i = 0; i < cps.size();) {
    if (combining_class(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && combining_class(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + i, cps.begin() + j,
                     [](uint32_t a, uint32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
  // canonical composition
  std::vector<uint32_t> out;
  out.reserve(cps.size());
  size_t starter = SIZE_MAX;
  int last_cc = 0;  // combining class of the last character kept after the starter
  for (uint32_t cp : cps) {
    int cc = combining_class(cp);
    if (starter != SIZE_MAX) {
      bool adjacent = out.size() == starter + 1;
      if (adjacent || (last_cc != 0 && last_cc < cc)) {
        if (uint32_t c = compose_pair(out[starter], cp)) {
          out[starter] = c;
          continue;
        }
      }
    }
    if (cc == 0) starter = out.size(), last_cc = 0;
    else last_cc = cc;
    out.push_back(cp);
  }
  std::string r;
  r.reserve(s.size());
  for (uint32_t cp : out) append_utf8(r, cp);
  return r;
}

}  // namespace zt::tok
