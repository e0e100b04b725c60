// `zerotune score`: mean next-token cross-entropy of a model on token-id lines, transformers' definition.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "core/json.hpp"
#include "io/model_io.hpp"
#include "model/batch.hpp"

namespace zt::cli {

static std::vector<int32_t> int_list(const Json& j, const char* key, const std::string& where) {
  check(j.is_array(), where + ": '" + key + "' must be an array of integers");
  std::vector<int32_t> v;
  for (auto& x : j) {
    check(x.is_number_integer(), where + ": '" + key + "' must contain only integers, found " + x.dump());
    int64_t i = x.get<int64_t>();
    check(i >= -100 && i < (int64_t(1) << 31), where + ": '" + key + "' value " + std::to_string(i) + " out of range");
    v.push_back(int32_t(i));
  }
  return v;
}

int cmd_score(const std::vector<std::string>& argv) {
  Args a("score", "For each input line {\"input_ids\": [...], \"labels\": [...]} (labels optional, default input_ids, -100 ignored)\n"
                  "prints {\"loss\": L, \"tokens\": N}: the mean cross-entropy over the N non-ignored next-token targets\n"
                  "(transformers' causal-LM loss). Computed in fp32 on the CPU.",
         {{"model", FlagKind::string, "", "a Hugging Face model directory (config.json + safetensors)", true},
          {"input", FlagKind::string, "-", "a .jsonl file of token-id lines, or - for stdin"}});
  if (!a.parse(argv)) return 0;
  auto m = load_pretrained(a.str("model"), model::LoraSpec{}, DType::f32);
  std::ifstream file;
  std::istream* in = &std::cin;
  std::string src = a.str("input");
  if (src != "-") {
    file.open(src);
    check(bool(file), "cannot open --input " + src);
    in = &file;
  }
  std::string line;
  int64_t lineno = 0;
  while (std::getline(*in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string where = src + ":" + std::to_string(lineno);
    Json j = parse_json(line, where);
    check(j.is_object() && j.contains("input_ids"), where + ": expected an object with \"input_ids\"");
    auto ids = int_list(j["input_ids"], "input_ids", where);
    check(!ids.empty(), where + ": input_ids is empty");
    std::vector<std::vector<int32_t>> labels;
    if (j.contains("labels") && !j["labels"].is_null()) {
      labels.push_back(int_list(j["labels"], "labels", where));
      check(labels[0].size() == ids.size(), where + ": labels and input_ids differ in length");
    }
    model::PackedBatch b = model::pack_sequences({ids}, labels);
    Json out;
    if (b.num_targets == 0) {
      out = {{"loss", nullptr}, {"tokens", 0}};  // transformers gives nan: no target to average over
    } else {
      double loss = m->run(b, model::RunOptions{false, false, 0}, false);
      out = {{"loss", loss}, {"tokens", b.num_targets}};
    }
    std::printf("%s\n", out.dump().c_str());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace zt::cli
