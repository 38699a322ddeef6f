// gbi_uniform_1d (ACE benchmark): θ ~ U[−1.5, 1.5], x = Σ_{i=0}^{4} c_i·(0.8·(θ + 0.25))^i + ε,
// ε ~ U[−0.25, 0.25] (docs/tasks_gbi.md). Distance: mse. Contract: stateless simulator.
#include "builtin_tasks.hpp"
#include "gbi_tasks.hpp"

namespace simbi::sim::tasks {

namespace {

class Uniform1dSimulator final : public RowwiseSimulator {
 public:
  int64_t theta_dim() const override { return 1; }
  int64_t x_dim() const override { return 1; }

 protected:
  bool simulate_row(const float* theta, float* x, RandomStream& rng) const override {
    x[0] = static_cast<float>(uniform_1d_mean(theta[0]) + rng.uniform(-kUniform1dNoise, kUniform1dNoise));
    return true;
  }
};

}  // namespace

Task make_gbi_uniform_1d() {
  Task t;
  t.name = "gbi_uniform_1d";
  t.description = "ACE: quartic of θ plus uniform noise, 1-D (GBI benchmark)";
  t.prior = make_box_uniform({-1.5}, {1.5});
  t.simulator = std::make_unique<Uniform1dSimulator>();
  t.theta_labels = default_theta_labels(1);
  t.distance = "mse";
  t.misspecification = Misspecification::box_walk;
  return t;
}

}  // namespace simbi::sim::tasks
