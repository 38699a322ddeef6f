// `simbi sample`: draw posterior samples from a trained model for each observation row, whatever the
// estimator (posterior/posterior.hpp): direct draws split over the ranks (CP-VAE, UP-VAE), GBI posteriors
// for each --beta by MCMC (ACE), MCMC on the learned likelihood (NLE), exact rejection or MCMC (E&E). Rank 0 writes one
// CSV per observation (and β) and prints one line each.
#include <cstdio>

#include "commands.hpp"
#include "simbi/posterior/sampling.hpp"

namespace simbi::cli {

posterior::SamplingRequest SampleArgs::sampling_request() const {
  posterior::SamplingRequest r = request;
  r.options.mcmc.diagnostics = !no_diagnostics;
  return r;
}

void print_samples(int64_t num_samples, const posterior::WrittenSamples& w) {
  std::printf("sampled %lld draws for observation %lld%s -> %s\n", static_cast<long long>(num_samples),
              static_cast<long long>(w.observation), w.draws.summary.c_str(), w.path.c_str());
  std::fflush(stdout);
}

void add_sample_options(CLI::App* sub, SampleArgs* a) {
  sub->add_option("--model", a->request.model, "Model file (model.pt)")->required();
  sub->add_option("--observation", a->request.observation,
                  "Observations: CSV (one per row, header data_1..) or file.h5[:/dataset]")
      ->required();
  add_integer_option(sub, "--num-samples", a->request.options.num_samples, "Samples per observation", kCount)
      ->capture_default_str();
  sub->add_option("--task", a->request.task,
                  "Refuse a model trained on another task (a config's top-level `task` sets it)");
  sub->add_option("--out", a->request.out, "Output CSV (with several observations: <stem>_obs<k>.csv)")->required();
  add_integer_option(sub, "--seed", a->request.options.seed, "Seed")->capture_default_str();
  sub->add_flag("--reject-outside-prior", a->request.options.reject_outside_prior,
                "Keep only draws inside the prior's support (reports the acceptance rate)");
  sub->add_flag("--iid", a->request.options.iid_observations,
                "NLE models: the observation rows are i.i.d. draws for one θ: one posterior for all of them (--out)");
  sub->add_option("--beta", a->request.options.betas,
                  "ACE models: inverse temperature(s) of the GBI posterior, e.g. 10,100,1000 "
                  "(with several: <stem>_beta<β>.csv)")
      ->delimiter(',');
  sub->add_option(
      "--sampler", a->request.options.sampler,
      "ACE/NLE models: MCMC sampler, slice (default) | rwm; E&E models: auto (default: exact rejection, MCMC "
      "when its acceptance is below --min-acceptance) | rejection | slice | rwm");
  add_integer_option(sub, "--rejection-pilot", a->request.options.rejection_pilot,
                     "E&E: prior draws tried before --sampler auto decides", kDraws)
      ->capture_default_str();
  sub->add_option("--min-acceptance", a->request.options.min_acceptance,
                  "E&E: lowest rejection acceptance rate --sampler auto accepts")
      ->capture_default_str();
  add_integer_option(sub, "--max-draws", a->request.options.max_draws, "E&E: most prior draws for rejection", kDraws)
      ->capture_default_str();
  add_integer_option(sub, "--chains", a->request.options.mcmc.chains, "ACE/NLE/E&E MCMC: chains (split over the ranks)",
                     kCount)
      ->capture_default_str();
  add_integer_option(sub, "--warmup", a->request.options.mcmc.warmup, "MCMC: warm-up sweeps per chain", kCount)
      ->capture_default_str();
  add_integer_option(sub, "--thin", a->request.options.mcmc.thin, "MCMC: keep every k-th sweep", kCount)
      ->capture_default_str();
  add_integer_option(sub, "--init-candidates", a->request.options.mcmc.init_candidates,
                     "MCMC: prior candidates per chain for the resampling initialisation", kCount)
      ->capture_default_str();
  add_integer_option(sub, "--mode-jumps", a->request.options.mcmc.mode_jumps,
                     "MCMC: independence proposals per chain every --thin sweeps after warm-up, from a kernel "
                     "density over all chains' states, so chains move between separated modes (0 = off)",
                     kCount)
      ->capture_default_str();
  add_integer_option(sub, "--modes", a->request.options.mcmc.mode_clusters,
                     "MCMC: report how the chains share this many modes (k-means on the pooled draws): a "
                     "summary in the report line and each chain's shares in <out stem>_modes.csv (0 = off)",
                     kCount)
      ->capture_default_str();
  nlohmann::json* ode = &a->request.options.ode_solver;
  add_json_option<std::string>(sub, "--solver", ode, "solver",
                               "FMPE/NPSE: ODE solver, rk4 | dopri5, or for NPSE pc (predictor–corrector SDE "
                               "sampler) (default: the model's)");
  add_json_option<int64_t>(sub, "--ode-steps", ode, "steps", "FMPE/NPSE rk4 and pc: steps (default: the model's)",
                           kCount);
  add_json_option<int64_t>(sub, "--corrector-steps", ode, "corrector_steps",
                           "NPSE pc: Langevin corrector steps after each predictor step", kCount);
  add_json_option<double>(sub, "--snr", ode, "snr", "NPSE pc: the corrector's signal-to-noise ratio");
  add_json_option<double>(sub, "--rtol", ode, "rtol", "FMPE/NPSE dopri5: relative tolerance");
  add_json_option<double>(sub, "--atol", ode, "atol", "FMPE/NPSE dopri5: absolute tolerance");
  sub->add_flag("--no-diagnostics", a->no_diagnostics,
                "MCMC: skip R-hat and ESS (which need at least 2 chains and 8 draws per chain)");
  add_integer_option(sub, "--threads", a->threads,
                     "Torch threads per rank (default 1: small networks run fastest single-threaded; scale with ranks)",
                     kThreads);
}

void add_sample_command(CLI::App& app, std::vector<Command>& commands) {
  auto a = std::make_shared<SampleArgs>();
  CLI::App* sub = app.add_subcommand("sample", "Draw posterior samples from a trained model (split over ranks)");
  sub->add_option("--config", "TOML file with any of these options (keys without dashes; command line wins)");
  add_sample_options(sub, a.get());
  commands.push_back({sub, [a] {
                        set_torch_threads(a->threads);
                        const posterior::SamplingRequest request = a->sampling_request();
                        posterior::sample_to_files(request, [&](const posterior::WrittenSamples& w) {
                          print_samples(request.options.num_samples, w);
                        });
                        return 0;
                      }});
}

}  // namespace simbi::cli
