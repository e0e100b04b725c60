// BPE encoding of one word: initial symbols (characters, bytes, byte-fallback or unk), then merges applied
// lowest rank first (leftmost first among equal ranks) via a min-heap with lazy invalidation.
#include "tokenizer/bpe.hpp"

#include <queue>

#include "core/error.hpp"
#include "tokenizer/unicode.hpp"

namespace zt::tok {

const std::array<uint32_t, 256>& byte_to_unicode() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    uint32_t extra = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      t[b] = printable ? uint32_t(b) : extra++;
    }
    return t;
  }();
  return table;
}

int byte_from_unicode(uint32_t cp) {
  static const std::array<int16_t, 324> inverse = [] {
    std::array<int16_t, 324> t;
    t.fill(-1);
    const auto& fwd = byte_to_unicode();
    for (int b = 0; b < 256; ++b) t[fwd[b]] = int16_t(b);
    return t;
  }();
  return cp < inverse.size() ? inverse[cp] : -1;
}

BpeModel::BpeModel(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions opt,
                   const std::string& where)
    : vocab_(std::move(vocab)), opt_(std::move(opt)) {
  merges_.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    auto& [a, b] = merges[r];
    auto ia = vocab_.find(a), ib = vocab_.find(b), ic = vocab_.find(a + b);
    check(ia != vocab_.end() && ib != vocab_.end(),
          where + ": model.merges[" + std::to_string(r) + "] uses a token missing from model.vocab ('" + a + "' '" + b + "')",
          "the merges must only combine tokens of the vocabulary");
    check(ic != vocab_.end(),
          where + ": model.merges[" + std::to_string(r) + "] produces '" + a + b + "', which is not in model.vocab");
    merges_.try_emplace(key(ia->second, ib->second), Merge{int32_t(r), ic->second});
  }
  if (opt_.unk_token) {
    auto it = vocab_.find(*opt_.unk_token);
    check(it != vocab_.end(), where + ": model.unk_token '" + *opt_.unk_token + "' is not in model.vocab");
    unk_id_ = it->second;
  }
  byte_id_.fill(-1);
  fallback_id_.fill(-1);
  static const char* hex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    std::string name = std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">";
    if (auto it = vocab_.find(name); it != vocab_.end()) fallback_id_[b] = it->second;
  }
}

void BpeModel::use_raw_bytes() {
  Vocab raw;
  raw.reserve(vocab_.size());
  for (auto& [tok, id] : vocab_) {
    std::string bytes;
    bool ok = true;
    for (size_t i = 0; i < tok.size() && ok;) {
      int b = byte_from_unicode(next_code_point(tok, i));
      if (b < 0) ok = false;
      else bytes += char(b);
    }
    if (ok) raw.try_emplace(std::move(bytes), id);  // tokens outside the alphabet can never be produced
  }
  vocab_ = std::move(raw);
  raw_bytes_ = true;
  for (int b = 0; b < 256; ++b)
    if (auto it = vocab_.find(std::string(1, char(b))); it != vocab_.end()) byte_id_[b] = it->second;
}

std::optional<int32_t> BpeModel::lookup(std::string_view s) const {
  auto it = vocab_.find(s);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out, WordCache* local) const {
  if (word.empty()) return;
  // The cache is consulted first: it is small and hot, while the vocabulary lookup misses the CPU caches.
  const bool cacheable = word.size() < kMaxCachedWord;
  Shard* shard = nullptr;
  if (cacheable) {
    if (local) {
      if (auto it = local->map.find(word); it != local->map.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    } else {
      shard = &cache_[StringHash{}(word) % kShards];
      std::lock_guard<std::mutex> lock(shard->mu);
      if (auto it = shard->map.find(word); it != shard->map.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
  }
  size_t before = out.size();
  std::optional<int32_t> whole = opt_.ignore_merges ? lookup(word) : std::nullopt;
  if (whole) out.push_back(*whole);
  else merge_word(word, out);
  if (!cacheable) return;
  if (local) {
    if (local->map.size() >= kShards * kShardCapacity) local->map.clear();
    local->map.try_emplace(std::string(word), out.begin() + before, out.end());
  } else {
    std::lock_guard<std::mutex> lock(shard->mu);
    if (shard->map.size() >= kShardCapacity) shard->map.clear();
    shard->map.try_emplace(std::string(word), out.begin() + before, out.end());
  }
}

void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  std::vector<int32_t> ids;
  ids.reserve(word.size());
  // initial symbols, with HF's unk bookkeeping (a pending unk is flushed before the next known symbol)
  std::optional<int32_t> pending_unk;
  for (size_t i = 0; i < word.size();) {
    size_t start = i;
    std::optional<int32_t> id;
    if (raw_bytes_) {
      int32_t b = byte_id_[static_cast<unsigned char>(word[i])];
      ++i;
      if (b >= 0) id = b;
    } else {
      next_code_point(word, i);
      id = lookup(word.substr(start, i - start));
    }
    if (id) {
      if (pending_unk) ids.push_back(*pending_unk), pending_unk.reset();
      ids.push_back(*id);
      continue;
    }
    if (opt_.byte_fallback) {
      bool all = true;
      for (size_t k = start; k < i; ++k) all = all && fallback_id_[static_cast<unsigned char>(word[k])] >= 0;
      if (all) {
        for (size_t k = start; k < i; ++k) ids.push_back(fallback_id_[static_cast<unsigned char>(word[k])]);
        continue;
      }
    }
    if (unk_id_) {
      if (pending_unk && !opt_.fuse_unk) ids.push_back(*pending_unk);
      pending_unk = unk_id_;
    }
  }
  if (pending_unk) ids.push_back(*pending_unk);

  const size_t n = ids.size();
  if (n > 1) {
    std::vector<int32_t> prev(n), next(n);
    for (size_t k = 0; k < n; ++k) prev[k] = int32_t(k) - 1, next[k] = k + 1 < n ? int32_t(k + 1) : -1;
    struct Cand {
      int32_t rank, pos, left, right, id;
      bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
    auto push = [&](int32_t p) {
      int32_t q = next[p];
      if (q < 0) return;
      auto it = merges_.find(key(ids[p], ids[q]));
      if (it != merges_.end()) heap.push({it->second.rank, p, ids[p], ids[q], it->second.id});
    };
    for (size_t k = 0; k + 1 < n; ++k) push(int32_t(k));
    while (!heap.empty()) {
      Cand c = heap.top();
      heap.pop();
      int32_t p = c.pos, q = next[p];
      // stale: p was merged away (ids[p] == -1), or either side changed since this pair was queued
      if (ids[p] != c.left || q < 0 || ids[q] != c.right) continue;
      ids[p] = c.id;
      ids[q] = -1;
      next[p] = next[q];
      if (next[q] >= 0) prev[next[q]] = p;
      if (prev[p] >= 0) push(prev[p]);
      push(p);
    }
    for (int32_t k = 0; k >= 0; k = next[k]) out.push_back(ids[k]);
    return;
  }
  out.insert(out.end(), ids.begin(), ids.end());
}

}  // namespace zt::tok
