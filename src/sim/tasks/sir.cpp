// sir (sbibm): θ = (β, γ) log-normal; SIR ODE over [0, 160] days (Dormand–Prince, rtol = atol = 1e-8),
// x_i ~ Binomial(1000, I(t_i)/N) at days 0, 17, ..., 153 (docs/methods.md §7). Contract: stateless simulator.
#include <array>
#include <cmath>

#include "builtin_tasks.hpp"
#include "simbi/sim/ode.hpp"

namespace simbi::sim::tasks {

namespace {

constexpr double kPopulation = 1e6;  // N
constexpr double kTEnd = 160.0;      // sbibm's saveat grid 0:1:160 (161 points)
constexpr int64_t kTrials = 1000;    // binomial count per observation
constexpr int kNumOut = 10;
// Every 17th point of the saveat grid, by index: days 0, 17, ..., 153.
constexpr std::array<double, kNumOut> kOutTimes = {0.0, 17.0, 34.0, 51.0, 68.0, 85.0, 102.0, 119.0, 136.0, 153.0};

class SirSimulator final : public RowwiseSimulator {
 public:
  int64_t theta_dim() const override { return 2; }
  int64_t x_dim() const override { return kNumOut; }

 protected:
  bool simulate_row(const float* theta, float* x, RandomStream& rng) const override {
    const double beta = theta[0], gamma = theta[1];
    if (!std::isfinite(beta) || !std::isfinite(gamma)) return false;
    const auto rhs = [beta, gamma](double, const std::array<double, 3>& u, std::array<double, 3>& du) {
      const double infection = beta * u[0] * u[1] * (1.0 / kPopulation);
      const double recovery = gamma * u[1];
      du[0] = -infection;
      du[1] = infection - recovery;
      du[2] = recovery;
    };
    std::array<std::array<double, 3>, kNumOut> u;
    const OdeResult res = solve_ode(rhs, std::array<double, 3>{kPopulation - 1.0, 1.0, 0.0}, 0.0, kTEnd, kOutTimes, u);
    if (!res.ok()) return false;
    for (int i = 0; i < kNumOut; ++i) {
      // sbibm casts the solution to float32 before dividing by N and clamping.
      const double infected = static_cast<double>(static_cast<float>(u[i][1]));
      const double p = std::min(1.0, std::max(0.0, infected / kPopulation));
      x[i] = static_cast<float>(rng.binomial(kTrials, p));
    }
    return true;
  }
};

}  // namespace

Task make_sir() {
  Task t;
  t.name = "sir";
  t.description = "SIR epidemic ODE, binomial counts at 10 days (sbibm)";
  t.prior = make_log_normal({std::log(0.4), std::log(0.125)}, {0.5, 0.2});
  t.simulator = std::make_unique<SirSimulator>();
  t.theta_labels = {"beta", "gamma"};
  return t;
}

}  // namespace simbi::sim::tasks
