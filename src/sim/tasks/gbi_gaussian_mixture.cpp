// gbi_gaussian_mixture (ACE benchmark): θ ~ U[−10, 10]², x = 5 iid 2-D trials (x[2j], x[2j+1]), each
// 0.5·N(θ, I₂) + 0.5·N(θ, 0.01·I₂) with the component drawn per trial. Misspecified simulator (observe):
// each trial 0.5·N(θ, I₂) + 0.5·N(sign(θ)·12.5, 0.25·I₂). Distance: mmd2 over the set of 5 points
// (docs/tasks_gbi.md). Contract: stateless simulators.
#include "builtin_tasks.hpp"
#include "gbi_tasks.hpp"

namespace simbi::sim::tasks {

namespace {

double sign(double v) { return v > 0.0 ? 1.0 : (v < 0.0 ? -1.0 : 0.0); }  // torch.sign: sign(0) = 0

class MixtureSetSimulator final : public RowwiseSimulator {
 public:
  explicit MixtureSetSimulator(bool misspecified) : misspecified_(misspecified) {}
  int64_t theta_dim() const override { return kMixturePointDim; }
  int64_t x_dim() const override { return kMixtureTrials * kMixturePointDim; }

 protected:
  bool simulate_row(const float* theta, float* x, RandomStream& rng) const override {
    for (int64_t j = 0; j < kMixtureTrials; ++j) {
      const bool wide = rng.uniform() < 0.5;
      for (int64_t k = 0; k < kMixturePointDim; ++k) {
        double v;
        if (wide)
          v = theta[k] + rng.normal();  // N(θ, I)
        else if (misspecified_)
          v = sign(theta[k]) * 12.5 + 0.5 * rng.normal();  // N(sign(θ)·12.5, 0.25·I)
        else
          v = theta[k] + 0.1 * rng.normal();  // N(θ, 0.01·I)
        x[j * kMixturePointDim + k] = static_cast<float>(v);
      }
    }
    return true;
  }

 private:
  bool misspecified_;
};

}  // namespace

Task make_gbi_gaussian_mixture() {
  Task t;
  t.name = "gbi_gaussian_mixture";
  t.description = "ACE: 5 iid trials of a wide+narrow Gaussian mixture around θ, set-valued x (GBI benchmark)";
  t.prior = make_box_uniform({-10.0, -10.0}, {10.0, 10.0});
  t.simulator = std::make_unique<MixtureSetSimulator>(false);
  t.theta_labels = default_theta_labels(2);
  t.distance = "mmd2";
  t.distance_params = R"({"set_size": 5, "point_dim": 2, "gamma": 0.01})";
  t.misspecification = Misspecification::simulator;
  t.misspecified_simulator = std::make_unique<MixtureSetSimulator>(true);
  return t;
}

}  // namespace simbi::sim::tasks
