// Registration of simbi's subcommands (one file each in src/cli). Private to the cli module.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "simbi/sim/task.hpp"

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
  };
  Identity identity() const;
  // "builtin", "plugin:<path>" or "command:<cmd>" (recorded in the store).
  std::string description() const;
};

}  // namespace simbi::cli
