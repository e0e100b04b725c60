// DeepSpeed-Chat's raw_datasets.py behaviour per dataset, re-expressed as column lists and text functions.
// Datasets whose columns are nested (lists/structs) are listed so that their names are recognised and refused.
#include "data/registry.hpp"

#include "core/error.hpp"

namespace zt::data {

std::optional<std::string_view> RowView::opt_str(std::string_view col) const {
  const Column& c = t_.column(col);
  check(c.type == ColumnType::string || c.is_null(row_),
        where_ + ": column '" + std::string(col) + "' holds integers, expected text", "check that the file belongs to this dataset");
  if (c.is_null(row_)) return std::nullopt;
  return std::string_view(c.strings[row_]);
}

std::string_view RowView::str(std::string_view col) const {
  auto v = opt_str(col);
  check(v.has_value(), where_ + ": column '" + std::string(col) + "' is null",
        "DeepSpeed-Chat fails on this row too (None + str); remove or fill the row");
  return *v;
}

int64_t RowView::integer(std::string_view col) const {
  const Column& c = t_.column(col);
  check(!c.is_null(row_), where_ + ": column '" + std::string(col) + "' is null", "remove or fill the row");
  if (c.type == ColumnType::int64) return c.ints[row_];
  // DeepSpeed-Chat applies int() to these columns; accept decimal text too.
  const std::string& s = c.strings[row_];
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  check(!s.empty() && end && *end == '\0', where_ + ": column '" + std::string(col) + "' is '" + s + "', expected an integer");
  return v;
}

namespace {

std::string str(std::string_view v) { return std::string(v); }

DatasetRules rules_for(const char* name, const char* clean, std::vector<std::string> columns) {
  DatasetRules d;
  d.name = name;
  d.clean_name = clean;
  d.columns = std::move(columns);
  return d;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

std::optional<std::string> concat_prompt_chosen(const RowView& r) { return str(r.str("prompt")) + str(r.str("chosen")); }
std::optional<std::string> plain_prompt(const RowView& r) { return str(r.str("prompt")); }

std::optional<std::string> human_assistant(const RowView& r, std::string_view q, std::string_view a) {
  return " Human: " + str(r.str(q)) + " Assistant: " + str(r.str(a));
}

const std::vector<DatasetRules>& registry() {
  static const std::vector<DatasetRules> rules = [] {
    std::vector<DatasetRules> v;
    auto nested = [&](const char* name, const char* clean, const char* why) {
      DatasetRules d;
      d.name = name;
      d.clean_name = clean;
      d.unsupported = why;
      v.push_back(d);
    };
    {
      DatasetRules d = rules_for("Dahoas/rm-static", "Dahoas_rm_static", {"prompt", "chosen"});
      d.prompt_and_chosen = concat_prompt_chosen;
      d.prompt = plain_prompt;
      v.push_back(d);
      d.name = "Dahoas/full-hh-rlhf";
      d.clean_name = "Dahoas_full_hh_rlhf";
      v.push_back(d);
    }
    {
      DatasetRules d = rules_for("Dahoas/synthetic-instruct-gptj-pairwise", "Dahoas_synthetic_instruct_gptj_pairwise", {"prompt", "chosen"});
      d.eval = EvalSource::train_eval;
      d.prompt_and_chosen = [](const RowView& r) { return human_assistant(r, "prompt", "chosen"); };
      d.prompt = [](const RowView& r) -> std::optional<std::string> { return " Human: " + str(r.str("prompt")) + " Assistant:"; };
      v.push_back(d);
    }
    {
      DatasetRules d = rules_for("yitingxie/rlhf-reward-datasets", "yitingxie_rlhf_reward_datasets", {"prompt", "chosen"});
      d.prompt_and_chosen = concat_prompt_chosen;
      d.prompt = [](const RowView& r) -> std::optional<std::string> { return str(r.str("prompt")) + "Assistant:"; };
      v.push_back(d);
    }
    nested("openai/webgpt_comparisons", "openai_webgpt_comparisons",
           "its 'question' column is a struct and its scores are floats, which zerotune's readers do not load yet");
    {
      DatasetRules d = rules_for("stanfordnlp/SHP", "stanfordnlp_SHP", {"history", "labels", "human_ref_A", "human_ref_B"});
      d.eval_split = "validation";
      d.prompt_and_chosen = [](const RowView& r) -> std::optional<std::string> {
        std::string_view resp = r.integer("labels") == 1 ? r.str("human_ref_A") : r.str("human_ref_B");
        return " Human: " + str(r.str("history")) + " Assistant: " + str(resp);
      };
      d.prompt = [](const RowView& r) -> std::optional<std::string> { return " Human: " + str(r.str("history")) + " Assistant:"; };
      v.push_back(d);
    }
    {
      DatasetRules d = rules_for("pvduy/sharegpt_alpaca_oa_vicuna_format", "pvduy_sharegpt_alpaca_oa_vicuna_format", {"prompt", "label"});
      d.prompt_and_chosen = [](const RowView& r) -> std::optional<std::string> {
        auto p = r.opt_str("prompt"), l = r.opt_str("label");
        if (!p || !l || p->empty() || l->empty()) return std::nullopt;
        return replace_all(replace_all(str(*p), "USER", "Human"), "ASSISTANT", "Assistant") + " " + str(*l);
      };
      d.prompt = [](const RowView& r) -> std::optional<std::string> {
        auto p = r.opt_str("prompt");
        if (!p || p->empty()) return std::nullopt;
        return replace_all(replace_all(str(*p), "USER", "Human"), "ASSISTANT", "Assistant");
      };
      v.push_back(d);
    }
    {
      DatasetRules d = rules_for("wangrui6/Zhihu-KOL", "wangrui6_Zhihu_KOL", {"INSTRUCTION", "RESPONSE"});
      d.eval = EvalSource::train_eval;
      d.prompt_and_chosen = [](const RowView& r) -> std::optional<std::string> {
        auto i = r.opt_str("INSTRUCTION"), a = r.opt_str("RESPONSE");
        if (!i || !a) return std::nullopt;
        return " Human: " + str(*i) + " Assistant: " + str(*a);
      };
      d.prompt = [](const RowView& r) -> std::optional<std::string> {
        auto i = r.opt_str("INSTRUCTION");
        if (!i) return std::nullopt;
        return " Human: " + str(*i) + " Assistant:";
      };
      v.push_back(d);
    }
    nested("Cohere/miracl-zh-queries-22-12", "Cohere_miracl_zh_queries_22_12",
           "its passages are lists of structs, which zerotune's readers do not load yet");
    nested("Hello-SimpleAI/HC3-Chinese", "Hello_SimpleAI_HC3_Chinese",
           "its 'human_answers' column is a list, which zerotune's readers do not load yet");
    nested("mkqa-Chinese", "mkqa", "its queries/answers are nested structs, which zerotune's readers do not load yet");
    nested("mkqa-Japanese", "mkqa", "its queries/answers are nested structs, which zerotune's readers do not load yet");
    nested("Cohere/miracl-ja-queries-22-12", "Cohere_miracl_ja_queries_22_12",
           "its passages are lists of structs, which zerotune's readers do not load yet");
    {
      DatasetRules d = rules_for("lmqg/qg_jaquad", "lmqg_qg_jaquad", {"question", "sentence"});
      d.eval_split = "validation";
      d.prompt_and_chosen = [](const RowView& r) { return human_assistant(r, "question", "sentence"); };
      d.prompt = [](const RowView& r) -> std::optional<std::string> { return " Human: " + str(r.str("question")) + " Assistant:"; };
      v.push_back(d);
    }
    nested("lmqg/qag_jaquad", "lmqg_qag_jaquad", "its 'questions' column is a list, which zerotune's readers do not load yet");
    {
      DatasetRules d = rules_for("local/jsonfile", "jsonfile", {"prompt", "chosen"});
      d.eval_split = "eval";
      d.prompt_and_chosen = [](const RowView& r) -> std::optional<std::string> {
        auto p = r.opt_str("prompt"), c = r.opt_str("chosen");
        if (!p || !c) return std::nullopt;
        return " " + str(*p) + " " + str(*c);
      };
      d.prompt = [](const RowView& r) -> std::optional<std::string> {
        auto p = r.opt_str("prompt");
        if (!p) return std::nullopt;
        return " " + str(*p);
      };
      v.push_back(d);
    }
    return v;
  }();
  return rules;
}

}  // namespace

const DatasetRules* find_dataset_rules(const std::string& data_path) {
  for (auto& r : registry())
    if (data_path.find(r.name) != std::string::npos) return &r;
  return nullptr;
}

const DatasetRules& generic_prompt_chosen_rules() {
  static const DatasetRules rules = [] {
    DatasetRules d = rules_for("prompt+chosen", "prompt_chosen", {"prompt", "chosen"});
    d.prompt_and_chosen = concat_prompt_chosen;
    d.prompt = plain_prompt;
    return d;
  }();
  return rules;
}

std::vector<std::string> known_dataset_names() {
  std::vector<std::string> out;
  for (auto& r : registry()) out.push_back(r.name + (r.unsupported.empty() ? "" : " (not supported yet)"));
  return out;
}

}  // namespace zt::data
