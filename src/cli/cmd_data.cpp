// `zerotune data`: the data layer from the command line — split (DeepSpeed-Chat phase indices), read (rows of a
// dataset file), sampler (a rank's indices), prepare (build the step-1 sample cache) and inspect (its statistics).
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cli/args.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "data/blend.hpp"
#include "data/samples.hpp"
#include "data/sampler.hpp"
#include "data/split.hpp"
#include "data/table.hpp"
#include "tokenizer/tokenizer.hpp"

namespace zt::cli {

namespace {

const char* kUsage =
    "usage: zerotune data <subcommand> [flags]   (zerotune data <subcommand> --help lists its flags)\n\n"
    "subcommands:\n"
    "  split     print DeepSpeed-Chat's phase boundaries and row indices for N rows\n"
    "  read      print the rows of a .jsonl/.json/.parquet file as JSON lines\n"
    "  sampler   print the dataset indices one rank reads (DistributedSampler, seed 0)\n"
    "  prepare   build the tokenised step-1 sample cache under --data_output_path\n"
    "  inspect   counts, length statistics and decoded samples of the step-1 data\n";

std::vector<Flag> blend_flags() {
  return {
      {"data_path", FlagKind::list, "Dahoas/rm-static", "datasets: files, hub-download directories or cached hub names", false, {}},
      {"data_split", FlagKind::string, "2,4,4", "proportions of phases 1/2/3", false, {}},
      {"sft_only_data_path", FlagKind::list, "", "datasets used whole in phase 1", false, {}},
      {"seed", FlagKind::integer, "1234", "seed of the split and blend permutations", false, {}},
      {"data_output_path", FlagKind::string, "/tmp/data_files/", "node-local cache directory", false, {}},
      {"model_name_or_path", FlagKind::string, "", "model directory (or tokenizer.json) whose tokenizer is used", true, {}},
      {"max_seq_len", FlagKind::integer, "512", "right truncation length", false, {}},
      {"end_of_conversation_token", FlagKind::string, "", "text appended to each sample (default: the tokenizer's EOS token, as DeepSpeed-Chat step 1)", false, {}},
      {"mask_prompt", FlagKind::boolean, "", "also record prompt lengths (for a prompt-masked loss)", false, {}},
      {"threads", FlagKind::integer, "0", "tokenising threads (0 = all cores)", false, {}},
  };
}

data::BlendOptions blend_options(const Args& a) {
  data::BlendOptions o;
  o.data_path = a.list("data_path");
  o.sft_only_data_path = a.list("sft_only_data_path");
  o.data_split = a.str("data_split");
  o.seed = a.integer("seed");
  return o;
}

data::SampleOptions sample_options(const Args& a) {
  data::SampleOptions o;
  o.max_seq_len = a.integer("max_seq_len");
  o.end_of_conversation = a.opt_str("end_of_conversation_token").value_or("");
  o.record_prompt_tokens = a.flag("mask_prompt");
  o.threads = int(a.integer("threads"));
  return o;
}

int run_split(const std::vector<std::string>& argv) {
  Args a("data split", "Prints {\"boundaries\": [...], \"phases\": [[...], ...]}: DeepSpeed-Chat's split of N rows (NumPy RandomState shuffle).",
         {{"rows", FlagKind::integer, "", "number of rows N", true, {}},
          {"data_split", FlagKind::string, "2,4,4", "phase proportions", false, {}},
          {"seed", FlagKind::integer, "1234", "NumPy RandomState seed", false, {}}});
  if (!a.parse(argv)) return 0;
  int64_t n = a.integer("rows");
  check(n >= 0, "--rows must be non-negative");
  auto s = data::split_phases(n, data::parse_data_split(a.str("data_split")), data::numpy_seed(a.integer("seed")));
  Json j;
  j["boundaries"] = s.boundaries;
  j["phases"] = s.phases;
  std::cout << j.dump() << "\n";
  return 0;
}

int run_read(const std::vector<std::string>& argv) {
  Args a("data read", "Prints the rows of a dataset file as JSON lines (strings, integers, null).",
         {{"file", FlagKind::string, "", ".jsonl, .json or .parquet file", true, {}},
          {"columns", FlagKind::list, "", "columns to read (default: all readable ones)", false, {}},
          {"limit", FlagKind::integer, "-1", "print at most this many rows (-1 = all)", false, {}}});
  if (!a.parse(argv)) return 0;
  data::ReadOptions o;
  o.columns = a.list("columns");
  o.skip_unsupported = o.columns.empty();
  data::Table t = data::read_table(a.str("file"), o);
  for (auto& s : t.skipped) std::fprintf(stderr, "skipped column %s\n", s.c_str());
  int64_t limit = a.integer("limit");
  for (size_t r = 0; r < t.num_rows && (limit < 0 || int64_t(r) < limit); ++r) std::cout << t.row_json(r).dump() << "\n";
  return 0;
}

int run_sampler(const std::vector<std::string>& argv) {
  Args a("data sampler", "Prints the indices rank R of W reads: torch DistributedSampler(shuffle, seed) semantics, padded by repetition.",
         {{"rows", FlagKind::integer, "", "dataset size", true, {}},
          {"world_size", FlagKind::integer, "1", "number of ranks", false, {}},
          {"rank", FlagKind::integer, "0", "this rank", false, {}},
          {"seed", FlagKind::integer, "0", "sampler seed (DeepSpeed-Chat: 0)", false, {}},
          {"no_shuffle", FlagKind::boolean, "", "sequential order", false, {}}});
  if (!a.parse(argv)) return 0;
  data::SamplerOptions o;
  o.world_size = int(a.integer("world_size"));
  o.rank = int(a.integer("rank"));
  o.seed = uint64_t(a.integer("seed"));
  o.shuffle = !a.flag("no_shuffle");
  Json j = data::distributed_sampler_indices(a.integer("rows"), o);
  std::cout << j.dump() << "\n";
  return 0;
}

int run_prepare(const std::vector<std::string>& argv, bool inspect) {
  std::vector<Flag> flags = blend_flags();
  if (inspect) flags.push_back({"show", FlagKind::integer, "3", "decoded samples to show from each split", false, {}});
  Args a(inspect ? "data inspect" : "data prepare",
         inspect ? "Builds (or reuses) the step-1 sample cache and prints counts, token-length statistics and decoded samples."
                 : "Builds the tokenised step-1 sample cache (train and eval) under --data_output_path, as `zerotune train` would.",
         flags);
  if (!a.parse(argv)) return 0;
  Tokenizer tok = Tokenizer::load(a.str("model_name_or_path"));
  auto p = data::prepare_step1_data(blend_options(a), tok, a.str("model_name_or_path"), sample_options(a), a.str("data_output_path"));
  Json out;
  out["key"] = p.key;
  out["from_cache"] = p.from_cache;
  for (auto* s : {&p.train, &p.eval}) {
    Json j;
    j["path"] = s->path();
    j["samples"] = s->size();
    j["tokens"] = s->total_tokens();
    j["truncated"] = s->header().value("truncated", 0);
    std::vector<int64_t> lens;
    for (size_t i = 0; i < s->size(); ++i) lens.push_back(int64_t(s->tokens(i).size()));
    std::sort(lens.begin(), lens.end());
    if (!lens.empty()) {
      auto q = [&](double f) { return lens[std::min(lens.size() - 1, size_t(f * double(lens.size())))]; };
      j["length"] = {{"min", lens.front()}, {"median", q(0.5)}, {"p90", q(0.9)}, {"max", lens.back()},
                     {"mean", double(s->total_tokens()) / double(lens.size())}};
      j["padding_efficiency"] = double(s->total_tokens()) / (double(lens.size()) * double(a.integer("max_seq_len")));
    }
    out[s == &p.train ? "train" : "eval"] = j;
  }
  out["datasets"] = p.train.header().value("datasets", Json::array());
  std::cout << out.dump(1) << "\n";
  if (inspect) {
    int64_t show = a.integer("show");
    for (auto* s : {&p.train, &p.eval})
      for (size_t i = 0; i < s->size() && int64_t(i) < show; ++i) {
        auto ids = s->tokens(i);
        std::printf("--- %s sample %zu (%zu tokens, dataset %u %s row %lld)\n%s\n", s == &p.train ? "train" : "eval", i, ids.size(),
                    s->source(i).dataset, s->source(i).eval_split ? "eval" : "train", (long long)s->source(i).row,
                    tok.decode(ids).c_str());
      }
  }
  return 0;
}

}  // namespace

int cmd_data(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::printf("%s", kUsage);
    return args.empty() ? 2 : 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  const std::string& sub = args[0];
  if (sub == "split") return run_split(rest);
  if (sub == "read") return run_read(rest);
  if (sub == "sampler") return run_sampler(rest);
  if (sub == "prepare") return run_prepare(rest, false);
  if (sub == "inspect") return run_prepare(rest, true);
  fail("zerotune data: unknown subcommand '" + sub + "'", "one of: split, read, sampler, prepare, inspect");
}

}  // namespace zt::cli
