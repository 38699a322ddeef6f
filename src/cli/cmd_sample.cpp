// `simbi sample`: draw posterior samples from a trained model for each observation row; the count is
// split over the ranks and gathered on rank 0. Optional rejection to the prior's support. ACE models give
// GBI posteriors for each --beta by MCMC on the learned cost, the chains split over the ranks. E&E models
// sample p(θ)·exp(s(x_o, θ)) exactly by rejection from the prior (the critic's bound 1/τ), or by MCMC
// when the acceptance rate is too low.
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "commands.hpp"
#include "ene_posterior.hpp"
#include "simbi/core/log.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/estimators/ace.hpp"
#include "simbi/estimators/ene.hpp"
#include "simbi/estimators/estimator.hpp"
#include "simbi/mcmc/potential.hpp"
#include "simbi/mcmc/sampler.hpp"
#include "simbi/sim/prior.hpp"
#include "simbi/store/model_file.hpp"
#include "simbi/store/table.hpp"

namespace simbi::cli {

namespace {

struct SampleArgs {
  std::string model, observation, out;
  int64_t num_samples = 10000;
  uint64_t seed = 1;
  bool reject_outside_prior = false;
  int threads = 0;
  // GBI posteriors of ACE models, by MCMC (the ACE paper's defaults).
  std::vector<double> betas;
  std::string sampler;  // ACE: slice (default) | rwm; E&E: auto (default) | rejection | slice | rwm
  int64_t chains = 100, warmup = 500, thin = 10, init_candidates = 10000;
  // E&E rejection: pilot draws, the acceptance rate below which auto switches to MCMC, and a draw cap.
  int64_t rejection_pilot = 262144;
  double min_acceptance = 1e-3;
  int64_t max_draws = 100000000;
  bool no_diagnostics = false;
};

std::string format_number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

void write_samples(const std::string& path, const std::vector<std::string>& labels, const torch::Tensor& theta) {
  const torch::Tensor t = theta.contiguous();
  write_samples_csv(path, labels, ConstMatrixView{t.data_ptr<float>(), t.size(0), t.size(1)});
}

// −β·ĉ(θ, x_o) of an ACE model for one observation. The engine's batched calls go through the frozen
// cost (plain BLAS, ~8x less fixed cost per call than the torch module); log_prob(Tensor) keeps the
// module's own path for other callers.
class AcePotential final : public mcmc::Potential {
 public:
  AcePotential(estimators::Ace& ace, const torch::Tensor& x_o, double beta, int64_t theta_dim)
      : ace_(ace), x_o_(x_o), frozen_(ace.freeze(x_o)), beta_(beta), theta_dim_(theta_dim) {}
  at::Tensor log_prob(const at::Tensor& theta) override {
    torch::NoGradGuard no_grad;
    return -beta_ * ace_.cost(theta.to(torch::kFloat), x_o_);
  }
  void evaluate(const float* theta, int64_t n, int64_t /*d*/, double* out) override {
    costs_.resize(static_cast<size_t>(n));
    frozen_.cost(theta, n, costs_.data());
    for (int64_t i = 0; i < n; ++i) out[i] = -beta_ * static_cast<double>(costs_[i]);
  }
  int64_t dim() const override { return theta_dim_; }

