// User simulators as tasks: the TOML file declaring a user simulator's name, dims and prior, and
// make_user_task(), the one entry point turning it plus a plugin or a command into a sim::Task.
// Contract: plain functions, no shared state (a plugin library's calls are serialised by the plugin).
#pragma once
#include <cstdint>
#include <istream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "simbi/sim/command_simulator.hpp"
#include "simbi/sim/task.hpp"

namespace simbi::sim {

// What a simulator config file declares (docs/user_simulators.md):
//   name = "damped_oscillator"        # optional, default: the file's stem; recorded as the task name
//   description = "..."               # optional, one line for listings
//   theta_dim = 2                      # required, >= 1
//   x_dim = 4                          # required, >= 1
//   theta_labels = ["omega", "zeta"]   # optional, theta_dim strings
//   library = "libfoo.so"              # optional: the plugin (relative to the config file's folder)
//   command = "python3 sim.py"         # optional: the external command (run in the config's folder)
//   timeout_s = 600                    # optional: per-call (batch) limit for a command (0: none)
//   on_timeout = "stop" | "fail_row"   # optional, default "stop": what a call past timeout_s does
//   [prior]  type = "uniform" | "gaussian" | "lognormal" and its arrays (see prior_from_json)
//   [simulator]  free-form settings for the user's own code; simbi ignores this table
struct UserSimulatorConfig {
  std::string path;  // where it was read from (as given; "" when parsed from a stream)
  std::string name;
  std::string description;
  int64_t theta_dim = 0;
  int64_t x_dim = 0;
  std::vector<std::string> theta_labels;  // empty when not given
  nlohmann::json prior;                   // a spec prior_from_json() accepts, already validated
  std::string library;                    // resolved against the config's folder; "" when not given
  std::string command;                    // as written; "" when not given
  double timeout_s = 0.0;
  OnTimeout on_timeout = OnTimeout::stop;
};

// Parses a config; `where` names the source in errors (normally the path), `default_name` is used when
// the file has no 'name'. Throws Error(format) naming `where` and the field that is wrong.
UserSimulatorConfig parse_user_simulator_config(std::istream& in, const std::string& where,
                                                const std::string& default_name = "user_simulator");
// Reads and parses a file (Error(io) when it cannot be read); relative 'library' paths are resolved
// against the file's folder.
UserSimulatorConfig load_user_simulator_config(const std::string& path);

struct UserSimulatorOptions {
  std::string config_path;  // required: the simulator config file (--simulator-config)
  std::string library;      // --simulator-lib: a plugin; overrides the config's 'library'/'command'
  std::string command;      // --simulator-cmd: an external command; overrides the config's too
  double timeout_s = -1.0;  // per-batch limit for a command; < 0: the config's timeout_s
};

// The entry point for the CLI: reads the config, loads the plugin (checking its dims against the
// config) or prepares the command, and returns a Task (name and labels from the config, its prior,
// the simulator). Exactly one of library/command must come from the options or else the config.
// Throws simbi::Error (invalid_argument for inconsistent options; io/format/runtime from loading).
Task make_user_task(const UserSimulatorOptions& options);

}  // namespace simbi::sim
