// E&E posteriors p(θ)·exp(s(x_o, θ)) with s = ⟨f(x_o), g(θ)⟩/τ ≤ 1/τ (docs/methods.md, E&E): exact
// rejection from the prior with the bound 1/τ (mcmc::BoundedRatioSampler) or, when its acceptance is
// too low, the MCMC engine on the same potential. x_o is encoded once per call. The draws do not depend
// on the number of ranks sharing the work.
#include "simbi/estimators/ene.hpp"

#include <chrono>
#include <cstdio>

#include "posteriors.hpp"
#include "simbi/core/error.hpp"
#include "simbi/mcmc/potential.hpp"
#include "simbi/mcmc/rejection.hpp"

namespace simbi::posterior::detail {

namespace {

struct EneDraws {
  torch::Tensor samples;  // root of the communicator only: [n, d] float32
  std::string method;     // one line: how the draws were made (acceptance, or chains and diagnostics)
  double max_rhat = 0.0, min_ess_bulk = 0.0;
};

// s(x_o, θ) = ⟨f(x_o), g(θ)⟩/τ of an E&E model, f(x_o) encoded once: the log-ratio term of its posterior.
class EnePotential final : public mcmc::Potential {
 public:
  EnePotential(estimators::Ene& ene, torch::Tensor f_o, int64_t theta_dim)
      : ene_(ene), f_o_(std::move(f_o)), theta_dim_(theta_dim) {}
  at::Tensor log_prob(const at::Tensor& theta) override {
    torch::NoGradGuard no_grad;
    return ene_.critic(f_o_, theta.to(torch::kFloat));
  }
  int64_t dim() const override { return theta_dim_; }

 private:
  estimators::Ene& ene_;
  torch::Tensor f_o_;
  int64_t theta_dim_;
};

void validate_ene_options(const PosteriorOptions& o) {
  const std::string sampler = o.sampler.empty() ? "auto" : o.sampler;
  if (sampler != "auto" && sampler != "rejection") (void)mcmc::parse_sampler(sampler);
  require(o.rejection_pilot > 0 && o.max_draws > 0 && o.min_acceptance >= 0 && o.min_acceptance <= 1,
          ErrorKind::invalid_argument,
          "--rejection-pilot and --max-draws must be positive and --min-acceptance in [0, 1]");
}

EneDraws sample_ene(estimators::Ene& ene, const sim::Prior& prior, const torch::Tensor& x_o, int64_t n,
                    uint64_t stream_index, const PosteriorOptions& options) {
  PosteriorOptions o = options;
  if (o.sampler.empty()) o.sampler = "auto";
  const double s_max = 1.0 / ene.tau();  // ⟨f, g⟩ ≤ 1 for unit vectors
  torch::Tensor f_o;
  {
    torch::NoGradGuard no_grad;
    f_o = ene.embed_x(x_o.reshape({1, -1}).to(torch::kFloat)).reshape({-1}).clone();
  }
  EnePotential potential(ene, f_o, prior.dim());
  EneDraws out;
  char line[200];
  bool use_mcmc = o.sampler != "auto" && o.sampler != "rejection";
  if (!use_mcmc) {
    mcmc::RejectionOptions ro;
    ro.seed = o.seed;
    ro.comm = o.comm;
    const mcmc::CostFunction critic = [&potential](ConstMatrixView theta, double* values) {
      potential.evaluate(theta.data, theta.rows, theta.cols, values);
    };
    mcmc::BoundedRatioSampler rejection(prior, critic, s_max, ro);
    const bool automatic = o.sampler == "auto";
    mcmc::RejectionResult r =
        rejection.sample(n, automatic ? std::min(o.rejection_pilot, o.max_draws) : o.max_draws, stream_index);
    const double rate = r.acceptance_rate();
    if (!r.complete && automatic && rate >= o.min_acceptance &&
        static_cast<double>(n) / rate <= static_cast<double>(o.max_draws))
      r = rejection.sample(n, o.max_draws, stream_index);
    require(r.complete || automatic, ErrorKind::numeric,
            "--sampler rejection: only " + std::to_string(r.accepted) + " of " + std::to_string(n) +
                " draws accepted within --max-draws " + std::to_string(o.max_draws) + " (acceptance " +
                std::to_string(r.acceptance_rate()) + "); use --sampler slice or raise --max-draws");
    if (r.complete) {
      std::snprintf(line, sizeof line, "exact rejection, acceptance %.3g%% of %lld prior draws",
                    100.0 * r.acceptance_rate(), static_cast<long long>(r.epoch_draws));
      out.method = line;
      out.samples = r.samples;
      return out;
    }
    use_mcmc = true;
    std::snprintf(line, sizeof line, "acceptance %.3g%% below --min-acceptance %g: MCMC (slice), ", 100.0 * rate,
                  o.min_acceptance);
    out.method = line;
  }
  const std::string sampler = o.sampler == "auto" || o.sampler == "rejection" ? "slice" : o.sampler;
  const mcmc::McmcOptions mo = mcmc_options(o, sampler, stream_index);
  const mcmc::McmcResult r = mcmc::run_mcmc(prior, &potential, n, mo);
  out.samples = r.samples;
  out.max_rhat = r.diagnostics.max_rhat;
  out.min_ess_bulk = r.diagnostics.min_ess_bulk;
  std::snprintf(line, sizeof line, "%lld chains (%s, warm-up %lld, thin %lld), max R-hat %.3f, min bulk ESS %.0f",
                static_cast<long long>(r.num_chains), sampler.c_str(), static_cast<long long>(mo.warmup),
                static_cast<long long>(mo.thin), r.diagnostics.max_rhat, r.diagnostics.min_ess_bulk);
  out.method += line;
  out.method += r.jump_summary();
  return out;
}

class EnePosterior final : public Posterior {
 public:
  EnePosterior(std::shared_ptr<estimators::Estimator> model, estimators::Ene& ene, std::unique_ptr<sim::Prior> prior,
               const PosteriorOptions& o)
      : model_(std::move(model)), ene_(ene), prior_(std::move(prior)), o_(o) {}

  std::vector<DrawSet> sample(const torch::Tensor& x_o, uint64_t stream_index) override {
    const auto t0 = std::chrono::steady_clock::now();
    EneDraws r = sample_ene(ene_, *prior_, x_o, o_.num_samples, stream_index, o_);
    DrawSet set;
    set.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    set.samples = std::move(r.samples);
    set.max_rhat = r.max_rhat;
    set.min_ess_bulk = r.min_ess_bulk;
    char line[64];
    std::snprintf(line, sizeof line, " in %.2f s: ", set.seconds);
    set.summary = line + r.method;
    return {set};
  }

 private:
  std::shared_ptr<estimators::Estimator> model_;
  estimators::Ene& ene_;
  std::unique_ptr<sim::Prior> prior_;
  PosteriorOptions o_;
};

}  // namespace

std::unique_ptr<Posterior> make_ene_posterior(std::shared_ptr<estimators::Estimator> model, estimators::Ene& ene,
                                              std::unique_ptr<sim::Prior> prior, const PosteriorOptions& o) {
  validate_ene_options(o);
  return std::make_unique<EnePosterior>(std::move(model), ene, std::move(prior), o);
}

}  // namespace simbi::posterior::detail