 private:
  estimators::Ace& ace_;
  torch::Tensor x_o_;
  estimators::FrozenAceCost frozen_;
  double beta_;
  int64_t theta_dim_;
  std::vector<float> costs_;
};

mcmc::McmcOptions mcmc_options(const SampleArgs& a, const std::string& sampler, uint64_t stream_index) {
  mcmc::McmcOptions o;
  o.sampler = mcmc::parse_sampler(sampler);
  o.chains = a.chains;
  o.warmup = a.warmup;
  o.thin = a.thin;
  o.init_candidates = a.init_candidates;
  o.diagnostics = !a.no_diagnostics;
  o.seed = a.seed;
  o.stream_index = stream_index;
  return o;
}

EnePosteriorOptions ene_posterior_options(const SampleArgs& a) {
  EnePosteriorOptions o;
  o.sampler = a.sampler.empty() ? "auto" : a.sampler;
  o.rejection_pilot = a.rejection_pilot;
  o.min_acceptance = a.min_acceptance;
  o.max_draws = a.max_draws;
  o.mcmc = mcmc_options(a, "slice", 0);
  return o;
}

// E&E posteriors p(θ)·exp(s(x_o, θ)), one per observation (ene_posterior.hpp): exact rejection from the
// prior with the critic's bound 1/τ, or MCMC when its acceptance is too low. Collective; the draws do not
// depend on the rank count.
void sample_ene(const SampleArgs& a, estimators::Ene& ene, const sim::Prior& prior, const Matrix& observations,
                const std::vector<std::string>& labels) {
  const EnePosteriorOptions o = ene_posterior_options(a);
  const int64_t m = observations.rows();
  for (int64_t k = 0; k < m; ++k) {
    const auto t0 = std::chrono::steady_clock::now();
    const EnePosteriorResult r = sample_ene_posterior(ene, prior, observations.row(k), observations.cols(),
                                                      a.num_samples, static_cast<uint64_t>(k), o);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!dist::is_root()) continue;
    const std::string path = samples_path(a.out, k + 1, m);
    write_samples(path, labels, r.samples);
    std::printf("sampled %lld draws for observation %lld in %.2f s: %s -> %s\n", static_cast<long long>(a.num_samples),
                static_cast<long long>(k + 1), secs, r.method.c_str(), path.c_str());
    std::fflush(stdout);
  }
}

// GBI posteriors p(θ)·exp(−β·ĉ(θ, x_o)) of an ACE model, one MCMC run per observation and β (the
// model is reused across β); chains split over the ranks. Collective.
void sample_gbi(const SampleArgs& a, estimators::Ace& ace, const sim::Prior& prior, const Matrix& observations,
                const std::vector<std::string>& labels) {
  const int64_t m = observations.rows();
  for (int64_t k = 0; k < m; ++k) {
    const torch::Tensor x_o = torch::from_blob(const_cast<float*>(observations.row(k)), {observations.cols()},
                                               torch::kFloat).clone();
    for (size_t b = 0; b < a.betas.size(); ++b) {
      const double beta = a.betas[b];
      AcePotential potential(ace, x_o, beta, prior.dim());
      // Independent chains per (observation, β).
      const mcmc::McmcResult r = mcmc::run_mcmc(
          prior, &potential, a.num_samples,
          mcmc_options(a, a.sampler.empty() ? "slice" : a.sampler, static_cast<uint64_t>(k) * 1000 + b));
      if (!dist::is_root()) continue;
      const std::string path = samples_path(a.out, k + 1, m, beta, a.betas.size());
      write_samples(path, labels, r.samples);
      std::printf("sampled %lld draws for observation %lld at beta %g in %.2f s: %lld chains (%s, warm-up %lld, "
                  "thin %lld), max R-hat %.3f, min bulk ESS %.0f, %s potential evaluations/s (%.1f rows per call; "
                  "initialisation %.2f s) -> %s\n",
                  static_cast<long long>(a.num_samples), static_cast<long long>(k + 1), beta, r.wall_seconds,
                  static_cast<long long>(r.num_chains), a.sampler.empty() ? "slice" : a.sampler.c_str(), static_cast<long long>(a.warmup),
                  static_cast<long long>(a.thin), r.diagnostics.max_rhat, r.diagnostics.min_ess_bulk,
                  log::human_count(r.evaluations_per_second()).c_str(),
                  r.potential_calls > 0 ? static_cast<double>(r.potential_evaluations) / r.potential_calls : 0.0,
                  r.init_seconds, path.c_str());
      std::fflush(stdout);
    }
  }
}

struct Draws {
  torch::Tensor theta;    // [n, dθ] this rank's accepted draws
  int64_t proposed = 0;   // draws made (>= n with rejection)
  int64_t inside = 0;     // draws inside the prior's support (>= n; the surplus is discarded)
};

Draws draw(estimators::PosteriorSampler& sampler, const torch::Tensor& x_o, int64_t n, at::Generator& gen,
           const sim::Prior* support) {
  Draws d;
  if (!support) {
    d.theta = sampler.sample_posterior(x_o, n, gen);
    d.proposed = d.inside = n;
    return d;
  }
  std::vector<torch::Tensor> kept;
  int64_t accepted = 0;
  while (accepted < n) {
    const int64_t batch = std::max<int64_t>(1024, 2 * (n - accepted));
    torch::Tensor t = sampler.sample_posterior(x_o, batch, gen).contiguous();
    d.proposed += batch;
    std::vector<int64_t> inside;
    const float* p = t.data_ptr<float>();
    for (int64_t i = 0; i < batch; ++i)
      if (support->in_support(p + i * t.size(1))) inside.push_back(i);
    if (!inside.empty()) {
      const auto idx = torch::tensor(inside, torch::kLong);
      kept.push_back(t.index_select(0, idx));
      accepted += static_cast<int64_t>(inside.size());
      d.inside += static_cast<int64_t>(inside.size());
    }
    require(d.proposed < 1000 * std::max<int64_t>(n, 100) || accepted > 0, ErrorKind::numeric,
            "rejection to the prior's support: no sample inside the support after " + std::to_string(d.proposed) +
                " draws (is the observation far outside what the model was trained on?)");
  }
  d.theta = torch::cat(kept).slice(0, 0, n);
  return d;
}

// Gathers every rank's rows [n_r, d] on rank 0 (rank order).
torch::Tensor gather_rows(const torch::Tensor& mine, int64_t d) {
  const int size = dist::size();
  if (size == 1) return mine;
  int count = static_cast<int>(mine.numel());
  std::vector<int> counts(static_cast<size_t>(size)), offsets(static_cast<size_t>(size), 0);
  MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, dist::comm());
  int total = 0;
  for (int r = 0; r < size; ++r) {
    offsets[static_cast<size_t>(r)] = total;
    total += counts[static_cast<size_t>(r)];
  }
  torch::Tensor all = torch::empty({dist::is_root() ? total / d : 0, d});
  const torch::Tensor send = mine.contiguous();
  MPI_Gatherv(send.data_ptr<float>(), count, MPI_FLOAT, all.data_ptr<float>(), counts.data(), offsets.data(),
              MPI_FLOAT, 0, dist::comm());
  return all;
}

