// The zerotune binary: dispatches to subcommands and turns zt::Error into a message and exit status 1.
#include <cstdio>
#include <cstring>
#include <exception>

#include "cli/commands.hpp"
#include "core/error.hpp"

using namespace zt::cli;

static const Command kCommands[] = {
    {"train", "DeepSpeed-Chat step 1: supervised fine-tuning with the same flags and ds_config.json", cmd_train},
    {"data", "dataset tools: split, read, sampler, prepare (tokenised cache), inspect", cmd_data},
    {"tokenize", "encode/decode JSON lines with a Hugging Face tokenizer.json, as transformers does", cmd_tokenize},
    {"init", "write a randomly initialised Hugging Face-format model from a config.json", cmd_init},
    {"score", "print the mean next-token cross-entropy of a model on token-id lines (jsonl)", cmd_score},
};

static void print_help() {
  std::printf(
      "zerotune: fine-tune Hugging Face causal LMs (DeepSpeed-Chat step 1) natively, no Python.\n\n"
      "usage: zerotune <command> [flags]    (zerotune <command> --help lists a command's flags)\n\ncommands:\n");
  for (auto& c : kCommands) std::printf("  %-10s %s\n", c.name, c.summary);
  std::printf("  %-10s %s\n", "version", "print the version");
}

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    print_help();
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "version") || !std::strcmp(argv[1], "--version")) {
    std::printf("zerotune 0.1.0\n");
    return 0;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  for (auto& c : kCommands) {
    if (std::strcmp(c.name, argv[1])) continue;
    try {
      return c.run(args);
    } catch (const zt::Error& e) {
      std::fprintf(stderr, "zerotune %s: error: %s\n", c.name, e.describe().c_str());
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "zerotune %s: error: %s\n", c.name, e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "zerotune: unknown command '%s'\n\n", argv[1]);
  print_help();
  return 2;
}
