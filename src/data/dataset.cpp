// Dataset resolution (file / hub-download directory / HF cache) and loading of the train and eval splits,
// including DeepSpeed-Chat's 9:1 "train_eval" cut for datasets without an eval split.
#include "data/dataset.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/mmap.hpp"
#include "data/split.hpp"

namespace zt::data {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

// The split a file belongs to from its name or parent directories: "train-00000-of-00001.parquet" -> train,
// "default/test/0000.parquet" -> test, "eval.json" -> eval. "" when it names none.
std::string split_of(const fs::path& rel) {
  static const char* names[] = {"train", "test", "validation", "valid", "dev", "eval"};
  std::string stem = lower(rel.filename().string());
  for (const char* n : names) {
    std::string s = n;
    if (stem.rfind(s, 0) == 0 && (stem.size() == s.size() || !std::isalpha(static_cast<unsigned char>(stem[s.size()])))) return s;
  }
  for (fs::path p = rel.parent_path(); !p.empty() && p != p.parent_path(); p = p.parent_path()) {
    std::string d = lower(p.filename().string());
    for (const char* n : names)
      if (d == n) return n;
  }
  return "";
}

std::string hub_cache_dir() {
  if (const char* c = std::getenv("HF_HUB_CACHE"); c && *c) return c;
  if (const char* c = std::getenv("HUGGINGFACE_HUB_CACHE"); c && *c) return c;
  if (const char* h = std::getenv("HF_HOME"); h && *h) return std::string(h) + "/hub";
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/huggingface/hub";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/huggingface/hub";
  return "";
}

// "owner/name" in the hub cache: datasets--owner--name/snapshots/<refs/main or the only/newest snapshot>.
std::string find_in_hub_cache(const std::string& name) {
  size_t slash = name.find('/');
  if (slash == std::string::npos || name.find('/', slash + 1) != std::string::npos) return "";
  std::string cache = hub_cache_dir();
  if (cache.empty()) return "";
  fs::path repo = fs::path(cache) / ("datasets--" + name.substr(0, slash) + "--" + name.substr(slash + 1));
  std::error_code ec;
  if (!fs::is_directory(repo / "snapshots", ec)) return "";
  if (fs::exists(repo / "refs" / "main", ec)) {
    std::string rev = read_file((repo / "refs" / "main").string());
    while (!rev.empty() && std::isspace(static_cast<unsigned char>(rev.back()))) rev.pop_back();
    if (fs::is_directory(repo / "snapshots" / rev, ec)) return (repo / "snapshots" / rev).string();
  }
  fs::path best;
  fs::file_time_type best_t{};
  for (auto& e : fs::directory_iterator(repo / "snapshots", ec)) {
    if (!e.is_directory()) continue;
    auto t = e.last_write_time(ec);
    if (best.empty() || t > best_t) best = e.path(), best_t = t;
  }
  return best.string();
}

}  // namespace

SplitFiles resolve_split_files(const std::string& data_path, const DatasetRules& rules) {
  SplitFiles out;
  std::error_code ec;
  std::string root = data_path;
  if (!fs::exists(root, ec)) {
    std::string cached = find_in_hub_cache(data_path);
    check(!cached.empty(), "--data_path " + data_path + ": no such file or directory, and not in the Hugging Face cache (" + hub_cache_dir() + ")",
          "zerotune never downloads; fetch it first, e.g. `huggingface-cli download " + data_path +
              " --repo-type dataset --local-dir DIR`, then pass --data_path DIR (keep the dataset name in the path, e.g. DIR=data/" +
              data_path + ", so its rules apply)");
    root = cached;
  }
  out.root = root;
  if (fs::is_regular_file(root, ec)) {
    check(is_table_file(root), "--data_path " + root + ": not a .jsonl, .json or .parquet file", "pass a dataset file or directory");
    out.train.push_back(root);
    return out;
  }
  check(fs::is_directory(root, ec), "--data_path " + root + ": neither a file nor a directory");
  // Collect table files (depth <= 4), skipping hidden directories such as .cache and .git.
  std::map<std::string, std::vector<std::string>> by_split;
  std::vector<std::string> unassigned, all;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    std::string fname = p.filename().string();
    if (it->is_directory(ec)) {
      if ((!fname.empty() && fname[0] == '.') || it.depth() >= 3) it.disable_recursion_pending();
      continue;
    }
    if (!is_table_file(fname) || fname[0] == '.') continue;
    fs::path rel = fs::relative(p, root, ec);
    all.push_back(rel.string());
    std::string s = split_of(rel);
    if (s.empty())
      unassigned.push_back(p.string());
    else
      by_split[s].push_back(p.string());
  }
  // Prefer the parquet files when a directory holds several formats of the same split.
  for (auto& [name, files] : by_split) {
    bool any_parquet = std::any_of(files.begin(), files.end(), [](const std::string& f) { return lower(f).ends_with(".parquet"); });
    if (any_parquet) std::erase_if(files, [](const std::string& f) { return !lower(f).ends_with(".parquet"); });
    std::sort(files.begin(), files.end());
  }
  std::string listing;
  for (auto& f : all) listing += "\n    " + f;
  if (all.empty()) listing = " (no .parquet, .jsonl or .json files)";
  check(!all.empty() || (!fs::exists(fs::path(root) / "dataset_dict.json", ec) && !fs::exists(fs::path(root) / "state.json", ec)),
        "--data_path " + root + ": looks like a `datasets` save_to_disk directory (Arrow files), which zerotune does not read",
        "export each split to Parquet, e.g. ds[split].to_parquet(f\"DIR/data/{split}-00000-of-00001.parquet\"), and pass DIR");
  if (!by_split.count("train") && unassigned.size() == 1 && by_split.empty()) {
    out.train = unassigned;  // a directory holding a single data file
    return out;
  }
  check(by_split.count("train") > 0,
        "--data_path " + root + ": no train split found; files found:" + listing,
        "expected the `huggingface-cli download --repo-type dataset` layout (data/train-*.parquet, data/test-*.parquet) or "
        "train/test .jsonl/.json files");
  out.train = by_split["train"];
  if (rules.eval == EvalSource::named_split) {
    std::vector<std::string> candidates{rules.eval_split};
    if (&rules == &generic_prompt_chosen_rules()) candidates = {"test", "validation", "valid", "dev", "eval"};
    for (auto& c : candidates) {
      if (by_split.count(c)) {
        out.eval = by_split[c];
        out.eval_split_name = c;
        break;
      }
    }
    if (out.eval.empty() && &rules != &generic_prompt_chosen_rules())
      fail("--data_path " + root + ": " + rules.name + " needs its '" + rules.eval_split + "' split; files found:" + listing,
           "download the whole dataset (all splits), e.g. huggingface-cli download " + rules.name + " --repo-type dataset --local-dir DIR");
  }
  return out;
}

