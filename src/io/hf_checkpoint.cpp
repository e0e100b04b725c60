// Opening and writing Hugging Face checkpoint directories (single file or index + shards).
// Layout rules follow transformers' save_pretrained / from_pretrained for safetensors weights.
#include "io/hf_checkpoint.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/mmap.hpp"

namespace fs = std::filesystem;

namespace zt {

namespace {

constexpr const char* kSingle = "model.safetensors";
constexpr const char* kIndex = "model.safetensors.index.json";
const char* const kConvertHint =
    "convert to safetensors: python -c \"from transformers import AutoModelForCausalLM as M; "
    "M.from_pretrained('IN').save_pretrained('OUT', safe_serialization=True)\" (or download the repo's .safetensors files)";

std::string shard_name(size_t k, size_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", k, n);
  return buf;
}

// Matches model-DDDDD-of-DDDDD.safetensors (what save_pretrained writes; 5 or more digits each).
bool is_shard_name(const std::string& s) {
  const std::string pre = "model-", mid = "-of-", suf = ".safetensors";
  if (s.size() < pre.size() + mid.size() + suf.size() + 10 || s.rfind(pre, 0) != 0 ||
      s.compare(s.size() - suf.size(), suf.size(), suf) != 0)
    return false;
  std::string core = s.substr(pre.size(), s.size() - pre.size() - suf.size());
  size_t m = core.find(mid);
  if (m == std::string::npos) return false;
  std::string a = core.substr(0, m), b = core.substr(m + mid.size());
  auto digits = [](const std::string& x) { return x.size() >= 5 && std::all_of(x.begin(), x.end(), [](char c) { return c >= '0' && c <= '9'; }); };
  return digits(a) && digits(b);
}

bool exists_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

[[noreturn]] void fail_no_weights(const fs::path& dir) {
  std::vector<std::string> bins, others;
  std::error_code ec;
  for (const auto& de : fs::directory_iterator(dir, ec)) {
    std::string n = de.path().filename().string();
    auto ends = [&](const std::string& s) { return n.size() >= s.size() && n.compare(n.size() - s.size(), s.size(), s) == 0; };
    if (ends(".bin") || ends(".bin.index.json") || ends(".pt") || ends(".pth") || ends(".h5") || ends(".msgpack")) bins.push_back(n);
    else if (ends(".safetensors")) others.push_back(n);
  }
  std::sort(bins.begin(), bins.end());
  std::sort(others.begin(), others.end());
  if (!bins.empty())
    fail(dir.string() + ": no model.safetensors or model.safetensors.index.json, only non-safetensors weights (" + bins.front() +
             (bins.size() > 1 ? ", ..." : "") + ")",
         kConvertHint);
  if (!others.empty())
    fail(dir.string() + ": no model.safetensors or model.safetensors.index.json (found " + others.front() +
             (others.size() > 1 ? ", ..." : "") + ")",
         others.front().rfind("adapter_model", 0) == 0
             ? "this looks like a PEFT adapter directory; pass the base model's directory"
             : "pass the path of the .safetensors file itself, or rename it to model.safetensors");
  fail(dir.string() + ": no model weights (expected model.safetensors or model.safetensors.index.json)",
       "point at a Hugging Face model directory (the folder holding config.json and the weights)");
}

}  // namespace

HfCheckpoint HfCheckpoint::open(const std::string& path) {
  HfCheckpoint c;
  fs::path p(path);
  std::error_code ec;
  check(fs::exists(p, ec), "checkpoint " + path + " does not exist", "check the model path (a Hugging Face model directory)");

  std::vector<std::pair<fs::path, std::vector<std::string>>> shard_files;  // file, tensors the index maps to it
  Json weight_map;
  fs::path index_path;
  if (fs::is_regular_file(p, ec)) {
    c.dir_ = p.parent_path().string();
    if (p.filename() == kIndex) {
      index_path = p;
    } else {
      check(p.extension() == ".safetensors", path + " is neither a directory nor a .safetensors file", kConvertHint);
      shard_files.push_back({p, {}});
    }
  } else {
    c.dir_ = path;
    if (exists_file(p / kSingle)) {
      if (exists_file(p / kIndex))
        log::warn(path + ": has both model.safetensors and model.safetensors.index.json; reading model.safetensors as transformers does");
      shard_files.push_back({p / kSingle, {}});
    } else if (exists_file(p / kIndex)) {
      index_path = p / kIndex;
    } else {
      fail_no_weights(p);
    }
  }

  if (!index_path.empty()) {
    const std::string ip = index_path.string();
    Json idx = load_json_file(ip);
    check(idx.is_object(), ip + ": expected a JSON object with 'weight_map'", "re-download or re-save the checkpoint");
    auto wm = idx.find("weight_map");
    check(wm != idx.end() && wm->is_object(), ip + ": missing 'weight_map' object", "re-download or re-save the checkpoint");
    std::map<std::string, std::vector<std::string>> by_shard;  // sorted shard names: model-00001 first
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      check(it.value().is_string(), ip + ": weight_map entry for '" + it.key() + "' must be a file name, got " + it.value().dump());
      std::string shard = it.value().get<std::string>();
      check(!shard.empty() && shard.find('/') == std::string::npos && shard.find('\\') == std::string::npos && shard != "." && shard != "..",
            ip + ": weight_map entry for '" + it.key() + "' names '" + shard + "', which is not a file name in the directory",
            "shards must sit beside the index");
      by_shard[shard].push_back(it.key());
    }
    check(!by_shard.empty(), ip + ": weight_map is empty", "re-download or re-save the checkpoint");
    for (auto& [shard, names] : by_shard) {
      fs::path sp = index_path.parent_path() / shard;
      check(exists_file(sp), ip + ": shard " + shard + " (holding '" + names.front() + "' and " + std::to_string(names.size() - 1) +
                                 " more tensors) is missing from " + index_path.parent_path().string(),
            "the download is incomplete; fetch every model-*.safetensors file of the repo");
      shard_files.push_back({sp, std::move(names)});
    }
  }

