#include "ene_posterior.hpp"

#include <cstdio>

#include "simbi/core/error.hpp"
#include "simbi/mcmc/potential.hpp"
#include "simbi/mcmc/rejection.hpp"

namespace simbi::cli {

namespace {

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

}  // namespace

void validate_ene_posterior_options(const EnePosteriorOptions& o) {
  if (o.sampler != "auto" && o.sampler != "rejection") (void)mcmc::parse_sampler(o.sampler);
  require(o.rejection_pilot > 0 && o.max_draws > 0 && o.min_acceptance >= 0 && o.min_acceptance <= 1,
          ErrorKind::invalid_argument,
          "--rejection-pilot and --max-draws must be positive and --min-acceptance in [0, 1]");
}

EnePosteriorResult sample_ene_posterior(estimators::Ene& ene, const sim::Prior& prior, const float* x_o, int64_t x_dim,
                                        int64_t n, uint64_t stream_index, const EnePosteriorOptions& o) {
  const double s_max = 1.0 / ene.tau();  // ⟨f, g⟩ ≤ 1 for unit vectors
  torch::Tensor f_o;
  {
    torch::NoGradGuard no_grad;
    f_o = ene.embed_x(torch::from_blob(const_cast<float*>(x_o), {1, x_dim}, torch::kFloat)).reshape({-1}).clone();
  }
  EnePotential potential(ene, f_o, prior.dim());
  EnePosteriorResult out;
  char line[200];
  bool use_mcmc = o.sampler != "auto" && o.sampler != "rejection";
  if (!use_mcmc) {
    mcmc::RejectionOptions ro;
    ro.seed = o.mcmc.seed;
    ro.comm = o.comm;
    const mcmc::CostFunction critic = [&potential](ConstMatrixView theta, double* values) {
      potential.evaluate(theta.data, theta.rows, theta.cols, values);
    };
    mcmc::BoundedRatioSampler rejection(prior, critic, s_max, ro);
    const bool automatic = o.sampler == "auto";
    mcmc::RejectionResult r = rejection.sample(n, automatic ? std::min(o.rejection_pilot, o.max_draws) : o.max_draws,
                                               stream_index);
    const double rate = r.acceptance_rate();
    if (!r.complete && automatic && rate >= o.min_acceptance &&
        static_cast<double>(n) / rate <= static_cast<double>(o.max_draws))
      r = rejection.sample(n, o.max_draws, stream_index);
    require(r.complete || automatic, ErrorKind::numeric,
            "--sampler rejection: only " + std::to_string(r.accepted) + " of " + std::to_string(n) +
                " draws accepted within --max-draws " + std::to_string(o.max_draws) + " (acceptance " +
                std::to_string(r.acceptance_rate()) + "); use --sampler slice or raise --max-draws");
    out.acceptance = r.acceptance_rate();
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
  mcmc::McmcOptions mo = o.mcmc;
  const std::string sampler = o.sampler == "auto" || o.sampler == "rejection" ? "slice" : o.sampler;
  mo.sampler = mcmc::parse_sampler(sampler);
  mo.stream_index = stream_index;
  mo.comm = o.comm;
  const mcmc::McmcResult r = mcmc::run_mcmc(prior, &potential, n, mo);
  out.samples = r.samples;
  out.used_mcmc = true;
  std::snprintf(line, sizeof line, "%lld chains (%s, warm-up %lld, thin %lld), max R-hat %.3f, min bulk ESS %.0f",
                static_cast<long long>(r.num_chains), sampler.c_str(), static_cast<long long>(mo.warmup),
                static_cast<long long>(mo.thin), r.diagnostics.max_rhat, r.diagnostics.min_ess_bulk);
  out.method += line;
  return out;
}

}  // namespace simbi::cli
