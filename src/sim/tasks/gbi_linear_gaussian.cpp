// gbi_linear_gaussian (ACE benchmark; not sbibm's gaussian_linear): θ ~ N(0, I₁₀), x = θ + s + L·ξ,
// ξ ~ N(0, I), with the shift s and the diagonal covariance Σ = diag(|ν|) (L = Σ^{1/2}) fixed by the
// task seed (gbi_tasks.hpp, docs/tasks_gbi.md). Distance: mse. Contract: stateless simulator.
#include <cmath>

#include "builtin_tasks.hpp"
#include "gbi_tasks.hpp"

namespace simbi::sim::tasks {

const LinearGaussianConstants& linear_gaussian_constants() {
  static const LinearGaussianConstants c = [] {
    LinearGaussianConstants k;
    RandomStream rng(kLinearGaussianTaskSeed, StreamPurpose::task_definition, 0);
    for (int64_t i = 0; i < kLinearGaussianDim; ++i) k.shift.push_back(rng.normal());
    for (int64_t i = 0; i < kLinearGaussianDim; ++i) k.variance.push_back(std::fabs(rng.normal()));
    return k;
  }();
  return c;
}

namespace {

class LinearGaussianSimulator final : public RowwiseSimulator {
 public:
  LinearGaussianSimulator() : c_(linear_gaussian_constants()) {
    for (double v : c_.variance) sd_.push_back(std::sqrt(v));
  }
  int64_t theta_dim() const override { return kLinearGaussianDim; }
  int64_t x_dim() const override { return kLinearGaussianDim; }

 protected:
  bool simulate_row(const float* theta, float* x, RandomStream& rng) const override {
    for (int64_t k = 0; k < kLinearGaussianDim; ++k)
      x[k] =
          static_cast<float>(theta[k] + c_.shift[static_cast<size_t>(k)] + sd_[static_cast<size_t>(k)] * rng.normal());
    return true;
  }

 private:
  const LinearGaussianConstants& c_;
  std::vector<double> sd_;
};

}  // namespace

Task make_gbi_linear_gaussian() {
  constexpr int64_t d = kLinearGaussianDim;
  std::vector<double> cov(d * d, 0.0);
  for (int64_t i = 0; i < d; ++i) cov[i * d + i] = 1.0;
  Task t;
  t.name = "gbi_linear_gaussian";
  t.description = "ACE: θ + fixed shift + fixed diagonal Gaussian noise, 10-D (GBI benchmark)";
  t.prior = make_gaussian(std::vector<double>(d, 0.0), std::move(cov));
  t.simulator = std::make_unique<LinearGaussianSimulator>();
  t.theta_labels = default_theta_labels(d);
  t.distance = "mse";
  t.misspecification = Misspecification::box_walk;
  return t;
}

}  // namespace simbi::sim::tasks
