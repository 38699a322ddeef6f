// `simbi simulate`: fill a store with a task's simulations on all ranks (store/simulation_run).
#include <cstdio>

#include "commands.hpp"
#include "simbi/core/log.hpp"
#include "simbi/core/stop_signal.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/store/simulation_run.hpp"

namespace simbi::cli {

namespace {

int run_simulate(const SimulateArgs& a) {
  const store::SimulationOptions o = a.simulation_options();
  const StopSignalScope stop_signals;  // SIGTERM/SIGUSR1: stop cleanly, killing external simulators
  sim::Task task;
  dist::run_agreed([&] { task = a.source.make(); });
  print_simulation(o, task.name, store::run_simulation(o, task));
  return 0;
}

}  // namespace

store::SimulationOptions SimulateArgs::simulation_options() const {
  store::SimulationOptions o = options;
  o.existing = resume ? store::ExistingOutput::resume
                      : (force ? store::ExistingOutput::overwrite : store::ExistingOutput::refuse);
  o.simulator_description = source.description();
  return o;
}

void print_simulation(const store::SimulationOptions& o, const std::string& task_name,
                      const store::SimulationSummary& s) {
  if (dist::is_root() && s.stopped_by != 0) {
    std::printf("received %s: stopped with %lld/%lld rows of %s complete; finish it with --resume\n",
                signal_name(s.stopped_by), static_cast<long long>(s.store.completed()),
                static_cast<long long>(s.budget), o.out.c_str());
    std::fflush(stdout);
  } else if (dist::is_root()) {
    std::string per_rank;
    for (size_t r = 0; r < s.rows_per_rank.size(); ++r) {
      char busy[32];
      std::snprintf(busy, sizeof busy, " (%.2f s)", s.busy_seconds_per_rank[r]);
      per_rank += (r ? ", " : "") + std::to_string(s.rows_per_rank[r]) + busy;
    }
    std::printf(
        "simulated %lld rows of %s in %.3f s (%s rows/s on %d rank(s); rows (busy time) per rank: %s); failed %lld\n"
        "store %s: %lld/%lld rows complete (ok %lld, failed %lld)%s\n",
        static_cast<long long>(s.rows_this_run), task_name.c_str(), s.seconds,
        log::human_count(s.rows_this_run / std::max(s.seconds, 1e-9)).c_str(), dist::size(), per_rank.c_str(),
        static_cast<long long>(s.failed_this_run), o.out.c_str(), static_cast<long long>(s.store.completed()),
        static_cast<long long>(s.budget), static_cast<long long>(s.store.ok), static_cast<long long>(s.store.failed),
        s.resumed ? " [resumed]" : "");
    std::fflush(stdout);
  }
}

void add_simulate_options(CLI::App* sub, SimulateArgs* args) {
  args->source.add_options(*sub, true);
  add_integer_option(sub, "--budget", args->options.budget, "Number of simulations (rows)", kRows)->required();
  sub->add_option("--out", args->options.out, "Output store (HDF5)")->required();
  add_integer_option(sub, "--seed", args->options.seed, "Global seed; row r depends on (seed, r) only")
      ->capture_default_str();
  add_integer_option(sub, "--chunk-rows", args->options.chunk_rows,
                     "Rows per unit of work and of resume (default: 1024, fewer for very wide x)", kCount);
  auto* resume = sub->add_flag("--resume", args->resume,
                               "Finish an interrupted store, simulating only the chunks not yet written");
  auto* force = sub->add_flag("--force", args->force, "Overwrite an existing output");
  resume->excludes(force);
  sub->add_flag("--break-lock", args->options.break_lock,
                "Take the store's lock even if another job holds it (only when that job is gone)");
  sub->add_option("--progress-seconds", args->options.progress_seconds, "Seconds between progress lines")
      ->capture_default_str();
}

void add_simulate_command(CLI::App& app, std::vector<Command>& commands) {
  auto args = std::make_shared<SimulateArgs>();
  CLI::App* sub = app.add_subcommand("simulate", "Simulate a task's prior predictive into a store (all ranks)");
  sub->add_option("--config", "TOML file with any of these options (keys without dashes; command line wins)");
  add_simulate_options(sub, args.get());
  commands.push_back({sub, [args] { return run_simulate(*args); }});
}

}  // namespace simbi::cli
