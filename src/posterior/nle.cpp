// NLE posteriors p(θ)·Π_j q(x_o,j | θ) by the distributed MCMC engine, the chains split over the ranks
// (docs/methods.md, NLE). x_o is one observation [dx] or m i.i.d. observations of one θ [m, dx].
#include "simbi/estimators/nle.hpp"

#include "posteriors.hpp"
#include "simbi/mcmc/potential.hpp"

namespace simbi::posterior::detail {

namespace {

// Σ_j log q(x_o,j | θ) of an NLE model.
class NlePotential final : public mcmc::Potential {
 public:
  NlePotential(estimators::Nle& nle, torch::Tensor x_o, int64_t theta_dim)
      : nle_(nle), x_o_(std::move(x_o)), theta_dim_(theta_dim) {}
  at::Tensor log_prob(const at::Tensor& theta) override {
    torch::NoGradGuard no_grad;
    return nle_.log_likelihood_iid(theta.to(torch::kFloat), x_o_);
  }
  int64_t dim() const override { return theta_dim_; }

 private:
  estimators::Nle& nle_;
  torch::Tensor x_o_;
  int64_t theta_dim_;
};

class NlePosterior final : public Posterior {
 public:
  NlePosterior(std::shared_ptr<estimators::Estimator> model, estimators::Nle& nle, std::unique_ptr<sim::Prior> prior,
               const PosteriorOptions& o)
      : model_(std::move(model)), nle_(nle), prior_(std::move(prior)), o_(o) {}

  std::vector<DrawSet> sample(const torch::Tensor& x_o, uint64_t stream_index) override {
    NlePotential potential(nle_, x_o.to(torch::kFloat), prior_->dim());
    return {mcmc_draw_set(*prior_, &potential, o_, o_.sampler.empty() ? "slice" : o_.sampler, stream_index)};
  }

 private:
  std::shared_ptr<estimators::Estimator> model_;
  estimators::Nle& nle_;
  std::unique_ptr<sim::Prior> prior_;
  PosteriorOptions o_;
};

}  // namespace

std::unique_ptr<Posterior> make_nle_posterior(std::shared_ptr<estimators::Estimator> model, estimators::Nle& nle,
                                              std::unique_ptr<sim::Prior> prior, const PosteriorOptions& o) {
  if (!o.sampler.empty()) (void)mcmc::parse_sampler(o.sampler);
  return std::make_unique<NlePosterior>(std::move(model), nle, std::move(prior), o);
}

}  // namespace simbi::posterior::detail
