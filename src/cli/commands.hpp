// The zerotune subcommands. Each is a function taking the arguments after its name and returning the
// exit status; errors are thrown as zt::Error and printed by main.
#pragma once
#include <string>
#include <vector>

namespace zt::cli {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args);
};

// Defined in the cmd_*.cpp files; listed in main.cpp.
int cmd_init(const std::vector<std::string>& args);
int cmd_load_bench(const std::vector<std::string>& args);
int cmd_score(const std::vector<std::string>& args);
int cmd_train(const std::vector<std::string>& args);
int cmd_export(const std::vector<std::string>& args);
int cmd_data(const std::vector<std::string>& args);
int cmd_tokenize(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);
int cmd_launch(const std::vector<std::string>& args);
int cmd_launch_agent(const std::vector<std::string>& args);
int cmd_doctor(const std::vector<std::string>& args);
int cmd_cluster(const std::vector<std::string>& args);
int cmd_comm_bench(const std::vector<std::string>& args);
int cmd_port_probe(const std::vector<std::string>& args);

}  // namespace zt::cli
