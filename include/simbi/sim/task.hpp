// A task = a prior and a simulator under one name, and the registry of built-in tasks.
// Contract: make_task() returns a fresh Task (its simulator is owned by the caller's thread).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "simbi/sim/prior.hpp"
#include "simbi/sim/simulator.hpp"

namespace simbi::sim {

// How `simbi observe --kind misspecified` makes observations that the model cannot produce
// (docs/tasks_gbi.md): none (refused), the box walk (prior-predictive box, points pushed out of it), or a separate
// misspecified simulator run at prior draws.
enum class Misspecification { none, box_walk, simulator };

struct Task {
  std::string name;
  std::string description;  // one line for `simbi tasks`
  std::unique_ptr<Prior> prior;
  std::unique_ptr<Simulator> simulator;
  std::vector<std::string> theta_labels;  // CSV header of θ (e.g. parameter_1.. or the benchmark's names)
  // The shape of one x row when it is more than a flat feature vector, row-major, e.g. {channels,
  // length} for a multichannel time series (lorenz96: {396, 1000}); its product is x_dim(). Empty: flat.
  // Stored in the simulation store as the attribute `x_shape` for encoders that need the structure.
  std::vector<int64_t> x_shape;
  // The task's distance d(x, x') between two x rows (distance.hpp: make_distance(task) builds it):
  // a registered name and its parameters as a JSON object text (e.g. mmd2's set shape).
  std::string distance = "mse";
  std::string distance_params = "{}";
  Misspecification misspecification = Misspecification::none;
  // With Misspecification::simulator: the simulator that makes misspecified x (same dims), else null.
  std::unique_ptr<Simulator> misspecified_simulator;

  int64_t theta_dim() const { return prior->dim(); }
  int64_t x_dim() const { return simulator->x_dim(); }
};

struct TaskInfo {
  std::string name;
  Task (*make)();
};

// Every built-in task, in the order `simbi tasks` lists them.
const std::vector<TaskInfo>& builtin_tasks();
bool is_builtin_task(const std::string& name);
// Throws Error(invalid_argument) naming the known tasks when `name` is not one of them.
Task make_task(const std::string& name);

// parameter_1..parameter_d
std::vector<std::string> default_theta_labels(int64_t dim);

}  // namespace simbi::sim
