// TaskSource: the options that name a task (built-in or a user simulator) and building it.
#include "commands.hpp"
#include "simbi/core/error.hpp"
#include "simbi/sim/user_simulator_config.hpp"

namespace simbi::cli {

void TaskSource::add_options(CLI::App& sub, bool task_required_unless_user) {
  auto* task_opt = sub.add_option("--task", task, "Built-in task name (see `simbi tasks`)");
  auto* lib_opt =
      sub.add_option("--simulator-lib", simulator_lib,
                     "User simulator: shared library with the simbi plugin C ABI (docs/user_simulators.md)");
  auto* cmd_opt = sub.add_option("--simulator-cmd", simulator_cmd,
                                 "User simulator: command speaking the simbi batch protocol on stdin/stdout");
  sub.add_option("--simulator-config", simulator_config,
                 "TOML file declaring a user simulator's name, dims and prior (docs/user_simulators.md)");
  lib_opt->excludes(cmd_opt);
  task_opt->excludes(lib_opt)->excludes(cmd_opt);
  (void)task_required_unless_user;
}

std::string TaskSource::description() const {
  if (!simulator_lib.empty()) return "plugin:" + simulator_lib;
  if (!simulator_cmd.empty()) return "command:" + simulator_cmd;
  if (!simulator_config.empty()) {
    const sim::UserSimulatorConfig c = sim::load_user_simulator_config(simulator_config);
    return c.library.empty() ? "command:" + c.command : "plugin:" + c.library;
  }
  return "builtin";
}

TaskSource::Identity TaskSource::identity() const {
  if (!simulator_config.empty() && simulator_lib.empty() && simulator_cmd.empty()) {
    const sim::UserSimulatorConfig c = sim::load_user_simulator_config(simulator_config);
    return {c.name,
            c.theta_dim,
            c.x_dim,
            c.prior.dump(),
            c.theta_labels.empty() ? sim::default_theta_labels(c.theta_dim) : c.theta_labels,
            {}};
  }
  const sim::Task t = make();
  return {t.name, t.theta_dim(), t.x_dim(), t.prior->to_json().dump(), t.theta_labels, t.x_shape};
}

sim::Task TaskSource::make() const {
  if (is_user()) {
    require(!simulator_config.empty(), ErrorKind::invalid_argument,
            "--simulator-config is required with --simulator-lib/--simulator-cmd (it declares the prior and dims)");
    return sim::make_user_task({simulator_config, simulator_lib, simulator_cmd, -1.0});
  }
  require(!task.empty(), ErrorKind::invalid_argument,
          "--task is required (or --simulator-lib/--simulator-cmd with --simulator-config); see `simbi tasks`");
  return sim::make_task(task);
}

}  // namespace simbi::cli
