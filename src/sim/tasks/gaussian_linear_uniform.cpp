// gaussian_linear_uniform (sbibm): θ ~ U[-1,1]¹⁰, x ~ N(θ, 0.1·I₁₀); the simulator is gaussian_linear's.
#include "builtin_tasks.hpp"
#include "gaussian_linear_common.hpp"

namespace simbi::sim::tasks {

Task make_gaussian_linear_uniform() {
  constexpr int64_t d = kGaussianLinearDim;
  Task t;
  t.name = "gaussian_linear_uniform";
  t.description = "uniform prior, Gaussian likelihood, truncated-Gaussian posterior (sbibm)";
  t.prior = make_box_uniform(std::vector<double>(d, -1.0), std::vector<double>(d, 1.0));
  t.simulator = make_gaussian_linear_simulator();
  t.theta_labels = default_theta_labels(d);
  return t;
}

}  // namespace simbi::sim::tasks
