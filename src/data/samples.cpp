// Tokenising step-1 samples (HF truncation around the special tokens) and the node-local sample cache:
// one file per split, written atomically, read back through mmap and validated section by section.
#include "data/samples.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/mmap.hpp"
#include "tokenizer/tokenizer.hpp"

namespace zt::data {

namespace fs = std::filesystem;

static constexpr char kMagic[8] = {'Z', 'T', 'S', 'A', 'M', 'P', '0', '1'};
static constexpr int kFormatVersion = 1;

SpecialWrap special_wrap(const Tokenizer& tok) {
  // Encode a probe with and without specials and locate the bare ids inside the wrapped ones.
  const std::string probe = "zerotune";
  std::vector<int32_t> full = tok.encode(probe, true), raw = tok.encode(probe, false);
  SpecialWrap w;
  auto it = std::search(full.begin(), full.end(), raw.begin(), raw.end());
  check(it != full.end() && !raw.empty(), "tokenizer: cannot tell which special tokens it adds around a text",
        "its post-processor should only add tokens before/after the text (like Llama 3's BOS)");
  w.prefix.assign(full.begin(), it);
  w.suffix.assign(it + long(raw.size()), full.end());
  return w;
}

std::vector<int32_t> truncate_wrapped(const SpecialWrap& w, const std::vector<int32_t>& raw, int64_t max_seq_len) {
  int64_t specials = int64_t(w.prefix.size() + w.suffix.size());
  check(max_seq_len > specials, "--max_seq_len " + std::to_string(max_seq_len) + " leaves no room for text beside the " +
                                    std::to_string(specials) + " special tokens the tokenizer adds");
  size_t keep = std::min(raw.size(), size_t(max_seq_len - specials));
  std::vector<int32_t> out;
  out.reserve(size_t(specials) + keep);
  out.insert(out.end(), w.prefix.begin(), w.prefix.end());
  out.insert(out.end(), raw.begin(), raw.begin() + long(keep));
  out.insert(out.end(), w.suffix.begin(), w.suffix.end());
  return out;
}

// ---- cache file ----
// magic[8] | u64 header_len | header JSON (padded to 8) | u64 n | u64 offsets[n+1] | i32 prompt[n] (padded to 8)
// | i64 source[n][2] | i32 tokens[total]

namespace {

void put(std::string& b, const void* p, size_t n) { b.append(static_cast<const char*>(p), n); }
void pad8(std::string& b) { b.append((8 - b.size() % 8) % 8, '\0'); }

std::string eot_text(const Tokenizer& tok, const SampleOptions& opt) {
  if (!opt.end_of_conversation.empty()) return opt.end_of_conversation;
  auto eos = tok.eos_id();
  check(eos.has_value(), "the tokenizer has no EOS token, which step 1 appends to every sample",
        "set eos_token in tokenizer_config.json, or pass an explicit end-of-conversation text");
  auto text = tok.id_to_token(*eos);
  check(text.has_value(), "the tokenizer's EOS id " + std::to_string(*eos) + " has no token text");
  return *text;
}

}  // namespace

void write_sample_store(const std::string& path, const Blend& blend, const std::vector<SampleRef>& refs, const Tokenizer& tok,
                        const SampleOptions& opt, Json header) {
  const SpecialWrap wrap = special_wrap(tok);
  const std::string eot = eot_text(tok, opt);
  const size_t n = refs.size();
  std::vector<uint64_t> offsets{0};
  std::vector<int32_t> prompt(n, 0), tokens;
  std::vector<int64_t> source;
  size_t truncated = 0;
  auto t0 = std::chrono::steady_clock::now(), last = t0;
  const size_t chunk = 4096;
  for (size_t b = 0; b < n; b += chunk) {
    size_t e = std::min(n, b + chunk);
    std::vector<std::string> texts, prompts;
    for (size_t i = b; i < e; ++i) {
      texts.push_back(blend.text(refs[i]) + eot);
      if (opt.record_prompt_tokens) prompts.push_back(blend.prompt(refs[i]));
    }
    auto raw = tok.encode_batch(texts, false, opt.threads);
    std::vector<std::vector<int32_t>> praw;
    if (opt.record_prompt_tokens) praw = tok.encode_batch(prompts, false, opt.threads);
    for (size_t i = b; i < e; ++i) {
      const auto& r = raw[i - b];
      std::vector<int32_t> ids = truncate_wrapped(wrap, r, opt.max_seq_len);
      truncated += ids.size() < r.size() + wrap.prefix.size() + wrap.suffix.size();
      if (opt.record_prompt_tokens) {
        // Prompt tokens = the longest common prefix of the prompt's and the sample's ids (BPE may merge across).
        const auto& p = praw[i - b];
        size_t common = 0;
        while (common < p.size() && common < r.size() && p[common] == r[common]) ++common;
        prompt[i] = int32_t(std::min(ids.size(), wrap.prefix.size() + common));
      }
      tokens.insert(tokens.end(), ids.begin(), ids.end());
      offsets.push_back(tokens.size());
      source.push_back(int64_t(refs[i].dataset) << 1 | (refs[i].eval_split ? 1 : 0));
      source.push_back(refs[i].row);
    }
    auto now = std::chrono::steady_clock::now();
    if (opt.progress && (now - last > std::chrono::seconds(2) || (e == n && now - t0 > std::chrono::seconds(2)))) {
      last = now;
      log::info("tokenising " + fs::path(path).filename().string() + ": " + std::to_string(e) + "/" + std::to_string(n) + " (" +
                std::to_string(100 * e / std::max<size_t>(n, 1)) + "%)");
    }
  }
  header["format_version"] = kFormatVersion;
  header["samples"] = n;
  header["tokens"] = tokens.size();
  header["truncated"] = truncated;
  header["max_seq_len"] = opt.max_seq_len;
  header["end_of_conversation"] = eot;
  header["prompt_tokens_recorded"] = opt.record_prompt_tokens;
  std::string h = header.dump();
  std::string buf;
  buf.reserve(64 + h.size() + offsets.size() * 8 + n * 20 + tokens.size() * 4);
  put(buf, kMagic, 8);
  uint64_t hl = h.size(), nn = n;
  put(buf, &hl, 8);
  buf += h;
  pad8(buf);
  put(buf, &nn, 8);
  put(buf, offsets.data(), offsets.size() * 8);
  put(buf, prompt.data(), prompt.size() * 4);
  pad8(buf);
  put(buf, source.data(), source.size() * 8);
  put(buf, tokens.data(), tokens.size() * 4);
  fs::create_directories(fs::path(path).parent_path());
  write_file_atomic(path, buf.data(), buf.size());
}

SampleStore SampleStore::open(const std::string& path) {
  SampleStore s;
  s.path_ = path;
  s.file_ = MappedFile::open(path);
  const uint8_t* d = s.file_->data();
  const size_t size = s.file_->size();
  const std::string hint = "delete the file; it is rebuilt on the next run";
  auto need = [&](size_t pos, size_t n) {
    check(pos <= size && n <= size - pos, path + ": sample cache is truncated or corrupt", hint);
  };
  need(0, 16);
  check(std::memcmp(d, kMagic, 8) == 0, path + ": not a zerotune sample cache (bad magic)", hint);
  uint64_t hl;
  std::memcpy(&hl, d + 8, 8);
  need(16, hl);
  s.header_ = parse_json(std::string(reinterpret_cast<const char*>(d + 16), size_t(hl)), path);
  check(s.header_.value("format_version", 0) == kFormatVersion, path + ": sample cache format differs from this zerotune", hint);
  size_t pos = 16 + size_t(hl);
  pos += (8 - pos % 8) % 8;
  need(pos, 8);
  uint64_t n;
  std::memcpy(&n, d + pos, 8);
  pos += 8;
  check(n < (uint64_t(1) << 40), path + ": sample cache is corrupt (sample count)", hint);
  s.n_ = size_t(n);
  need(pos, (s.n_ + 1) * 8);
  s.offsets_ = reinterpret_cast<const uint64_t*>(d + pos);
  pos += (s.n_ + 1) * 8;
  need(pos, s.n_ * 4);
  s.prompt_ = reinterpret_cast<const int32_t*>(d + pos);
  pos += s.n_ * 4;
  pos += (8 - pos % 8) % 8;
  need(pos, s.n_ * 16);
  s.source_ = reinterpret_cast<const int64_t*>(d + pos);
  pos += s.n_ * 16;
  check(s.offsets_[0] == 0, path + ": sample cache is corrupt (offsets)", hint);
  for (size_t i = 0; i < s.n_; ++i) check(s.offsets_[i] <= s.offsets_[i + 1], path + ": sample cache is corrupt (offsets)", hint);
  need(pos, s.offsets_[s.n_] * 4);
  check(size - pos == s.offsets_[s.n_] * 4, path + ": sample cache has trailing bytes", hint);
  s.tokens_ = reinterpret_cast<const int32_t*>(d + pos);
  return s;
}

std::span<const int32_t> SampleStore::tokens(size_t i) const {
  check(i < n_, "sample " + std::to_string(i) + " out of range (" + std::to_string(n_) + ") in " + path_);
  return {tokens_ + offsets_[i], size_t(offsets_[i + 1] - offsets_[i])};
}

int32_t SampleStore::prompt_tokens(size_t i) const {
  check(i < n_, "sample " + std::to_string(i) + " out of range in " + path_);
  return prompt_[i];
}

SampleRef SampleStore::source(size_t i) const {
  check(i < n_, "sample " + std::to_string(i) + " out of range in " + path_);
  return SampleRef{uint32_t(source_[2 * i] >> 1), bool(source_[2 * i] & 1), source_[2 * i + 1]};
}

// ---- cache key ----

namespace {

struct Hasher {
  uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;
  void add(const void* p, size_t n) {
    auto* c = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) {
      a = (a ^ c[i]) * 0x100000001b3ULL;
      b = (b ^ c[i]) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL;
    }
  }
  void add(const std::string& s) {
    uint64_t n = s.size();
    add(&n, 8);
    add(s.data(), s.size());
  }
  std::string hex() const {
    char buf[33];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
    return buf;
  }
};

void add_file_identity(Hasher& h, const std::string& path) {
  std::error_code ec;
  h.add(fs::absolute(path, ec).lexically_normal().string());
  auto size = fs::file_size(path, ec);
  h.add(std::to_string(ec ? 0 : size));
  auto t = fs::last_write_time(path, ec);
  h.add(std::to_string(ec ? 0 : t.time_since_epoch().count()));
}

void add_dataset(Hasher& h, const std::string& data_path) {
  h.add(data_path);
  const DatasetRules* rules = find_dataset_rules(data_path);
  if (!rules || !rules->unsupported.empty()) rules = &generic_prompt_chosen_rules();
  SplitFiles f = resolve_split_files(data_path, *rules);
  for (auto& p : f.train) add_file_identity(h, p);
  h.add("|eval:" + f.eval_split_name);
  for (auto& p : f.eval) add_file_identity(h, p);
}

}  // namespace

