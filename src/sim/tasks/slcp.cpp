// slcp (sbibm): θ ~ U[-3,3]⁵; x = 4 iid points of N₂(m, Σ(θ)) interleaved by point (docs/methods.md §7).
// Also defines the SLCP core that slcp_distractors reuses (slcp_core.hpp).
#include <algorithm>
#include <cmath>

#include "builtin_tasks.hpp"
#include "slcp_core.hpp"

namespace simbi::sim::tasks {

std::unique_ptr<Prior> make_slcp_prior() {
  return make_box_uniform(std::vector<double>(kSlcpThetaDim, -3.0), std::vector<double>(kSlcpThetaDim, 3.0));
}

void simulate_slcp_core(const float* theta, double* out, RandomStream& rng) {
  constexpr double kEps = 1e-6;  // sbibm adds it to the diagonal of Σ
  const double m0 = theta[0], m1 = theta[1];
  const double s1 = static_cast<double>(theta[2]) * theta[2];  // std of coordinate a
  const double s2 = static_cast<double>(theta[3]) * theta[3];  // std of coordinate b
  const double rho = std::tanh(static_cast<double>(theta[4]));
  // Σ = [[s1² + eps, ρ s1 s2], [ρ s1 s2, s2² + eps]] = L Lᵀ with L = [[l00, 0], [l10, l11]].
  const double l00 = std::sqrt(s1 * s1 + kEps);
  const double l10 = rho * s1 * s2 / l00;
  const double l11 = std::sqrt(std::max(s2 * s2 + kEps - l10 * l10, 0.0));
  for (int64_t p = 0; p < kSlcpPoints; ++p) {
    const double z0 = rng.normal(), z1 = rng.normal();
    out[2 * p] = m0 + l00 * z0;
    out[2 * p + 1] = m1 + l10 * z0 + l11 * z1;
  }
}

namespace {

class SlcpSimulator final : public RowwiseSimulator {
 public:
  int64_t theta_dim() const override { return kSlcpThetaDim; }
  int64_t x_dim() const override { return kSlcpDataDim; }

 protected:
  bool simulate_row(const float* theta, float* x, RandomStream& rng) const override {
    double d[kSlcpDataDim];
    simulate_slcp_core(theta, d, rng);
    for (int64_t i = 0; i < kSlcpDataDim; ++i) x[i] = static_cast<float>(d[i]);
    return true;
  }
};

}  // namespace

Task make_slcp() {
  Task t;
  t.name = "slcp";
  t.description = "simple likelihood (4 Gaussian points), complex posterior (sbibm)";
  t.prior = make_slcp_prior();
  t.simulator = std::make_unique<SlcpSimulator>();
  t.theta_labels = default_theta_labels(kSlcpThetaDim);
  return t;
}

}  // namespace simbi::sim::tasks
