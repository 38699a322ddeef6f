// two_moons (sbibm; also an ACE task): θ ~ U[-1,1]², x = crescent noise + a shift of θ rotated by -π/4
// (docs/methods.md §7). Distance mse; misspecified observations by the box walk.
#include <cmath>

#include "builtin_tasks.hpp"

namespace simbi::sim::tasks {

namespace {

class TwoMoonsSimulator final : public RowwiseSimulator {
 public:
  int64_t theta_dim() const override { return 2; }
  int64_t x_dim() const override { return 2; }

 protected:
  bool simulate_row(const float* theta, float* x, RandomStream& rng) const override {
    constexpr double kPi = 3.14159265358979323846;
    const double a = rng.uniform(-0.5 * kPi, 0.5 * kPi);
    const double r = rng.normal(0.1, 0.01);
    const double px = r * std::cos(a) + 0.25, py = r * std::sin(a);
    const double t1 = theta[0], t2 = theta[1];
    x[0] = static_cast<float>(px - std::fabs(t1 + t2) / std::sqrt(2.0));
    x[1] = static_cast<float>(py + (-t1 + t2) / std::sqrt(2.0));
    return true;
  }
};

}  // namespace

Task make_two_moons() {
  Task t;
  t.name = "two_moons";
  t.description = "crescent-shaped bimodal posterior (sbibm)";
  t.prior = make_box_uniform({-1.0, -1.0}, {1.0, 1.0});
  t.simulator = std::make_unique<TwoMoonsSimulator>();
  t.theta_labels = default_theta_labels(2);
  t.distance = "mse";  // ACE's distance for two_moons (mean over the 2 dims)
  t.misspecification = Misspecification::box_walk;
  return t;
}

}  // namespace simbi::sim::tasks
