// Internal to the posterior module: the Posterior of each kind of estimator, built by make_posterior.
#pragma once
#include <memory>

#include "simbi/posterior/posterior.hpp"
#include "simbi/sim/prior.hpp"

namespace simbi::estimators {
class Ace;
class Ene;
class Nle;
}  // namespace simbi::estimators

namespace simbi::posterior::detail {

// Amortised posteriors with a direct sampler (CP-VAE, UP-VAE): the draws split over the ranks, each with
// its own generator keyed by (seed, stream index, rank), optionally rejected to the prior's support.
std::unique_ptr<Posterior> make_direct_posterior(std::shared_ptr<estimators::Estimator> model,
                                                 estimators::PosteriorSampler& sampler, int64_t theta_dim,
                                                 std::unique_ptr<sim::Prior> support, const PosteriorOptions& o);
// GBI posteriors of an ACE model, one MCMC run per β (sampler "slice" or "rwm").
std::unique_ptr<Posterior> make_gbi_posterior(std::shared_ptr<estimators::Estimator> model, estimators::Ace& ace,
                                              std::unique_ptr<sim::Prior> prior, const PosteriorOptions& o);
// E&E posteriors by exact rejection from the prior or MCMC. Throws when the options are invalid.
std::unique_ptr<Posterior> make_ene_posterior(std::shared_ptr<estimators::Estimator> model, estimators::Ene& ene,
                                              std::unique_ptr<sim::Prior> prior, const PosteriorOptions& o);

// NLE posteriors p(θ)·Π_j q(x_o,j | θ) by the MCMC engine (sampler "slice" or "rwm").
std::unique_ptr<Posterior> make_nle_posterior(std::shared_ptr<estimators::Estimator> model, estimators::Nle& nle,
                                              std::unique_ptr<sim::Prior> prior, const PosteriorOptions& o);

// One MCMC run of o.num_samples draws from p(θ)·ℓ(θ) and its report line (" in T s: C chains (...), max
// R-hat ..., min bulk ESS ..., evaluations/s ..."), diagnostics filled in. Collective over o.comm.
DrawSet mcmc_draw_set(const sim::Prior& prior, mcmc::Potential* potential, const PosteriorOptions& o,
                      const std::string& sampler, uint64_t stream_index);

// An MCMC run's options from the posterior options: `sampler` and `stream_index` for this run.
mcmc::McmcOptions mcmc_options(const PosteriorOptions& o, const std::string& sampler, uint64_t stream_index);

}  // namespace simbi::posterior::detail
