// `simbi inspect FILE`: describe a file simbi wrote (for now: simulation stores).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/sim/prior.hpp"
#include "simbi/store/sim_store.hpp"

namespace simbi::cli {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

void describe_store(const std::string& path, bool as_json) {
  const store::SimStore s = store::SimStore::open_read(path);
  const store::SimStoreMeta& m = s.meta();
  const store::StatusCounts c = store::count_status(s.read_status());
  std::string prior = "(unknown)";
  if (!m.prior_json.empty()) prior = sim::prior_from_json(nlohmann::json::parse(m.prior_json), path)->describe();
  if (as_json) {
    nlohmann::json j = {{"file", path},          {"format", store::kSimsFormat}, {"version", m.version},
                        {"task", m.task},        {"simulator", m.simulator},     {"theta_dim", m.theta_dim},
                        {"x_dim", m.x_dim},      {"budget", m.budget},           {"chunk_rows", m.chunk_rows},
                        {"seed", m.seed},        {"completed", c.completed()},   {"ok", c.ok},
                        {"failed", c.failed},    {"not_simulated", c.not_simulated},
                        {"theta_labels", m.theta_labels}, {"prior", prior},
                        {"created", m.created},  {"simbi_version", m.simbi_version}};
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  const double pct = 100.0 * static_cast<double>(c.completed()) / static_cast<double>(m.budget);
  std::printf("%s: simbi simulation store (format %s v%lld)\n", path.c_str(), store::kSimsFormat,
              static_cast<long long>(m.version));
  std::printf("  task          %s (simulator: %s)\n", m.task.c_str(), m.simulator.c_str());
  std::printf("  theta_dim     %lld  [%s]\n", static_cast<long long>(m.theta_dim), join(m.theta_labels).c_str());
  std::printf("  x_dim         %lld\n", static_cast<long long>(m.x_dim));
  std::printf("  prior         %s\n", prior.c_str());
  std::printf("  budget        %lld rows (chunks of %lld)\n", static_cast<long long>(m.budget),
              static_cast<long long>(m.chunk_rows));
  std::printf("  completed     %lld / %lld (%.1f%%): ok %lld, failed %lld, not simulated %lld\n",
              static_cast<long long>(c.completed()), static_cast<long long>(m.budget), pct,
              static_cast<long long>(c.ok), static_cast<long long>(c.failed),
              static_cast<long long>(c.not_simulated));
  std::printf("  seed          %llu\n", static_cast<unsigned long long>(m.seed));
  std::printf("  created       %s by simbi %s\n", m.created.c_str(), m.simbi_version.c_str());
  if (c.not_simulated > 0)
    std::printf("  status        INCOMPLETE: finish it with `simbi simulate ... --resume`\n");
}

}  // namespace

void add_inspect_command(CLI::App& app, std::vector<Command>& commands) {
  auto file = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand("inspect", "Describe a file simbi wrote (simulation store)");
  sub->add_option("file", *file, "The file")->required();
  sub->add_flag("--json", *as_json, "Print JSON instead of text");
  commands.push_back({sub, [file, as_json] {
                        dist::run_agreed([&] {
                          if (dist::is_root()) describe_store(*file, *as_json);
                        });
                        return 0;
                      }});
}

}  // namespace simbi::cli
