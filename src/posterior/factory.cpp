// make_posterior: the one place that maps an estimator to the way its posterior is drawn.
#include <cmath>
#include <cstdio>

#include "posteriors.hpp"
#include "simbi/core/error.hpp"
#include "simbi/core/text.hpp"
#include "simbi/estimators/ace.hpp"
#include "simbi/estimators/ene.hpp"
#include "simbi/estimators/ode_sampled.hpp"

namespace simbi::posterior {

namespace detail {

mcmc::McmcOptions mcmc_options(const PosteriorOptions& o, const std::string& sampler, uint64_t stream_index) {
  mcmc::McmcOptions m = o.mcmc;
  m.sampler = mcmc::parse_sampler(sampler);
  m.seed = o.seed;
  m.stream_index = stream_index;
  m.comm = o.comm;
  return m;
}

}  // namespace detail

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

}  // namespace

bool is_generalized_posterior(const LoadedModel& model) {
  return dynamic_cast<estimators::Ace*>(model.estimator.get()) != nullptr;
}

int64_t mcmc_chains(const store::ModelMeta& model, const PosteriorOptions& o) {
  const std::shared_ptr<estimators::Estimator> estimator = estimators::make_estimator(model.estimator);
  if (dynamic_cast<estimators::Ace*>(estimator.get())) return o.mcmc.chains;
  const bool mcmc_sampler = o.sampler == "slice" || o.sampler == "rwm";
  if (dynamic_cast<estimators::Ene*>(estimator.get()) && mcmc_sampler) return o.mcmc.chains;
  return 0;
}

std::unique_ptr<Posterior> make_posterior(const LoadedModel& model, const PosteriorOptions& o) {
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
  if (auto* ene = dynamic_cast<estimators::Ene*>(model.estimator.get()))
    return detail::make_ene_posterior(model.estimator, *ene, required_prior(model, "E&E sampling"), o);
  auto* ode = dynamic_cast<estimators::OdeSampled*>(model.estimator.get());
  require(ode || o.ode_solver.empty(), ErrorKind::invalid_argument,
          "--solver, --ode-steps, --rtol and --atol are for models sampled by an ODE (fmpe, npse); " + model.path +
              " is a " + method + " model");
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

}  // namespace simbi::posterior
