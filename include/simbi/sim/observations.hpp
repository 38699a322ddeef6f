// Making observations x_o for a task (docs/tasks_gbi.md): specified (prior-predictive draws, θ kept) and
// misspecified (the prior-predictive box walk, or the task's misspecified simulator). What
// `simbi observe` runs on rank 0. Contract: serial; the result depends on (task, kind, options) only.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "simbi/core/matrix.hpp"
#include "simbi/sim/task.hpp"

namespace simbi::sim {

enum class ObservationKind { specified, misspecified };
// "specified" | "misspecified"; Error(invalid_argument) otherwise.
ObservationKind parse_observation_kind(const std::string& text);
const char* to_string(ObservationKind kind);

struct ObserveOptions {
  int64_t count = 10;                // observations to make (> 0)
  uint64_t seed = 1;                 // streams (seed, StreamPurpose::observation, 0..4)
  int64_t box_simulations = 100000;  // prior-predictive simulations that define the box (box walk)
  int64_t max_steps = 10000;         // walk steps before giving up (box walk)
  double step_std = 0.5;             // a step moves every coordinate by ±step_std·std_d
};

struct Observations {
  Matrix theta;  // [count, dθ]: the θ each x was simulated at (misspecified: the walk's starting θ)
  Matrix x;      // [count, dx]
  // Box walk only: the prior-predictive box and spread (per dimension of x), and the walk's length.
  std::vector<double> box_min, box_max, box_std;
  int64_t box_rows = 0;  // finite prior-predictive rows the box was computed from
  int64_t max_walk_steps = 0;
  int64_t failed_draws = 0;  // simulations that failed (NaN) and were redrawn
};

// Whether x lies inside the box [box_min, box_max] in every dimension.
bool inside_box(const float* x, const std::vector<double>& box_min, const std::vector<double>& box_max);

// Error(invalid_argument) for count <= 0 or, for misspecified, a task without a recipe
// (Task::misspecification == none); Error(numeric) when simulations keep failing or a point is still
// inside the box after max_steps.
Observations make_observations(Task& task, ObservationKind kind, const ObserveOptions& options);

}  // namespace simbi::sim
