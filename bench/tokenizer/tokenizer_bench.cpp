// Tokenizer throughput: single-thread and batch (all cores) encode tokens/s and MB/s on a JSON-lines corpus
// (bench/tokenizer/make_bench_corpus.py). hf_bench.py measures HF tokenizers on the same file for the ratio.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"
#include "tokenizer/tokenizer.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: tokenizer_bench TOKENIZER(.json|dir) CORPUS.jsonl [threads]\n");
    return 2;
  }
  try {
    zt::Tokenizer tok = zt::Tokenizer::load(argv[1]);
    std::vector<std::string> texts;
    std::ifstream in(argv[2]);
    zt::check(bool(in), std::string("cannot open ") + argv[2]);
    size_t bytes = 0;
    for (std::string line; std::getline(in, line);) {
      texts.push_back(zt::parse_json(line, argv[2]).get<std::string>());
      bytes += texts.back().size();
    }
    int threads = argc > 3 ? std::atoi(argv[3]) : int(std::thread::hardware_concurrency());
    using clk = std::chrono::steady_clock;
    auto secs = [](clk::time_point a) { return std::chrono::duration<double>(clk::now() - a).count(); };
    // single thread (first pass warms the word cache, as HF's does; both passes reported)
    for (int pass = 0; pass < 2; ++pass) {
      auto t0 = clk::now();
      size_t ntok = 0;
      for (auto& t : texts) ntok += tok.encode(t).size();
      double s = secs(t0);
      std::printf("{\"bench\":\"tokenizer\",\"mode\":\"single\",\"pass\":%d,\"texts\":%zu,\"mb\":%.2f,\"tokens\":%zu,"
                  "\"seconds\":%.3f,\"tokens_per_s\":%.0f,\"mb_per_s\":%.2f}\n",
                  pass, texts.size(), bytes / 1e6, ntok, s, ntok / s, bytes / 1e6 / s);
    }
    for (int pass = 0; pass < 2; ++pass) {
      auto t0 = clk::now();
      auto out = tok.encode_batch(texts, false, threads);
      double s = secs(t0);
      size_t ntok = 0;
      for (auto& v : out) ntok += v.size();
      std::printf("{\"bench\":\"tokenizer\",\"mode\":\"batch\",\"threads\":%d,\"pass\":%d,\"tokens\":%zu,\"seconds\":%.3f,"
                  "\"tokens_per_s\":%.0f,\"mb_per_s\":%.2f}\n",
                  threads, pass, ntok, s, ntok / s, bytes / 1e6 / s);
    }
  } catch (const zt::Error& e) {
    std::fprintf(stderr, "tokenizer_bench: %s\n", e.describe().c_str());
    return 1;
  }
  return 0;
}
