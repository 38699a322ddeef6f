// GBI posteriors of ACE models: p(θ)·exp(−β·ĉ(θ, x_o)) by the distributed MCMC engine, one run per β,
// the chains split over the ranks (docs/methods.md, ACE).
#include <cstdio>

#include "posteriors.hpp"
#include "simbi/estimators/ace.hpp"
#include "simbi/mcmc/potential.hpp"

namespace simbi::posterior::detail {

namespace {

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

class GbiPosterior final : public Posterior {
 public:
  GbiPosterior(std::shared_ptr<estimators::Estimator> model, estimators::Ace& ace, std::unique_ptr<sim::Prior> prior,
               const PosteriorOptions& o)
      : model_(std::move(model)), ace_(ace), prior_(std::move(prior)), o_(o) {}

  size_t sets() const override { return o_.betas.size(); }

  std::vector<DrawSet> sample(const torch::Tensor& x_o, uint64_t stream_index) override {
    const std::string sampler = o_.sampler.empty() ? "slice" : o_.sampler;
    std::vector<DrawSet> sets;
    for (size_t b = 0; b < o_.betas.size(); ++b) {
      AcePotential potential(ace_, x_o, o_.betas[b], prior_->dim());
      // Independent chains per (observation, β).
      DrawSet set = mcmc_draw_set(*prior_, &potential, o_, sampler, stream_index * 1000 + b);
      set.beta = o_.betas[b];
      char at[64];
      std::snprintf(at, sizeof at, " at beta %g", set.beta);
      set.summary = at + set.summary;
      sets.push_back(std::move(set));
    }
    return sets;
  }

 private:
  std::shared_ptr<estimators::Estimator> model_;
  estimators::Ace& ace_;
  std::unique_ptr<sim::Prior> prior_;
  PosteriorOptions o_;
};

}  // namespace

std::unique_ptr<Posterior> make_gbi_posterior(std::shared_ptr<estimators::Estimator> model, estimators::Ace& ace,
                                              std::unique_ptr<sim::Prior> prior, const PosteriorOptions& o) {
  return std::make_unique<GbiPosterior>(std::move(model), ace, std::move(prior), o);
}

}  // namespace simbi::posterior::detail
