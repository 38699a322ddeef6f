// `simbi observe`: make observations x_o of a built-in task — specified (prior-predictive draws, θ kept)
// or misspecified (docs/tasks_gbi.md; sim/observations.hpp) — and write them as an observation CSV
// (header data_1.., one observation per row: what `simbi sample --observation` reads). Rank 0 does the
// work; every rank agrees on the outcome (one error line, non-zero exit everywhere).
#include <cstdio>

#include "commands.hpp"
#include "simbi/core/log.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/sim/observations.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/table.hpp"

namespace simbi::cli {

namespace {

struct ObserveArgs {
  std::string task, kind, out, theta_out;
  sim::ObserveOptions options;
};

int run_observe(const ObserveArgs& a) {
  sim::Task task;
  sim::ObservationKind kind{};
  dist::run_agreed([&] {
    kind = sim::parse_observation_kind(a.kind);
    require(a.options.count > 0, ErrorKind::invalid_argument,
            "--count must be a positive number of observations, got " + std::to_string(a.options.count));
    require(a.options.box_simulations >= 2, ErrorKind::invalid_argument,
            "--box-simulations must be at least 2, got " + std::to_string(a.options.box_simulations));
    require(a.options.max_steps > 0, ErrorKind::invalid_argument,
            "--max-steps must be positive, got " + std::to_string(a.options.max_steps));
    require(a.theta_out.empty() || a.theta_out != a.out, ErrorKind::invalid_argument,
            "--theta-out and --out name the same file " + a.out);
    task = sim::make_task(a.task);
    if (dist::is_root()) store::require_writable_output(a.out, "--out");
    if (dist::is_root() && !a.theta_out.empty()) store::require_writable_output(a.theta_out, "--theta-out");
  });
  sim::Observations obs;
  dist::run_agreed([&] {
    if (!dist::is_root()) return;
    obs = sim::make_observations(task, kind, a.options);
    store::Table x;
    for (int64_t k = 1; k <= task.x_dim(); ++k) x.header.push_back("data_" + std::to_string(k));
    x.values = obs.x;
    store::write_csv(a.out, x);
    if (!a.theta_out.empty()) store::write_csv(a.theta_out, store::Table{task.theta_labels, obs.theta});
  });
  if (dist::is_root()) {
    std::string how;
    if (kind == sim::ObservationKind::misspecified && task.misspecification == sim::Misspecification::box_walk)
      how = " (outside the box of " + std::to_string(obs.box_rows) + " prior-predictive simulations after at most " +
            std::to_string(obs.max_walk_steps) + " walk steps)";
    else if (kind == sim::ObservationKind::misspecified)
      how = " (the task's misspecified simulator)";
    if (obs.failed_draws > 0) how += "; " + std::to_string(obs.failed_draws) + " failed simulations redrawn";
    std::printf("observe: %lld %s observations of %s%s -> %s%s\n", static_cast<long long>(obs.x.rows()),
                sim::to_string(kind), task.name.c_str(), how.c_str(), a.out.c_str(),
                a.theta_out.empty() ? "" : (", θ -> " + a.theta_out).c_str());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

void add_observe_command(CLI::App& app, std::vector<Command>& commands) {
  auto a = std::make_shared<ObserveArgs>();
  CLI::App* sub = app.add_subcommand("observe", "Make specified or misspecified observations of a task (CSV)");
  sub->add_option("--config", "TOML file with any of these options (keys without dashes; command line wins)");
  sub->add_option("--task", a->task, "Built-in task name (see `simbi tasks`)")->required();
  sub->add_option("--kind", a->kind, "specified (prior-predictive draws) or misspecified (docs/tasks_gbi.md)")
      ->required();
  add_integer_option(sub, "--count", a->options.count, "Number of observations", kCount)->capture_default_str();
  add_integer_option(sub, "--seed", a->options.seed, "Seed of the observations' random streams")->capture_default_str();
  sub->add_option("--out", a->out, "Output CSV of x (header data_1.., one observation per row)")->required();
  sub->add_option("--theta-out", a->theta_out,
                  "Also write the θ of each observation (misspecified: the θ its walk started from)");
  add_integer_option(sub, "--box-simulations", a->options.box_simulations,
                     "Misspecified (box walk): prior-predictive simulations that define the box", kCount)
      ->capture_default_str();
  add_integer_option(sub, "--max-steps", a->options.max_steps, "Misspecified (box walk): steps before giving up",
                     kCount)
      ->capture_default_str();
  commands.push_back({sub, [a] { return run_observe(*a); }});
}

}  // namespace simbi::cli