std::string sample_cache_key(const BlendOptions& blend, const std::string& tokenizer_path, const Tokenizer& tok,
                             const SampleOptions& opt) {
  Hasher h;
  h.add("zerotune-step1-samples v" + std::to_string(kFormatVersion));
  for (auto& p : blend.data_path) add_dataset(h, p);
  h.add("|sft");
  for (auto& p : blend.sft_only_data_path) add_dataset(h, p);
  h.add(blend.data_split + "|" + std::to_string(blend.seed) + "|" + std::to_string(blend.phase));
  std::string dir = fs::is_directory(tokenizer_path) ? tokenizer_path : fs::path(tokenizer_path).parent_path().string();
  std::string tj = fs::is_directory(tokenizer_path) ? tokenizer_path + "/tokenizer.json" : tokenizer_path;
  h.add(read_file(tj));
  std::error_code ec;
  if (fs::exists(dir + "/tokenizer_config.json", ec)) h.add(read_file(dir + "/tokenizer_config.json"));
  h.add(std::to_string(opt.max_seq_len) + "|" + eot_text(tok, opt) + "|" + (opt.record_prompt_tokens ? "p" : "-"));
  return h.hex();
}

PreparedData prepare_step1_data(const BlendOptions& blend, const Tokenizer& tok, const std::string& tokenizer_path,
                                const SampleOptions& opt, const std::string& output_dir) {
  PreparedData out;
  out.key = sample_cache_key(blend, tokenizer_path, tok, opt);
  out.train_path = (fs::path(output_dir) / ("step1_train_" + out.key + ".bin")).string();
  out.eval_path = (fs::path(output_dir) / ("step1_eval_" + out.key + ".bin")).string();
  std::error_code ec;
  if (fs::exists(out.train_path, ec) && fs::exists(out.eval_path, ec)) {
    try {
      out.train = SampleStore::open(out.train_path);
      out.eval = SampleStore::open(out.eval_path);
      out.from_cache = true;
      return out;
    } catch (const Error& e) {
      log::warn("sample cache unusable, rebuilding: " + std::string(e.what()));
    }
  }
  Blend b = build_blend(blend);
  Json header;
  header["key"] = out.key;
  header["data_path"] = blend.data_path;
  header["sft_only_data_path"] = blend.sft_only_data_path;
  header["data_split"] = blend.data_split;
  header["seed"] = blend.seed;
  header["phase"] = blend.phase;
  Json ds = Json::array();
  for (size_t i = 0; i < b.datasets.size(); ++i)
    ds.push_back({{"data_path", b.datasets[i].data_path}, {"rules", b.datasets[i].rules->name}, {"root", b.datasets[i].files.root},
                  {"kept", {b.kept[i].first, b.kept[i].second}}, {"dropped", {b.dropped[i].first, b.dropped[i].second}}});
  header["datasets"] = ds;
  fs::create_directories(output_dir, ec);
  check(fs::is_directory(output_dir), "--data_output_path " + output_dir + ": cannot create the directory",
        "pass a writable node-local directory");
  header["split"] = "train";
  write_sample_store(out.train_path, b, b.train, tok, opt, header);
  header["split"] = "eval";
  write_sample_store(out.eval_path, b, b.eval, tok, opt, header);
  out.train = SampleStore::open(out.train_path);
  out.eval = SampleStore::open(out.eval_path);
  return out;
}

}  // namespace zt::data
