// `simbi sbc`: simulation-based calibration, expected coverage and posterior-mean accuracy of a model's
// posterior or of rejection ABC (posterior/calibration.hpp; docs/sbc.md). Rank 0 prints a one-paragraph
// summary and writes the JSON.
#include <cstdio>

#include "commands.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/posterior/calibration.hpp"

namespace simbi::cli {

namespace {

struct SbcArgs {
  posterior::SbcRequest request;
  TaskSource source;  // --task / --simulator-*: the task of the test pairs
  int threads = 0;
  SbcArgs() {
    // E&E's per-test MCMC defaults: fewer, shorter chains than `simbi sample` (one rank per test).
    request.sampling.mcmc.chains = 8;
    request.sampling.mcmc.warmup = 200;
    request.sampling.mcmc.thin = 5;
  }
};

}  // namespace

void add_sbc_command(CLI::App& app, std::vector<Command>& commands) {
  auto a = std::make_shared<SbcArgs>();
  CLI::App* sub = app.add_subcommand("sbc",
                                     "Simulation-based calibration, expected coverage and posterior-mean accuracy of a "
                                     "model's posterior or of rejection ABC (docs/sbc.md)");
  sub->add_option("--config", "TOML file with any of these options (keys without dashes; command line wins)");
  sub->add_option("--model", a->request.model,
                  "Model file: CP-VAE, UP-VAE, E&E, NPE, FMPE or NPSE (not ACE: its GBI posterior is not Bayesian)");
  sub->add_option("--abc-data", a->request.abc_data,
                  "Instead of a model: the rejection-ABC baseline on this store (accepts the L stored simulations "
                  "nearest to x*)");
  sub->add_option("--distance", a->request.distance,
                  "ABC: mse | mmd2 | zmae (z-scored MAE, scales fitted on the store)")
      ->capture_default_str();
  sub->add_option("--sampler", a->request.sampling.sampler,
                  "E&E: auto (default) | rejection | slice | rwm (as simbi sample)");
  add_integer_option(sub, "--rejection-pilot", a->request.sampling.rejection_pilot,
                     "E&E: prior draws tried before --sampler auto decides", kDraws)
      ->capture_default_str();
  sub->add_option("--min-acceptance", a->request.sampling.min_acceptance,
                  "E&E: lowest rejection acceptance rate --sampler auto accepts")
      ->capture_default_str();
  add_integer_option(sub, "--max-draws", a->request.sampling.max_draws, "E&E: most prior draws for rejection per test",
                     kDraws)
      ->capture_default_str();
  add_integer_option(sub, "--chains", a->request.sampling.mcmc.chains, "E&E MCMC: chains per test", kCount)
      ->capture_default_str();
  add_integer_option(sub, "--warmup", a->request.sampling.mcmc.warmup, "E&E MCMC: warm-up sweeps per chain", kCount)
      ->capture_default_str();
  add_integer_option(sub, "--thin", a->request.sampling.mcmc.thin, "E&E MCMC: keep every k-th sweep", kCount)
      ->capture_default_str();
  add_integer_option(sub, "--num-tests", a->request.num_tests, "Test pairs (theta*, x*) from the prior predictive (M)",
                     kCount)
      ->capture_default_str();
  add_integer_option(sub, "--num-posterior-samples", a->request.num_posterior_samples,
                     "Posterior samples per test pair (L)", kCount)
      ->capture_default_str();
  add_integer_option(sub, "--seed", a->request.seed, "Seed of the test pairs and the posterior draws")
      ->capture_default_str();
  sub->add_option("--alpha", a->request.alpha,
                  "Family-wise level of the uniformity tests (Bonferroni over dims + joint)")
      ->capture_default_str();
  add_integer_option(sub, "--bins", a->request.bins,
                     "Rank-histogram bins (0: the most, up to 20, with >= 5 expected per bin)", kCount)
      ->capture_default_str();
  sub->add_option("--out", a->request.out, "Write ranks, histograms, p-values and coverage curves as JSON");
  add_integer_option(sub, "--threads", a->threads, "Torch threads per rank (default 1)", kThreads);
  a->source.add_options(*sub, false);
  sub->get_option("--task")->description(
      "Built-in task whose prior predictive to use (default: the model's task; for user simulators give "
      "--simulator-lib/--simulator-cmd with --simulator-config)");
  commands.push_back({sub, [a] {
                        posterior::SbcRequest r = a->request;
                        r.threads = set_torch_threads(a->threads);
                        if (a->source.given()) r.make_task = [source = a->source] { return source.make(); };
                        const posterior::SbcReport report = posterior::run_sbc(r);
                        if (dist::is_root()) {
                          std::printf("%s%s\n", report.summary.c_str(), r.out.empty() ? "" : (" -> " + r.out).c_str());
                          std::fflush(stdout);
                        }
                        return 0;
                      }});
}

}  // namespace simbi::cli
