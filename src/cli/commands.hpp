// Registration of simbi's subcommands (one file each in src/cli). Private to the cli module.
#pragma once
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <vector>

#include "simbi/core/matrix.hpp"
#include "simbi/core/text.hpp"
#include "simbi/nn/threads.hpp"
#include "simbi/posterior/evaluation.hpp"
#include "simbi/posterior/sampling.hpp"
#include "simbi/sim/task.hpp"
#include "simbi/store/simulation_run.hpp"
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
// All of the above, in `simbi --help` order.
void add_all_commands(CLI::App& app, std::vector<Command>& commands);

// Integer options. CLI11 2.1 converts with strtoll/strtoull: out-of-range values saturate, "-1" wraps to
// 2^64 - 1 for unsigned targets, and "010" reads as octal. Every integer option is therefore declared
// through add_integer_option (or add_json_option), whose check, named kIntegerCheck, accepts a decimal
// integer in [lo, hi], hands CLI11 its canonical form, and refuses anything else with
// "--name: expected an integer in [lo, hi], got V". require_checked_integers enforces this at start-up.
struct IntRange {
  int64_t lo;
  uint64_t hi;
};
inline const char* const kIntegerCheck = "INTEGER";
CLI::Validator integer_in(IntRange range);
// "" when `value` (as integer_in's check takes it) is in range, else the message after "NAME: ".
std::string check_integer(const std::string& value, IntRange range);
// Throws std::logic_error naming any INT/UINT option of `app`'s subcommands declared without the check.
void require_checked_integers(const CLI::App& app);

// The ranges of simbi's integer options (docs/reliability.md). Zero is left in for counts whose command
// refuses it with its own, more specific message; negative and absurd values stop at parsing.
inline constexpr uint64_t kMaxCount = 1000000000;             // 10^9
inline constexpr IntRange kCount{0, kMaxCount};               // samples, epochs, units, steps
inline constexpr IntRange kRows{0, 1000000000000ULL};         // simulations (10^12)
inline constexpr IntRange kDraws{0, 1000000000000000000ULL};  // prior draws (10^18)
inline constexpr IntRange kRowNumber{1, kMaxCount};           // a 1-based row
inline constexpr IntRange kThreads{0, 1024};                  // 0: the command's default

template <typename T>
struct IntegerElement {
  using type = T;
};
template <typename T>
struct IntegerElement<std::vector<T>> {
  using type = T;
};
template <typename T>
constexpr IntRange full_range() {
  using E = typename IntegerElement<T>::type;
  static_assert(std::is_integral_v<E>, "add_integer_option takes integer targets (or vectors of them)");
  return {static_cast<int64_t>(std::numeric_limits<E>::min()), static_cast<uint64_t>(std::numeric_limits<E>::max())};
}

// An integer option (or a list of integers) bound to `target`, refusing values outside `range` (default:
// the target type's own range).
template <typename T>
CLI::Option* add_integer_option(CLI::App* sub, const std::string& name, T& target, const std::string& help,
                                IntRange range = full_range<T>()) {
  const IntRange type = full_range<T>();
  range = {std::max(range.lo, type.lo), std::min(range.hi, type.hi)};
  CLI::Option* o = sub->add_option(name, target, help)->transform(integer_in(range));
  if constexpr (!std::is_integral_v<T>) o->delimiter(',');  // "64,64": each width checked
  return o;
}
template <typename T>
CLI::Option* add_integer_option(CLI::App& sub, const std::string& name, T& target, const std::string& help,
                                IntRange range = full_range<T>()) {
  return add_integer_option(&sub, name, target, help, range);
}

// An option that, when given, sets (*target)[key] to its value: for settings that override only what
// the user gives and leave the rest to the model's defaults. *target must outlive the parse.
// Integer values are checked against `range` as add_integer_option checks them.
template <typename T>
void add_json_option(CLI::App* sub, const std::string& name, nlohmann::json* target, const std::string& key,
                     const std::string& help, IntRange range = {0, 0}) {
  CLI::Option* o = sub->add_option_function<T>(
      name, [target, key](const T& v) { (*target)[key] = v; }, help);
  if constexpr (std::is_integral_v<T>) {
    const IntRange type = full_range<T>();
    o->transform(integer_in(range.hi == 0 ? type : IntRange{std::max(range.lo, type.lo), std::min(range.hi, type.hi)}));
  }
}

// Each stage command's options bound to its typed request (also how `simbi run` reads a config's
// sections), and the lines the command prints for its result (rank 0 prints; the others return).
struct SimulateArgs;
void add_simulate_options(CLI::App* sub, SimulateArgs* args);
void print_simulation(const store::SimulationOptions& options, const std::string& task_name,
                      const store::SimulationSummary& summary);
void add_train_options(CLI::App* sub, train::TrainRequest* request);  // train_options.cpp
void print_training(const train::TrainRequest& request, const train::TrainOutcome& outcome);
struct SampleArgs {
  posterior::SamplingRequest request;
  int threads = 0;
  bool no_diagnostics = false;
  posterior::SamplingRequest sampling_request() const;  // request with the diagnostics option applied
};
void add_sample_options(CLI::App* sub, SampleArgs* args);
void print_samples(int64_t num_samples, const posterior::WrittenSamples& written);
void add_evaluate_options(CLI::App* sub, posterior::EvaluationRequest* request);
void print_evaluation(const posterior::Evaluation& evaluation);

// Parses and runs one simbi command line (without the program name) on every rank; used by main and
// by `simbi run` for its stages. Returns the exit code; throws simbi::Error on failure.
int run_args(const std::vector<std::string>& args);

using nn::set_torch_threads;  // nn/threads.hpp

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

// `simbi simulate`'s options.
struct SimulateArgs {
  TaskSource source;
  store::SimulationOptions options;
  bool resume = false;
  bool force = false;
  // options with the existing-output mode (--resume / --force) and the simulator's description set.
  store::SimulationOptions simulation_options() const;
};

}  // namespace simbi::cli