std::string LoadedSplit::where(size_t row) const {
  for (size_t i = files.size(); i-- > 0;)
    if (row >= files[i].second) return files[i].first + " row " + std::to_string(row - files[i].second);
  return table.source + " row " + std::to_string(row);
}

LoadedSplit load_split(const std::vector<std::string>& files, const std::vector<std::string>& columns) {
  LoadedSplit s;
  ReadOptions opt;
  opt.columns = columns;
  for (auto& f : files) {
    Table t = read_table(f, opt);
    s.files.emplace_back(f, s.table.num_rows);
    if (s.files.size() == 1)
      s.table = std::move(t);
    else
      s.table.append(std::move(t));
  }
  return s;
}

RawDataset load_raw_dataset(const std::string& data_path, uint32_t seed) {
  RawDataset d;
  d.data_path = data_path;
  d.rules = find_dataset_rules(data_path);
  if (d.rules) {
    check(d.rules->unsupported.empty(), "--data_path " + data_path + ": " + d.rules->name + " is not supported: " + d.rules->unsupported,
          "use a dataset with flat text columns (e.g. Dahoas/rm-static) or convert it to prompt/chosen columns");
  } else {
    d.rules = &generic_prompt_chosen_rules();
  }
  d.files = resolve_split_files(data_path, *d.rules);
  if (d.rules == &generic_prompt_chosen_rules()) {
    // Check the columns before reading everything, so the error lists what the file has.
    ReadOptions peek;
    peek.skip_unsupported = true;
    Table t = read_table(d.files.train.front(), peek);
    if (!t.find("prompt") || !t.find("chosen")) {
      std::string names, known;
      for (auto& n : t.column_names()) names += (names.empty() ? "" : ", ") + n;
      for (auto& n : known_dataset_names()) known += "\n    " + n;
      fail("--data_path " + data_path + ": names no DeepSpeed-Chat dataset and has no prompt/chosen columns (columns: " +
               (names.empty() ? "(none)" : names) + ")",
           "put the dataset's name in the path (e.g. .../Dahoas/rm-static) so its rules apply, or provide prompt and chosen "
           "columns; known datasets:" + known);
    }
    log::info("--data_path " + data_path + ": no DeepSpeed-Chat dataset name in the path; using prompt + chosen (rm-static rules)");
  }
  d.train = load_split(d.files.train, d.rules->columns);
  auto n = int64_t(d.train.table.num_rows);
  if (!d.files.eval.empty()) {
    d.eval = load_split(d.files.eval, d.rules->columns);
    d.train_rows.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) d.train_rows[size_t(i)] = i;
    d.eval_rows.resize(d.eval.table.num_rows);
    for (size_t i = 0; i < d.eval_rows.size(); ++i) d.eval_rows[i] = int64_t(i);
  } else {
    // DeepSpeed-Chat's get_raw_dataset_split_index(..., "train_eval", "9,1", k, len(train)).
    d.eval_shares_train = true;
    PhaseSplit s = split_phases(n, {9.0, 1.0}, seed);
    d.train_rows = std::move(s.phases[0]);
    d.eval_rows = std::move(s.phases[1]);
    if (d.rules->eval == EvalSource::named_split)
      log::info("--data_path " + data_path + ": no eval split found; cutting the train split 9:1 (seed " + std::to_string(seed) + ")");
  }
  return d;
}

}  // namespace zt::data
