// Posterior sampling for E&E models, shared by `simbi sample` (every observation, the work split over
// the ranks) and `simbi sbc` (one test per rank, MPI_COMM_SELF): p(θ)·exp(s(x_o, θ)) with
// s = ⟨f(x_o), g(θ)⟩/τ ≤ 1/τ, by exact rejection from the prior (mcmc::BoundedRatioSampler) or, when its
// acceptance is too low, by the MCMC engine on the same potential. x_o is encoded once per call.
#pragma once
#include <torch/torch.h>
#include <mpi.h>

#include <string>

#include "simbi/estimators/ene.hpp"
#include "simbi/mcmc/sampler.hpp"
#include "simbi/sim/prior.hpp"

namespace simbi::cli {

struct EnePosteriorOptions {
  // auto (rejection; MCMC (slice) when the pilot's acceptance is below min_acceptance or the draws needed
  // exceed max_draws) | rejection (exact, or an error) | slice | rwm (MCMC only).
  std::string sampler = "auto";
  int64_t rejection_pilot = 262144;
  double min_acceptance = 1e-3;
  int64_t max_draws = 100000000;
  mcmc::McmcOptions mcmc;        // chains, warm-up, thin, seed, diagnostics; sampler/stream set per call
  MPI_Comm comm = MPI_COMM_NULL;  // the ranks sharing the work (MPI_COMM_NULL: simbi's world)
};

struct EnePosteriorResult {
  torch::Tensor samples;  // root of `comm` only: [n, d] float32
  std::string method;     // one line: how the draws were made (acceptance, or chains and diagnostics)
  double acceptance = 0.0;  // rejection acceptance rate (of the last epoch), 0 when MCMC ran alone
  bool used_mcmc = false;
};

// n draws for the observation x_o [x_dim]; streams keyed by (options.mcmc.seed, stream_index), so the
// draws do not depend on the number of ranks in `comm`. Collective over `comm`; Error(numeric) when
// --sampler rejection cannot finish within max_draws.
EnePosteriorResult sample_ene_posterior(estimators::Ene& ene, const sim::Prior& prior, const float* x_o, int64_t x_dim,
                                        int64_t n, uint64_t stream_index, const EnePosteriorOptions& options);

// An error naming --sampler / --rejection-pilot / --max-draws / --min-acceptance when they are invalid.
void validate_ene_posterior_options(const EnePosteriorOptions& options);

}  // namespace simbi::cli
