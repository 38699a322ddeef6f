// `simbi tasks`: the built-in tasks with their dimensions and priors.
#include <cstdio>

#include "commands.hpp"
#include "simbi/dist/world.hpp"

namespace simbi::cli {

void add_tasks_command(CLI::App& app, std::vector<Command>& commands) {
  CLI::App* sub = app.add_subcommand("tasks", "List the built-in tasks with their dimensions and priors");
  commands.push_back({sub, [] {
                        if (!dist::is_root()) return 0;
                        std::printf("%-24s %6s %6s  %-40s %s\n", "task", "dim θ", "dim x", "prior", "description");
                        for (const auto& info : sim::builtin_tasks()) {
                          const sim::Task t = info.make();
                          std::printf("%-24s %6lld %6lld  %-40s %s\n", t.name.c_str(),
                                      static_cast<long long>(t.theta_dim()), static_cast<long long>(t.x_dim()),
                                      t.prior->describe().c_str(), t.description.c_str());
                        }
                        return 0;
                      }});
}

}  // namespace simbi::cli
