// Simulation-based calibration, expected coverage and posterior-mean accuracy (docs/methods.md §5,
// docs/sbc.md) of a model's posterior (any estimator with a Bayesian posterior: CP-VAE, UP-VAE, E&E,
// NPE, FMPE, NPSE) or of the rejection-ABC baseline on a store (the L nearest stored simulations): M test
// pairs (θ*, x*) from the prior predictive of the task, L posterior draws per x*, and the ranks of θ* among
// them (per dimension and jointly) feed metrics/sbc.hpp's uniformity tests and coverage curves; the draws'
// means give MAPE/RMSE against θ*. The tests are split over the ranks; test j's θ*, x* and draws use
// streams keyed by (seed, j) only, so the result does not depend on the rank count.
// Contract: COLLECTIVE over simbi's world; bad input is a simbi::Error agreed across the ranks before any
// work; rank 0 writes the JSON and holds the report.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "simbi/posterior/posterior.hpp"
#include "simbi/sim/task.hpp"

namespace simbi::posterior {

struct SbcRequest {
  std::string model;                        // a model file, or
  std::string abc_data, distance = "zmae";  // the rejection-ABC baseline on this store, with this distance
  // The task whose prior predictive makes the test pairs; empty: the model's (or store's) built-in task.
  // Called on every rank.
  std::function<sim::Task()> make_task;
  int64_t num_tests = 1000, num_posterior_samples = 1000;
  uint64_t seed = 1;
  double alpha = 0.01;
  int64_t bins = 0;  // 0: automatic
  // How a model's posterior is drawn per test (E&E's sampler, rejection and MCMC settings; as `simbi
  // sample`). num_samples, seed, diagnostics and the communicator are set by run_sbc.
  PosteriorOptions sampling;
  std::string out;  // the JSON ("" = none)
  int threads = 1;  // recorded in the JSON
};

struct SbcReport {
  nlohmann::json record;  // rank 0: every figure, as written to `out`
  std::string summary;    // rank 0: the one-paragraph verdict
};

SbcReport run_sbc(const SbcRequest& request);

}  // namespace simbi::posterior
