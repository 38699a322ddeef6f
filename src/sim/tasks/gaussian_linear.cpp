// gaussian_linear (sbibm): θ ~ N(0, 0.1·I₁₀), x ~ N(θ, 0.1·I₁₀) — variances, not stds (docs/methods.md §7).
// Also defines the simulator that gaussian_linear_uniform shares (gaussian_linear_common.hpp).
#include <cmath>

#include "builtin_tasks.hpp"
#include "gaussian_linear_common.hpp"

namespace simbi::sim::tasks {

namespace {

class GaussianLinearSimulator final : public RowwiseSimulator {
 public:
  int64_t theta_dim() const override { return kGaussianLinearDim; }
  int64_t x_dim() const override { return kGaussianLinearDim; }

 protected:
  bool simulate_row(const float* theta, float* x, RandomStream& rng) const override {
    const double noise_std = std::sqrt(kGaussianLinearVariance);
    for (int64_t i = 0; i < kGaussianLinearDim; ++i) x[i] = static_cast<float>(theta[i] + noise_std * rng.normal());
    return true;
  }
};

}  // namespace

std::unique_ptr<Simulator> make_gaussian_linear_simulator() { return std::make_unique<GaussianLinearSimulator>(); }

Task make_gaussian_linear() {
  constexpr int64_t d = kGaussianLinearDim;
  std::vector<double> cov(d * d, 0.0);
  for (int64_t i = 0; i < d; ++i) cov[i * d + i] = kGaussianLinearVariance;
  Task t;
  t.name = "gaussian_linear";
  t.description = "Gaussian prior and likelihood, closed-form posterior (sbibm)";
  t.prior = make_gaussian(std::vector<double>(d, 0.0), std::move(cov));
  t.simulator = make_gaussian_linear_simulator();
  t.theta_labels = default_theta_labels(d);
  return t;
}

}  // namespace simbi::sim::tasks
