// Exact expected costs C(θ, x_o) = E_{x~p(x|θ)} d(x, x_o) (d = the task's distance) for the tasks where
// it has a closed form: gbi_uniform_1d, two_moons, gbi_linear_gaussian (docs/tasks_gbi.md). Used to check
// ACE's learned cost and as the potential of the ground-truth GBI posterior. Contract: immutable after
// construction (const calls are thread-safe); double arithmetic on float32 θ and x_o rows.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "simbi/core/matrix.hpp"

namespace simbi::sim {

class ExactCost {
 public:
  virtual ~ExactCost() = default;
  virtual std::string task() const = 0;
  virtual int64_t theta_dim() const = 0;
  virtual int64_t x_dim() const = 0;
  // C(θ_i, x_o) for θ rows [n, theta_dim()] and one observation x_o (x_dim() floats) → out[n].
  // Error(invalid_argument) when theta.cols != theta_dim().
  virtual void cost(ConstMatrixView theta, const float* x_o, double* out) const = 0;
  // One θ row.
  double operator()(const float* theta, const float* x_o) const;
};

// Tasks with an exact cost: gbi_uniform_1d, two_moons, gbi_linear_gaussian.
const std::vector<std::string>& exact_cost_tasks();
bool has_exact_cost(const std::string& task);
// Error(invalid_argument) naming the tasks that have one when `task` has none.
std::unique_ptr<ExactCost> make_exact_cost(const std::string& task);

}  // namespace simbi::sim
