// The BPE model of HF tokenizers: vocabulary, ranked merges, ignore_merges, byte_fallback, unk/fuse_unk,
// applied per pre-tokenized word with a rank-ordered heap over a linked list of symbols, and a word cache.
#pragma once
#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace zt::tok {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using Vocab = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

struct BpeOptions {
  bool ignore_merges = false;
  bool byte_fallback = false;
  bool fuse_unk = false;
  std::optional<std::string> unk_token;
};

// A word cache owned by one thread (encode_batch workers), used without locking.
struct WordCache {
  std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> map;
};

class BpeModel {
 public:
  // merges: (left, right) token strings in rank order. `where` names the JSON for errors.
  BpeModel(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions opt,
           const std::string& where);
  BpeModel(const BpeModel&) = delete;

  // Words arrive as raw bytes instead of GPT-2 byte-level characters: re-keys the vocabulary by the
  // bytes each token stands for (exact, since the byte-level alphabet is a bijection on bytes).
  void use_raw_bytes();

  // Appends the ids of one pre-tokenized word. `local`: a private cache, else the shared (locked) one.
  void encode_word(std::string_view word, std::vector<int32_t>& out, WordCache* local = nullptr) const;

  const Vocab& vocab() const { return vocab_; }

 private:
  struct Merge {
    int32_t rank;
    int32_t id;
  };
  static uint64_t key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
  void merge_word(std::string_view word, std::vector<int32_t>& out) const;
  std::optional<int32_t> lookup(std::string_view s) const;

  Vocab vocab_;  // keyed by token text, or by raw bytes after use_raw_bytes()
  std::unordered_map<uint64_t, Merge> merges_;
  BpeOptions opt_;
  std::optional<int32_t> unk_id_;
  bool raw_bytes_ = false;
  std::array<int32_t, 256> byte_id_{};           // raw-bytes mode: id of each single byte (-1 if none)
  std::array<int32_t, 256> fallback_id_{};       // id of "<0xHH>" (-1 if none)

  // Word cache, sharded to keep lock contention low under batch encoding.
  static constexpr size_t kShards = 64, kShardCapacity = 4096, kMaxCachedWord = 256;
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> map;
  };
  mutable std::array<Shard, kShards> cache_;
};

// GPT-2's byte-level alphabet: the character each byte is written as in byte-level vocabularies.
const std::array<uint32_t, 256>& byte_to_unicode();
// Inverse: the byte a character stands for, or -1.
int byte_from_unicode(uint32_t cp);

}  // namespace zt::tok
