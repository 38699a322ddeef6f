#include "simbi/cli/app.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <sstream>

#include "commands.hpp"
#include "config_args.hpp"
#include "simbi/core/log.hpp"
#include "simbi/core/stop_signal.hpp"
#include "simbi/core/version.hpp"
#include "simbi/dist/world.hpp"

namespace simbi::cli {

void add_all_commands(CLI::App& app, std::vector<Command>& commands) {
  add_tasks_command(app, commands);
  add_simulate_command(app, commands);
  add_observe_command(app, commands);
  add_import_command(app, commands);
  add_inspect_command(app, commands);
  add_train_command(app, commands);
  add_sample_command(app, commands);
  add_evaluate_command(app, commands);
  add_ppc_command(app, commands);
  add_gbi_reference_commands(app, commands);
  add_abc_command(app, commands);
  add_sbc_command(app, commands);
  add_log_prob_command(app, commands);
  add_run_command(app, commands);
}

int run_args(const std::vector<std::string>& raw_args) {
  CLI::App app{"simbi: simulation-based inference on HPC clusters (simulate, train, sample, evaluate)", "simbi"};
  app.require_subcommand(1);
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "error: " + std::string(e.what()) + " (see `simbi <command> --help`)\n";
  });
  // An option given twice (config file, then command line) takes its last value.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_version_flag("--version", std::string("simbi ") + kVersion);
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "Only warnings and errors on stderr");
  std::vector<Command> commands;
  add_all_commands(app, commands);
  require_checked_integers(app);
  try {
    std::vector<std::string> args;
    dist::run_agreed([&] {
      check_command_name(raw_args, app);
      args = expand_config_args(raw_args, app);
    });
    std::reverse(args.begin(), args.end());  // CLI11 takes the vector in reverse order
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    // Every rank parsed the same arguments and failed the same way: print once.
    if (dist::is_root()) return app.exit(e);
    std::ostringstream sink;
    return app.exit(e, sink, sink);
  }
  log::set_quiet(quiet);
  for (const Command& c : commands)
    if (c.app->parsed()) return c.run();
  return 2;
}

namespace {

// The command word (the first argument that is not an option; the top-level options take no value),
// "" when there is none: help, version or a parse error.
std::string command_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (argv[i][0] != '-' && argv[i][0] != '\0') return argv[i];
  return "";
}

}  // namespace

// Commands that never need MPI when run by hand; under an MPI launcher every command starts MPI.
bool needs_mpi(int argc, char** argv) {
  if (dist::launched_by_mpi()) return true;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") return false;  // help only
  const std::string command = command_word(argc, argv);
  return !command.empty() && command != "tasks" && command != "inspect" && command != "evaluate";
}

int run_main(int argc, char** argv) {
  // `simbi train` treats SIGTERM/SIGUSR1 as "checkpoint and stop" (core/stop_signal.hpp) from its first
  // moment: starting MPI and reading the store take seconds, and a batch system's signal in that time
  // must not kill the job. The trainer polls the flag at its first step.
  std::optional<StopSignalScope> stop_signals;
  if (command_word(argc, argv) == "train") stop_signals.emplace();
  try {
    dist::World world(&argc, &argv, needs_mpi(argc, argv));
    try {
      return run_args(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const dist::AgreedError& e) {
      // Every rank has the same error: one line from rank 0, a non-zero exit everywhere.
      if (dist::is_root()) log::error_line(e.what());
      return 1;
    } catch (const std::exception& e) {
      // A failure on this rank only: other ranks may wait in a collective, so end them all.
      log::error_line(dist::size() > 1 ? "rank " + std::to_string(dist::rank()) + ": " + e.what() : e.what());
      dist::abort_all(1);
    }
  } catch (const std::exception& e) {
    log::error_line(e.what());
    return 1;
  }
}

}  // namespace simbi::cli
