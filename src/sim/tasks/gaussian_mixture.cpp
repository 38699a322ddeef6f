// gaussian_mixture (sbibm ≥ 1.1): θ ~ U[-10,10]², x ~ 0.5·N(θ, I) + 0.5·N(θ, 0.01·I), with the
// component drawn per simulation (not per batch; sbibm ≥ 1.1.0; earlier versions shared one component per batch).
#include "builtin_tasks.hpp"

namespace simbi::sim::tasks {

namespace {

class GaussianMixtureSimulator final : public RowwiseSimulator {
 public:
  int64_t theta_dim() const override { return 2; }
  int64_t x_dim() const override { return 2; }

 protected:
  bool simulate_row(const float* theta, float* x, RandomStream& rng) const override {
    const double scale = rng.uniform() < 0.5 ? 1.0 : 0.1;  // component stds 1.0 and 0.1
    x[0] = static_cast<float>(theta[0] + scale * rng.normal());
    x[1] = static_cast<float>(theta[1] + scale * rng.normal());
    return true;
  }
};

}  // namespace

Task make_gaussian_mixture() {
  Task t;
  t.name = "gaussian_mixture";
  t.description = "mixture of a wide and a narrow Gaussian around θ (sbibm)";
  t.prior = make_box_uniform({-10.0, -10.0}, {10.0, 10.0});
  t.simulator = std::make_unique<GaussianMixtureSimulator>();
  t.theta_labels = default_theta_labels(2);
  return t;
}

}  // namespace simbi::sim::tasks
