// The posterior-predictive distance of posterior samples (docs/methods.md §5, the ACE paper's headline
// metric): simulate one x per θ draw with the task's simulator and average the task's distance d(x, x_o).
// The draws are split over the ranks (row i uses the simulation stream (seed, i): the result does not
// depend on the rank count); failed simulations are left out and counted. out_sims keeps the simulated x
// (rank 0, in sample order: a posterior-predictive check of the features); a model file supplies the
// distance of an ACE model (a fitted z-scored MAE needs the scales of the training simulations, which
// the model keeps). Contract: COLLECTIVE over simbi's world; bad input is an agreed simbi::Error.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace simbi::posterior {

struct PredictiveRequest {
  std::string task, samples, observation;
  int64_t observation_row = 1;  // 1-based
  std::string distance;         // "" = the task's own
  std::string model;            // take the distance from this ACE model instead
  int64_t max_samples = 0;      // 0 = all
  uint64_t seed = 1;
  std::string out, out_sims;  // the JSON and the simulated x as CSV ("" = none)
};

struct PredictiveDistance {
  nlohmann::json record;  // as written to `out`
  std::string distance;   // the distance's name
  double mean = 0.0, sd = 0.0, sem = 0.0;
  int64_t used = 0, failed = 0;  // simulations averaged, failed
};

PredictiveDistance predictive_distance(const PredictiveRequest& request);

}  // namespace simbi::posterior