  for (auto& [file, mapped] : shard_files) {
    SafetensorsFile f = SafetensorsFile::open(file.string());
    size_t k = c.shards_.size();
    if (index_path.empty()) {
      for (const auto& n : f.names()) c.where_.emplace(n, k);
      c.names_.insert(c.names_.end(), f.names().begin(), f.names().end());
    } else {
      std::set<std::string> want(mapped.begin(), mapped.end());
      for (const auto& n : mapped)
        check(f.contains(n), index_path.string() + ": tensor '" + n + "' is mapped to " + file.filename().string() + ", which does not contain it",
              "the index and shards come from different saves; re-download or re-save the checkpoint");
      size_t extra = 0;
      for (const auto& n : f.names()) {
        if (want.count(n)) {
          c.where_.emplace(n, k);
          c.names_.push_back(n);
        } else {
          ++extra;
        }
      }
      if (extra)
        log::warn(file.string() + ": " + std::to_string(extra) + " tensors are not in " + index_path.filename().string() + "; ignoring them");
    }
    c.shards_.push_back(std::move(f));
  }
  return c;
}

const SafetensorsFile& HfCheckpoint::shard_of(const std::string& name) const {
  auto it = where_.find(name);
  check(it != where_.end(), dir_ + ": checkpoint has no tensor '" + name + "' (" + std::to_string(names_.size()) + " tensors)",
        "check the architecture's parameter names against names()");
  return shards_[it->second];
}

Json HfCheckpoint::config() const {
  fs::path p = fs::path(dir_) / "config.json";
  check(exists_file(p), p.string() + " is missing", "copy config.json from the model's Hugging Face repo into " + dir_);
  return load_json_file(p.string());
}

