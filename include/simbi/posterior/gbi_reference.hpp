// Ground truth for ACE (docs/methods.md §6), for tasks with an exact cost C(θ, x_o) (sim/exact_cost.hpp):
//  - sample_exact_gbi draws the exact GBI posterior p(θ)·exp(−β·C(θ, x_o)) — what ACE's posteriors are
//    compared with — by rejection from the prior (exact, mcmc/rejection.hpp) or by the MCMC engine on the
//    exact potential (long chains, R̂ and ESS reported), or picks one (method auto);
//  - check_learned_cost compares a trained ACE model's learned cost with the exact one at prior draws.
// Contract: COLLECTIVE over simbi's world; bad input is a simbi::Error agreed across the ranks; files are
// written by rank 0.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace simbi::posterior {

struct GbiReferenceRequest {
  std::string task, observation;
  std::string out;              // written as <stem>_obs<k>_beta<β><ext>
  std::string method = "auto";  // rejection | mcmc | auto
  std::vector<double> betas;
  int64_t num_samples = 10000, chains = 100, warmup = 1000, thin = 20, pilot_draws = 262144;
  double max_draws = 1e9;
  uint64_t seed = 1;
};

// Draws and writes every (observation, β) set; `on_written` gets one line per file on rank 0.
void sample_exact_gbi(const GbiReferenceRequest& request, const std::function<void(const std::string&)>& on_written);

struct CostCheckRequest {
  std::string model, observation, out;  // out: the figures as JSON ("" = none)
  int64_t num_theta = 1000;
  uint64_t seed = 1;
};

struct CostCheck {
  int64_t observation = 0;  // 1-based
  double pearson_r = 0.0, rmse = 0.0, mean_exact_cost = 0.0;
};

// Learned vs exact cost of an ACE model at num_theta held-out prior draws, per observation.
std::vector<CostCheck> check_learned_cost(const CostCheckRequest& request);

}  // namespace simbi::posterior
