// make_posterior: the one place that maps an estimator to the way its posterior is drawn.
#include <cmath>
#include <cstdio>

#include "posteriors.hpp"
#include "simbi/core/error.hpp"
#include "simbi/core/text.hpp"
#include "simbi/dist/comm.hpp"
#include "simbi/estimators/ace.hpp"
#include "simbi/estimators/ene.hpp"
#include "simbi/estimators/nle.hpp"
#include "simbi/estimators/ode_sampled.hpp"

namespace simbi::posterior {

torch::Tensor Posterior::log_prob(const torch::Tensor&, const torch::Tensor&) {
  throw Error(ErrorKind::invalid_argument,
              "this model has no normalised posterior density (log_prob is for npe, fmpe and npse models)");
}

namespace {

// The prior of the model's training data, which `what` needs; Error naming the model otherwise.
std::unique_ptr<sim::Prior> required_prior(const LoadedModel& model, const std::string& what) {
  std::unique_ptr<sim::Prior> prior = model.meta.make_prior(model.path);
  require(prior != nullptr, ErrorKind::invalid_argument,
          what + ": the model's training data has no prior (imported data without a task)");
  return prior;
}

// Every posterior's draws, checked: a non-finite draw (a damaged or diverged model, a sampler that ran
// off) is an error naming the model, agreed over the ranks, never a file of NaNs.
class FiniteDraws final : public Posterior {
 public:
  FiniteDraws(std::unique_ptr<Posterior> inner, std::string model, MPI_Comm comm)
      : inner_(std::move(inner)), model_(std::move(model)), comm_(comm) {}

  std::vector<DrawSet> sample(const torch::Tensor& x_o, uint64_t stream_index) override {
    std::vector<DrawSet> sets = inner_->sample(x_o, stream_index);
    dist::Comm(comm_).run_agreed([&] {
      for (const DrawSet& set : sets) {
        if (!set.samples.defined() || set.samples.numel() == 0) continue;  // draws are on rank 0 only
        const int64_t bad = (~torch::isfinite(set.samples)).any(1).sum().item<int64_t>();
        require(bad == 0, ErrorKind::numeric,
                model_ + ": " + std::to_string(bad) + " of " + std::to_string(set.samples.size(0)) +
                    " posterior draws are not finite (NaN or inf) for observation " + std::to_string(stream_index + 1) +
                    " (a damaged or diverged model?)");
      }
    });
    return sets;
  }
  size_t sets() const override { return inner_->sets(); }
  bool has_log_prob() const override { return inner_->has_log_prob(); }
  torch::Tensor log_prob(const torch::Tensor& theta, const torch::Tensor& x_o) override {
    return inner_->log_prob(theta, x_o);
  }

 private:
  std::unique_ptr<Posterior> inner_;
  std::string model_;
  MPI_Comm comm_;
};

std::unique_ptr<Posterior> make_unchecked_posterior(const LoadedModel& model, const PosteriorOptions& o);

}  // namespace

bool is_generalized_posterior(const LoadedModel& model) {
  return dynamic_cast<estimators::Ace*>(model.estimator.get()) != nullptr;
}

int64_t mcmc_chains(const store::ModelMeta& model, const PosteriorOptions& o) {
  const std::shared_ptr<estimators::Estimator> estimator = estimators::make_estimator(model.estimator);
  if (dynamic_cast<estimators::Ace*>(estimator.get()) || dynamic_cast<estimators::Nle*>(estimator.get()))
    return o.mcmc.chains;
  const bool mcmc_sampler = o.sampler == "slice" || o.sampler == "rwm";
  if (dynamic_cast<estimators::Ene*>(estimator.get()) && mcmc_sampler) return o.mcmc.chains;
  return 0;
}

std::unique_ptr<Posterior> make_posterior(const LoadedModel& model, const PosteriorOptions& o) {
  return std::make_unique<FiniteDraws>(make_unchecked_posterior(model, o), model.path, o.comm);
}

namespace {

std::unique_ptr<Posterior> make_unchecked_posterior(const LoadedModel& model, const PosteriorOptions& o) {
  require(o.num_samples > 0, ErrorKind::invalid_argument,
          "--num-samples must be positive, got " + std::to_string(o.num_samples));
  const std::string& method = model.meta.method;
  auto* ace = dynamic_cast<estimators::Ace*>(model.estimator.get());
  require(ace || o.betas.empty(), ErrorKind::invalid_argument,
          "--beta is for ACE models (GBI posteriors); " + model.path + " is a " + method + " model");
  if (ace) {
    require(!o.betas.empty(), ErrorKind::invalid_argument,
            model.path + " is an ACE model: give the inverse temperature(s) with --beta, e.g. --beta 10,100");
    for (double beta : o.betas)
      require(std::isfinite(beta) && beta > 0, ErrorKind::invalid_argument,
              "--beta must be positive, got " + format_number(beta));
    if (!o.sampler.empty()) (void)mcmc::parse_sampler(o.sampler);
    return detail::make_gbi_posterior(model.estimator, *ace, required_prior(model, "GBI sampling"), o);
  }
  auto* nle = dynamic_cast<estimators::Nle*>(model.estimator.get());
  require(nle || !o.iid_observations, ErrorKind::invalid_argument,
          "--iid (the observation rows are i.i.d. draws for one θ) is for NLE models; " + model.path + " is a " +
              method + " model");
  if (nle) return detail::make_nle_posterior(model.estimator, *nle, required_prior(model, "NLE sampling"), o);
  if (auto* ene = dynamic_cast<estimators::Ene*>(model.estimator.get()))
    return detail::make_ene_posterior(model.estimator, *ene, required_prior(model, "E&E sampling"), o);
  auto* ode = dynamic_cast<estimators::OdeSampled*>(model.estimator.get());
  require(ode || o.ode_solver.empty(), ErrorKind::invalid_argument,
          "--solver, --ode-steps, --rtol, --atol, --corrector-steps and --snr are for models sampled by an ODE (fmpe, "
          "npse); " +
              model.path + " is a " + method + " model");
  if (ode && !o.ode_solver.empty()) ode->set_solver(nn::OdeSolverOptions::from_json(o.ode_solver, ode->solver()));
  auto* sampler = dynamic_cast<estimators::PosteriorSampler*>(model.estimator.get());
  require(sampler != nullptr, ErrorKind::invalid_argument,
          "method '" + method + "' has no direct sampler (it samples by MCMC)");
  require(o.sampler.empty(), ErrorKind::invalid_argument,
          "--sampler is for models sampled by MCMC or rejection (ace, ene); " + model.path + " is a " + method +
              " model with a direct sampler");
  std::unique_ptr<sim::Prior> support;
  if (o.reject_outside_prior) support = required_prior(model, "--reject-outside-prior");
  return detail::make_direct_posterior(model.estimator, *sampler, model.meta.theta_dim, std::move(support), o);
}

}  // namespace

}  // namespace simbi::posterior
