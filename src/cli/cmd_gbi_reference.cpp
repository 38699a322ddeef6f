// `simbi gbi-reference` (the exact GBI posterior of a task with an exact cost) and `simbi cost-check` (an
// ACE model's learned cost against the exact one): posterior/gbi_reference.hpp.
#include <cstdio>

#include "commands.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/posterior/gbi_reference.hpp"

namespace simbi::cli {

void add_gbi_reference_commands(CLI::App& app, std::vector<Command>& commands) {
  auto r = std::make_shared<posterior::GbiReferenceRequest>();
  CLI::App* sub = app.add_subcommand(
      "gbi-reference",
      "Exact GBI posterior p(θ)·exp(−β·C(θ, x_o)) with the exact cost (tasks with one), by rejection or MCMC");
  sub->add_option("--task", r->task, "gbi_uniform_1d | two_moons | gbi_linear_gaussian")->required();
  sub->add_option("--observation", r->observation, "Observations (CSV or FILE.h5[:/dataset])")->required();
  sub->add_option("--beta", r->betas, "Inverse temperature(s), e.g. 10,100")->delimiter(',')->required();
  add_integer_option(sub, "--num-samples", r->num_samples, "Draws per observation and β", kCount)
      ->capture_default_str();
  sub->add_option("--method", r->method,
                  "rejection (exact; from the prior) | mcmc | auto (rejection when the pilot's acceptance estimate "
                  "says --max-draws suffices twice over, else mcmc)")
      ->capture_default_str();
  sub->add_option("--max-draws", r->max_draws, "Rejection: most prior draws per observation and β (all ranks)")
      ->capture_default_str();
  add_integer_option(sub, "--pilot-draws", r->pilot_draws,
                     "Rejection: prior draws for the cost's lower bound and the acceptance estimate", kDraws)
      ->capture_default_str();
  add_integer_option(sub, "--chains", r->chains, "MCMC chains (split over the ranks)", kCount)->capture_default_str();
  add_integer_option(sub, "--warmup", r->warmup, "Warm-up sweeps per chain", kCount)->capture_default_str();
  add_integer_option(sub, "--thin", r->thin, "Keep every k-th sweep", kCount)->capture_default_str();
  add_integer_option(sub, "--seed", r->seed, "Seed")->capture_default_str();
  sub->add_option("--out", r->out, "Output CSV; written as <stem>_obs<k>_beta<β>.csv")->required();
  commands.push_back({sub, [r] {
                        posterior::sample_exact_gbi(*r, [](const std::string& line) {
                          std::printf("%s\n", line.c_str());
                          std::fflush(stdout);
                        });
                        return 0;
                      }});

  auto c = std::make_shared<posterior::CostCheckRequest>();
  CLI::App* check = app.add_subcommand(
      "cost-check", "An ACE model's learned cost vs the exact cost at prior draws (Pearson r, RMSE)");
  check->add_option("--model", c->model, "ACE model file")->required();
  check->add_option("--observation", c->observation, "Observations (CSV or FILE.h5[:/dataset])")->required();
  add_integer_option(check, "--num-theta", c->num_theta, "Prior draws to compare at", kCount)->capture_default_str();
  add_integer_option(check, "--seed", c->seed, "Seed of the prior draws")->capture_default_str();
  check->add_option("--out", c->out, "Also write the figures as JSON");
  commands.push_back({check, [c] {
                        for (const posterior::CostCheck& k : posterior::check_learned_cost(*c))
                          if (dist::is_root())
                            std::printf(
                                "observation %lld: learned vs exact cost at %lld prior draws: Pearson r %.4f, "
                                "RMSE %.4g (mean exact cost %.4g)\n",
                                static_cast<long long>(k.observation), static_cast<long long>(c->num_theta),
                                k.pearson_r, k.rmse, k.mean_exact_cost);
                        std::fflush(stdout);
                        return 0;
                      }});
}

}  // namespace simbi::cli