int run_sample(const SampleArgs& a) {
  set_torch_threads(a.threads);
  nlohmann::json meta;
  std::shared_ptr<estimators::Estimator> model;
  Matrix observations;
  std::unique_ptr<sim::Prior> prior;
  dist::run_agreed([&] {
    require(a.num_samples > 0, ErrorKind::invalid_argument,
            "--num-samples must be positive, got " + std::to_string(a.num_samples));
    meta = store::read_model_metadata(a.model);
    model = estimators::make_estimator(meta.at("estimator"));
    store::load_model_weights(a.model, *model);
    observations = read_matrix_spec(a.observation, "/x", nullptr);
    const int64_t x_dim = meta.at("x_dim").get<int64_t>();
    require(observations.cols() == x_dim, ErrorKind::format,
            a.observation + ": an observation has " + std::to_string(observations.cols()) + " values, but the model (" +
                meta.value("task", std::string("?")) + ", x_dim " + std::to_string(x_dim) + ") expects " +
                std::to_string(x_dim));
    require(observations.rows() > 0, ErrorKind::format, a.observation + ": no observation rows");
    for (float v : observations.storage())
      require(std::isfinite(v), ErrorKind::format, a.observation + ": observations must be finite numbers");
    const bool gbi = model->method() == "ace";
    require(gbi || a.betas.empty(), ErrorKind::invalid_argument,
            "--beta is for ACE models (GBI posteriors); " + a.model + " is a " + model->method() + " model");
    require(!gbi || !a.betas.empty(), ErrorKind::invalid_argument,
            a.model + " is an ACE model: give the inverse temperature(s) with --beta, e.g. --beta 10,100");
    for (double beta : a.betas)
      require(std::isfinite(beta) && beta > 0, ErrorKind::invalid_argument,
              "--beta must be positive, got " + format_number(beta));
    const bool ene = model->method() == "ene";
    require(a.sampler.empty() || gbi || ene, ErrorKind::invalid_argument,
            "--sampler is for models sampled by MCMC or rejection (ace, ene); " + a.model + " is a " +
                model->method() + " model with a direct sampler");
    // An unknown --sampler: one agreed error, not an abort.
    if (gbi && !a.sampler.empty()) (void)mcmc::parse_sampler(a.sampler);
    if (ene) validate_ene_posterior_options(ene_posterior_options(a));
    if (a.reject_outside_prior || gbi || ene) {
      const std::string prior_json = meta.value("prior", std::string());
      require(!prior_json.empty(), ErrorKind::invalid_argument,
              std::string(gbi ? "GBI sampling" : ene ? "E&E sampling" : "--reject-outside-prior") +
                  ": the model's training data has no prior (imported data without a task)");
      prior = sim::prior_from_json(nlohmann::json::parse(prior_json), a.model);
    }
  });
  model->eval();
  const int64_t d = meta.at("theta_dim").get<int64_t>();
  std::vector<std::string> labels = meta.value("theta_labels", std::vector<std::string>{});
  if (static_cast<int64_t>(labels.size()) != d) labels = sim::default_theta_labels(d);
  if (auto* ace = dynamic_cast<estimators::Ace*>(model.get())) {
    sample_gbi(a, *ace, *prior, observations, labels);
    return 0;
  }
  if (auto* ene = dynamic_cast<estimators::Ene*>(model.get())) {
    sample_ene(a, *ene, *prior, observations, labels);
    return 0;
  }
  auto* sampler = dynamic_cast<estimators::PosteriorSampler*>(model.get());
  require(sampler != nullptr, ErrorKind::invalid_argument,
          "method '" + model->method() + "' has no direct sampler (it samples by MCMC)");
  const int64_t m = observations.rows();
  for (int64_t k = 0; k < m; ++k) {
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t lo = a.num_samples * dist::rank() / dist::size();
    const int64_t hi = a.num_samples * (dist::rank() + 1) / dist::size();
    // One generator per (seed, observation, rank): reproducible for a given rank count.
    at::Generator gen = at::detail::createCPUGenerator(
        RandomStream(a.seed, StreamPurpose::sampling, static_cast<uint64_t>(k)).substream(dist::rank()).next_u64());
    const torch::Tensor x_o = torch::from_blob(observations.row(k), {observations.cols()}, torch::kFloat).clone();
    const Draws mine = draw(*sampler, x_o, hi - lo, gen, prior.get());
    const torch::Tensor all = gather_rows(mine.theta, d);
    const double proposed = static_cast<double>(dist::allreduce_sum(mine.proposed));
    const double inside = static_cast<double>(dist::allreduce_sum(mine.inside));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (dist::is_root()) {
      const std::string path = samples_path(a.out, k + 1, m);
      write_samples(path, labels, all);
      std::string acceptance;
      if (prior) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "; %.1f%% of draws inside the prior's support", 100.0 * inside / proposed);
        acceptance = buf;
      }
      std::printf("sampled %lld draws for observation %lld in %.3f s (%s samples/s on %d rank(s))%s -> %s\n",
                  static_cast<long long>(a.num_samples), static_cast<long long>(k + 1), secs,
                  log::human_count(a.num_samples / std::max(secs, 1e-9)).c_str(), dist::size(), acceptance.c_str(),
                  path.c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace

void add_sample_command(CLI::App& app, std::vector<Command>& commands) {
  auto a = std::make_shared<SampleArgs>();
  CLI::App* sub = app.add_subcommand("sample", "Draw posterior samples from a trained model (split over ranks)");
  sub->add_option("--config", "TOML file with any of these options (keys without dashes; command line wins)");
  sub->add_option("--model", a->model, "Model file (model.pt)")->required();
  sub->add_option("--observation", a->observation,
                  "Observations: CSV (one per row, header data_1..) or file.h5[:/dataset]")
      ->required();
  sub->add_option("--num-samples", a->num_samples, "Samples per observation")->capture_default_str();
  sub->add_option("--out", a->out, "Output CSV (with several observations: <stem>_obs<k>.csv)")->required();
  sub->add_option("--seed", a->seed, "Seed")->capture_default_str();
  sub->add_flag("--reject-outside-prior", a->reject_outside_prior,
                "Keep only draws inside the prior's support (reports the acceptance rate)");
  sub->add_option("--beta", a->betas, "ACE models: inverse temperature(s) of the GBI posterior, e.g. 10,100,1000 "
                  "(with several: <stem>_beta<β>.csv)")
      ->delimiter(',');
  sub->add_option("--sampler", a->sampler,
                  "ACE models: MCMC sampler, slice (default) | rwm; E&E models: auto (default: exact rejection, MCMC "
                  "when its acceptance is below --min-acceptance) | rejection | slice | rwm");
  sub->add_option("--rejection-pilot", a->rejection_pilot, "E&E: prior draws tried before --sampler auto decides")
      ->capture_default_str();
  sub->add_option("--min-acceptance", a->min_acceptance, "E&E: lowest rejection acceptance rate --sampler auto accepts")
      ->capture_default_str();
  sub->add_option("--max-draws", a->max_draws, "E&E: most prior draws for rejection")->capture_default_str();
  sub->add_option("--chains", a->chains, "ACE/E&E MCMC: chains (split over the ranks)")->capture_default_str();
  sub->add_option("--warmup", a->warmup, "ACE models: warm-up sweeps per chain")->capture_default_str();
  sub->add_option("--thin", a->thin, "ACE models: keep every k-th sweep")->capture_default_str();
  sub->add_option("--init-candidates", a->init_candidates,
                  "ACE models: prior candidates per chain for the resampling initialisation")
      ->capture_default_str();
  sub->add_flag("--no-diagnostics", a->no_diagnostics,
                "ACE models: skip R-hat and ESS (which need at least 2 chains and 8 draws per chain)");
  sub->add_option("--threads", a->threads, "Torch threads per rank (default 1: small networks run fastest single-threaded; scale with ranks)");
  commands.push_back({sub, [a] { return run_sample(*a); }});
}

}  // namespace simbi::cli
