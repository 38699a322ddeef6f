// `simbi ppc`: the posterior-predictive distance of posterior samples (posterior/predictive.hpp); rank 0
// prints one line and writes the JSON (and, with --out-sims, the simulations).
#include <cstdio>

#include "commands.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/posterior/predictive.hpp"

namespace simbi::cli {

void add_ppc_command(CLI::App& app, std::vector<Command>& commands) {
  auto a = std::make_shared<posterior::PredictiveRequest>();
  CLI::App* sub = app.add_subcommand(
      "ppc", "Posterior-predictive distance: simulate one x per posterior sample, average the distance to x_o");
  sub->add_option("--task", a->task, "Built-in task whose simulator and distance to use")->required();
  sub->add_option("--samples", a->samples, "Posterior samples (CSV from simbi sample, or FILE.h5[:/dataset])")
      ->required();
  sub->add_option("--observation", a->observation, "Observations (CSV or FILE.h5[:/dataset])")->required();
  add_integer_option(sub, "--observation-row", a->observation_row, "Which observation row (1-based)", kRowNumber)
      ->capture_default_str();
  auto* distance = sub->add_option("--distance", a->distance, "mse | mmd2 | ... (default: the task's own distance)");
  sub->add_option("--model", a->model,
                  "Take the distance from this ACE model file (with its fitted scales: what a z-scored MAE needs)")
      ->excludes(distance);
  add_integer_option(sub, "--max-samples", a->max_samples, "Use at most this many samples (0 = all)", kCount);
  add_integer_option(sub, "--seed", a->seed, "Seed of the simulations")->capture_default_str();
  sub->add_option("--out", a->out, "Also write the result as JSON");
  sub->add_option("--out-sims", a->out_sims,
                  "Also write the simulated x as CSV (header data_1.., one row per sample in order; a failed "
                  "simulation is a row of nan)");
  commands.push_back({sub, [a] {
                        const posterior::PredictiveDistance r = posterior::predictive_distance(*a);
                        if (dist::is_root()) {
                          std::printf(
                              "posterior-predictive %s distance of %s: %.6g ± %.2g (std %.4g over %lld "
                              "simulations, %lld failed)%s\n",
                              r.distance.c_str(), a->samples.c_str(), r.mean, r.sem, r.sd,
                              static_cast<long long>(r.used), static_cast<long long>(r.failed),
                              a->out.empty() ? "" : (" -> " + a->out).c_str());
                          std::fflush(stdout);
                        }
                        return 0;
                      }});
}

}  // namespace simbi::cli