HfCheckpointWriter::HfCheckpointWriter(std::string dir, std::vector<TensorSpec> specs, Json config, uint64_t max_shard_bytes)
    : dir_(std::move(dir)), config_(std::move(config)) {
  check(config_.is_null() || config_.is_object(), "save_hf_checkpoint " + dir_ + ": config must be a JSON object, got " + config_.type_name(),
        "parse config.json text with parse_json first");
  std::error_code ec;
  fs::create_directories(dir_, ec);
  check(!ec && fs::is_directory(dir_), "cannot create checkpoint directory " + dir_ + ": " + ec.message(), "check the path and permissions");

  std::set<std::string> seen;
  for (const auto& t : specs) {
    check(seen.insert(t.name).second, "save_hf_checkpoint " + dir_ + ": tensor '" + t.name + "' is given twice", "tensor names must be unique");
    total_ += t.nbytes();
  }

  // Greedy fill in order (huggingface_hub's split_torch_state_dict_into_shards rule: start a new shard when
  // the next tensor would tip the current one over the limit; an oversized tensor ends up alone).
  std::vector<std::vector<TensorSpec>> shards(1);
  uint64_t cur = 0;
  for (auto& t : specs) {
    const uint64_t b = t.nbytes();
    if (total_ > max_shard_bytes && !shards.back().empty() && cur + b > max_shard_bytes) {
      shards.emplace_back();
      cur = 0;
    }
    where_.push_back({shards.size() - 1, shards.back().size()});
    shards.back().push_back(std::move(t));
    cur += b;
  }

  const std::map<std::string, std::string> md = {{"format", "pt"}};
  fs::path d(dir_);
  for (size_t k = 0; k < shards.size(); ++k) {
    // one shard is saved unsharded, as huggingface_hub does
    const std::string name = shards.size() == 1 ? std::string(kSingle) : shard_name(k + 1, shards.size());
    files_.push_back(name);
    shards_.push_back(std::make_unique<SafetensorsWriter>((d / name).string(), std::move(shards[k]), md));
  }
}

HfCheckpointWriter::~HfCheckpointWriter() = default;

const TensorSpec& HfCheckpointWriter::spec(size_t i) const {
  check(i < where_.size(), "HfCheckpointWriter " + dir_ + ": no tensor #" + std::to_string(i));
  return shards_[where_[i].first]->specs()[where_[i].second];
}

void HfCheckpointWriter::write(size_t i, uint64_t offset, const void* data, size_t n) {
  check(i < where_.size(), "HfCheckpointWriter " + dir_ + ": no tensor #" + std::to_string(i));
  shards_[where_[i].first]->write(where_[i].second, offset, data, n);
}

void HfCheckpointWriter::commit() {
  check(!committed_, "HfCheckpointWriter " + dir_ + ": committed twice");
  fs::path d(dir_);
  for (auto& w : shards_) w->commit();
  std::set<std::string> written(files_.begin(), files_.end());
  if (shards_.size() > 1) {
    Json weight_map = Json::object();
    for (size_t k = 0; k < shards_.size(); ++k)
      for (const auto& t : shards_[k]->specs()) weight_map[t.name] = files_[k];
    Json index = {{"metadata", {{"total_size", total_}}}, {"weight_map", weight_map}};
    write_file_atomic((d / kIndex).string(), index.dump(2) + "\n");
    written.insert(kIndex);
  }
  if (!config_.is_null()) write_file_atomic((d / "config.json").string(), config_.dump(2) + "\n");
  committed_ = true;

  // Remove weight files of an earlier save that this layout does not use.
  std::error_code ec;
  for (const auto& de : fs::directory_iterator(d, ec)) {
    std::string n = de.path().filename().string();
    bool ours = n == kSingle || n == kIndex || is_shard_name(n);
    if (ours && !written.count(n)) {
      std::error_code rec;
      fs::remove(de.path(), rec);
      if (rec) log::warn("could not remove stale " + de.path().string() + ": " + rec.message());
    }
  }
}

void save_hf_checkpoint(const std::string& dir, const std::vector<std::pair<std::string, Tensor>>& tensors,
                        const Json& config, uint64_t max_shard_bytes) {
  std::vector<TensorSpec> specs;
  for (const auto& [name, t] : tensors) {
    check(t.defined(), "save_hf_checkpoint " + dir + ": tensor '" + name + "' is undefined");
    check(t.device().is_cpu(), "save_hf_checkpoint " + dir + ": tensor '" + name + "' is on " + t.device().str(),
          "copy it to the CPU before saving");
    check(t.is_contiguous(), "save_hf_checkpoint " + dir + ": tensor '" + name + "' is not contiguous", "clone() it before saving");
    specs.push_back({name, t.dtype(), t.shape()});
  }
  HfCheckpointWriter w(dir, std::move(specs), config, max_shard_bytes);
  for (size_t i = 0; i < tensors.size(); ++i) w.write(i, 0, tensors[i].second.raw(), tensors[i].second.nbytes());
  w.commit();
}

}  // namespace zt
