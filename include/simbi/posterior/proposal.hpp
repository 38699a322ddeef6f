// The proposals of a sequential run's later rounds: where round r's θ come from, given the model trained
// on rounds 1..r-1 and the one observation x_o the run is for (docs/methods.md, "Sequential rounds").
//  - truncated prior (TSNPE, Deistler et al. 2022): prior draws kept where log q(θ | x_o) is at least the
//    `quantile` of log q over draws of q — the prior restricted to q's highest-probability region. The
//    candidates are tried in blocks spread over the ranks and kept in candidate order, so the draws do not
//    depend on the rank count.
//  - posterior draws (SNLE): the posterior's own draws (the MCMC engine's, for NLE).
// Contract: COLLECTIVE over options.comm; every rank passes the same arguments; θ on rank 0 only; errors
// are simbi::Error agreed across the ranks.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>

#include "simbi/core/matrix.hpp"
#include "simbi/posterior/posterior.hpp"

namespace simbi::posterior {

struct Proposal {
  Matrix theta;                // [n, dθ] in original units, on rank 0 (empty elsewhere)
  nlohmann::json description;  // kind, seed and how it was drawn; recorded in the store with the round
};

struct TruncationOptions {
  double quantile = 1e-4;                     // of log q(θ | x_o) over the threshold draws
  int64_t threshold_samples = 10000;          // draws of q that set the threshold
  int64_t block = 4096;                       // prior candidates per block (one rank's unit of work)
  int64_t max_candidates = int64_t{1} << 31;  // give up (Error) when fewer than n are kept by then
};

// TSNPE's proposal: n prior draws inside q's highest-probability region. options.seed and `round` key
// the random streams. Error(invalid_argument) for a model without a density (has_log_prob).
Proposal truncated_prior_proposal(const LoadedModel& model, const PosteriorOptions& options, const torch::Tensor& x_o,
                                  int64_t n, int64_t round, const TruncationOptions& truncation);

// SNLE's proposal: n draws of the model's posterior for x_o (options.num_samples is replaced by n).
Proposal posterior_proposal(const LoadedModel& model, const PosteriorOptions& options, const torch::Tensor& x_o,
                            int64_t n, int64_t round);

}  // namespace simbi::posterior
