// Distances d(x, x') between two simulator outputs (rows of x), as ACE regresses them (docs/methods.md §2):
// mse, mmd2 (sets of points), zmae (z-scored MAE with scales fitted on training x). Pluggable: each is a
// Distance built by name; a task names its own (Task::distance). Contract: after construction (and
// fit(), for distances that need it) a Distance is immutable, so const calls may run on many threads;
// arithmetic is in double on float32 rows; a NaN in either row gives NaN (never throws per row).
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "simbi/core/matrix.hpp"

namespace simbi::sim {

struct Task;

class Distance {
 public:
  virtual ~Distance() = default;
  // The registered name ("mse", "mmd2", "zmae").
  virtual std::string name() const = 0;
  // Length of the x rows it compares.
  virtual int64_t dim() const = 0;
  // d(a, b) for two rows of dim() floats.
  virtual double operator()(const float* a, const float* b) const = 0;
  // d(a_i, b_i) for n pairs of rows, a and b row-major [n, dim()] → out[n].
  virtual void pairs(const float* a, const float* b, int64_t n, double* out) const;
  // d(a_i, b) for n rows a [n, dim()] and one row b → out[n] (e.g. posterior-predictive x vs x_o).
  virtual void to_one(const float* a, int64_t n, const float* b, double* out) const;
  // Same, as matrix views (Error(invalid_argument) on a shape mismatch).
  void pairs(ConstMatrixView a, ConstMatrixView b, double* out) const;

  // Distances with data-dependent scales (zmae) learn them here from training simulations x [N, dim()]
  // (rows with a non-finite value are skipped); the others ignore it.
  virtual void fit(ConstMatrixView x_train) { (void)x_train; }
  virtual bool needs_fit() const { return false; }
  // Whether the distance can be evaluated (false for a zmae without scales).
  virtual bool ready() const { return true; }

  // {"name": ..., "dim": ..., parameters...}: distance_from_json() rebuilds an equal distance
  // (fitted scales included) — what a trained model stores.
  virtual nlohmann::json to_json() const = 0;
  virtual std::unique_ptr<Distance> clone() const = 0;
};

// The registered names, in order: mse, mmd2, zmae.
const std::vector<std::string>& distance_names();

// A distance by name for rows of x_dim numbers. Parameters (a JSON object; absent keys take defaults):
//   mse:  none — mean over dims of (a_k − b_k)².
//   mmd2: "set_size" m and "point_dim" D with m·D = x_dim (default: m = x_dim, D = 1), "gamma" (0.01):
//         biased MMD² between the sets {a_j} and {b_j} of m points (point j = values j·D..j·D+D−1),
//         kernel exp(−gamma·‖u − v‖²), all m² pairs of each term (diagonal included).
//   zmae: optional "scales" (x_dim positive numbers s_k) — mean_k |a_k − b_k| / s_k; without scales it
//         must be fit() on the training x (s_k = std of feature k, N − 1 denominator, as torch.std) before use.
// Error(invalid_argument) for an unknown name (naming the known ones) or bad parameters.
std::unique_ptr<Distance> make_distance(const std::string& name, int64_t x_dim,
                                        const nlohmann::json& params = nlohmann::json::object());
// The task's own distance (Task::distance with Task::distance_params, for rows of task.x_dim()).
std::unique_ptr<Distance> make_distance(const Task& task);
// From Distance::to_json() (or a config): {"name": ..., "dim": ..., params}. Error(format) names what
// is missing; unknown names as make_distance.
std::unique_ptr<Distance> distance_from_json(const nlohmann::json& spec);

}  // namespace simbi::sim
