// Registration of simbi's subcommands (one file each in src/cli). Private to the cli module.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "simbi/core/matrix.hpp"
#include "simbi/core/text.hpp"
#include "simbi/sim/task.hpp"
#include "simbi/train/training_run.hpp"

namespace simbi::cli {

// A subcommand and what runs after a successful parse. run() is called on every rank and returns
// the exit code; it throws simbi::Error (agreed or not) on failure.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

void add_tasks_command(CLI::App& app, std::vector<Command>& commands);
void add_simulate_command(CLI::App& app, std::vector<Command>& commands);
void add_inspect_command(CLI::App& app, std::vector<Command>& commands);
void add_import_command(CLI::App& app, std::vector<Command>& commands);
void add_train_command(CLI::App& app, std::vector<Command>& commands);
void add_sample_command(CLI::App& app, std::vector<Command>& commands);
void add_run_command(CLI::App& app, std::vector<Command>& commands);
void add_evaluate_command(CLI::App& app, std::vector<Command>& commands);
void add_observe_command(CLI::App& app, std::vector<Command>& commands);
void add_ppc_command(CLI::App& app, std::vector<Command>& commands);
void add_gbi_reference_commands(CLI::App& app, std::vector<Command>& commands);  // gbi-reference, cost-check
void add_abc_command(CLI::App& app, std::vector<Command>& commands);
void add_sbc_command(CLI::App& app, std::vector<Command>& commands);
void add_log_prob_command(CLI::App& app, std::vector<Command>& commands);

// An option that, when given, sets (*target)[key] to its value: for settings that override only what
// the user gives and leave the rest to the model's defaults. *target must outlive the parse.
template <typename T>
void add_json_option(CLI::App* sub, const std::string& name, nlohmann::json* target, const std::string& key,
                     const std::string& help) {
  sub->add_option_function<T>(
      name, [target, key](const T& v) { (*target)[key] = v; }, help);
}

// `simbi train`'s options (train_options.cpp), bound to *request.
void add_train_options(CLI::App* sub, train::TrainRequest* request);

// Parses and runs one simbi command line (without the program name) on every rank; used by main and
// by `simbi run` for its stages. Returns the exit code; throws simbi::Error on failure.
int run_args(const std::vector<std::string>& args);

// Torch intra-op threads for this rank: `requested` when > 0, else 1 (see common.cpp). Returns it.
int set_torch_threads(int requested);

// Where a task comes from: a built-in name, or a user simulator (plugin / command) with its config.
struct TaskSource {
  std::string task;
  std::string simulator_lib;
  std::string simulator_cmd;
  std::string simulator_config;

  void add_options(CLI::App& sub, bool task_required_unless_user);
  bool is_user() const { return !simulator_lib.empty() || !simulator_cmd.empty() || !simulator_config.empty(); }
  bool given() const { return !task.empty() || is_user(); }
  // Builds the task (throws Error naming the offending option). Each rank calls it for its own copy.
  sim::Task make() const;
  // The task's name, dims, prior and labels without starting its simulator (for imported data:
  // a user config needs no library or command here).
  struct Identity {
    std::string name;
    int64_t theta_dim = 0, x_dim = 0;
    std::string prior_json;
    std::vector<std::string> theta_labels;
    std::vector<int64_t> x_shape;  // empty: flat rows
  };
  Identity identity() const;
  // "builtin", "plugin:<path>" or "command:<cmd>" (recorded in the store).
  std::string description() const;
};

}  // namespace simbi::cli
