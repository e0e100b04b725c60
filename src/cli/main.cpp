// The zerotune binary: dispatches to subcommands and turns zt::Error into a message and exit status 1.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "cli/commands.hpp"
#include "core/error.hpp"

using namespace zt::cli;

static const Command kCommands[] = {
    {"train", "DeepSpeed-Chat step 1: supervised fine-tuning with the same flags and ds_config.json", cmd_train},
    {"export", "a training checkpoint as a Hugging Face model (LoRA merged) or a PEFT adapter", cmd_export},
    {"data", "dataset tools: split, read, sampler, prepare (tokenised cache), inspect", cmd_data},
    {"tokenize", "encode/decode JSON lines with a Hugging Face tokenizer.json, as transformers does", cmd_tokenize},
    {"bench", "time training steps on one GPU with random weights (Llama-3-8B shape); prints a JSON line", cmd_bench},
    {"init", "write a randomly initialised Hugging Face-format model from a config.json or a preset (llama3-8b)", cmd_init},
    {"load-bench", "time loading a model directory onto one GPU as train does; prints a JSON line per load", cmd_load_bench},
    {"score", "print the mean next-token cross-entropy of a model on token-id lines (jsonl)", cmd_score},
    {"launch", "run a job's ranks here or on a hostfile's nodes (DeepSpeed's launcher flags; train or -- cmd)", cmd_launch},
    {"launch-agent", nullptr, cmd_launch_agent},  // internal: what `launch` starts on each node (not listed)
    {"doctor", "check this host (or every host of a hostfile) for training: GPUs, CUDA, NCCL, network, disk, collectives", cmd_doctor},
    {"cluster", "cluster bring-up: init writes compose files, Dockerfile, hostfile, ds_config and a README; ssh-setup", cmd_cluster},
    {"comm-bench", nullptr, cmd_comm_bench},  // internal: the collective test `doctor --hostfile` launches (not listed)
    {"port-probe", nullptr, cmd_port_probe},  // internal: the master-port check of `doctor --hostfile` (not listed)
};

static void print_help() {
  std::printf(
      "zerotune: fine-tune Hugging Face causal LMs (DeepSpeed-Chat step 1) natively, no Python.\n\n"
      "usage: zerotune <command> [flags]    (zerotune <command> --help lists a command's flags)\n\ncommands:\n");
  for (auto& c : kCommands)
    if (c.summary) std::printf("  %-10s %s\n", c.name, c.summary);
  std::printf("  %-10s %s\n", "version", "print the version");
}

// OpenMP threads that busy-wait between parallel regions steal the core that the other thread (or another
// process) needs: on a loaded 2-core machine training ran 10x slower. libgomp reads OMP_WAIT_POLICY when it loads,
// before main, so when the user has not chosen a policy we set PASSIVE and re-execute ourselves once.
static void prefer_passive_openmp_waits(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("ZT_NO_REEXEC")) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  setenv("ZT_NO_REEXEC", "1", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then carry on with the default policy
}

int main(int argc, char** argv) {
  prefer_passive_openmp_waits(argv);
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
