// Step-1 sample selection exactly as DeepSpeed-Chat orders it: create_dataset per path (phase subset of each split,
// None rows dropped), then for several paths ConcatDataset + get_shuffle_idx(seed), then the SFT-only sets.
#include "data/blend.hpp"

#include "core/error.hpp"
#include "data/permute.hpp"
#include "data/split.hpp"

namespace zt::data {

namespace {

const LoadedSplit& split_of(const Blend& b, const SampleRef& s) {
  const RawDataset& d = b.datasets[s.dataset];
  return s.eval_split ? d.eval_split() : d.train;
}

// create_dataset for one path: the phase subset of get_train_data() and get_eval_data(), rows without text removed.
void create_dataset(Blend& b, uint32_t ds, const std::vector<double>& weights, uint32_t seed, int phase,
                    std::vector<SampleRef>& train, std::vector<SampleRef>& eval) {
  const RawDataset& d = b.datasets[ds];
  std::pair<size_t, size_t> kept{0, 0}, dropped{0, 0};
  auto take = [&](const std::vector<int64_t>& base, bool is_eval, std::vector<SampleRef>& out, size_t& k, size_t& x) {
    std::vector<int64_t> idx = phase_rows(int64_t(base.size()), weights, seed, phase - 1);
    for (int64_t i : idx) {
      SampleRef s{ds, is_eval, base[size_t(i)]};
      const LoadedSplit& sp = split_of(b, s);
      RowView row(sp.table, size_t(s.row), sp.where(size_t(s.row)));
      if (d.rules->prompt_and_chosen(row)) {
        out.push_back(s);
        ++k;
      } else {
        ++x;
      }
    }
  };
  take(d.train_rows, false, train, kept.first, dropped.first);
  take(d.eval_rows, true, eval, kept.second, dropped.second);
  b.kept.push_back(kept);
  b.dropped.push_back(dropped);
}

std::vector<SampleRef> reshuffle(const std::vector<SampleRef>& v, uint32_t seed) {
  std::vector<int64_t> idx = numpy_shuffled_arange(int64_t(v.size()), seed);
  std::vector<SampleRef> out;
  out.reserve(v.size());
  for (int64_t i : idx) out.push_back(v[size_t(i)]);
  return out;
}

}  // namespace

std::string Blend::text(const SampleRef& s) const {
  const LoadedSplit& sp = split_of(*this, s);
  RowView row(sp.table, size_t(s.row), sp.where(size_t(s.row)));
  auto t = datasets[s.dataset].rules->prompt_and_chosen(row);
  check(t.has_value(), sp.where(size_t(s.row)) + ": row has no text");
  return *t;
}

std::string Blend::prompt(const SampleRef& s) const {
  const LoadedSplit& sp = split_of(*this, s);
  RowView row(sp.table, size_t(s.row), sp.where(size_t(s.row)));
  return datasets[s.dataset].rules->prompt(row).value_or("");
}

std::string Blend::where(const SampleRef& s) const { return split_of(*this, s).where(size_t(s.row)); }

Blend build_blend(const BlendOptions& opt) {
  check(!opt.data_path.empty(), "--data_path is empty", "give at least one dataset");
  check(opt.phase >= 1 && opt.phase <= 3, "phase " + std::to_string(opt.phase) + " is not 1, 2 or 3");
  uint32_t seed = numpy_seed(opt.seed);
  std::vector<double> weights = parse_data_split(opt.data_split);
  check(weights.size() >= size_t(opt.phase), "--data_split " + opt.data_split + " has no proportion for phase " + std::to_string(opt.phase),
        "give one proportion per phase, e.g. --data_split 2,4,4");
  Blend b;
  for (auto& p : opt.data_path) b.datasets.push_back(load_raw_dataset(p, seed));
  std::vector<SampleRef> train, eval;
  for (uint32_t i = 0; i < opt.data_path.size(); ++i) create_dataset(b, i, weights, seed, opt.phase, train, eval);
  if (opt.data_path.size() > 1) {
    train = reshuffle(train, seed);
    eval = reshuffle(eval, seed);
  }
  if (opt.phase == 1 && !opt.sft_only_data_path.empty()) {
    std::vector<SampleRef> sft_train, sft_eval;
    const std::vector<double> whole = {10.0, 0.0, 0.0};
    for (auto& p : opt.sft_only_data_path) {
      auto ds = uint32_t(b.datasets.size());
      b.datasets.push_back(load_raw_dataset(p, seed));
      create_dataset(b, ds, whole, seed, 1, sft_train, sft_eval);
    }
    train.insert(train.end(), sft_train.begin(), sft_train.end());
    train = reshuffle(train, seed);
    eval.insert(eval.end(), sft_eval.begin(), sft_eval.end());
    eval = reshuffle(eval, seed);
  }
  b.train = std::move(train);
  b.eval = std::move(eval);
  return b;
}

}  // namespace zt::data
