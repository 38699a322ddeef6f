// lotka_volterra (sbibm): θ = (α, β, γ, δ) log-normal; predator-prey ODE from (30, 1) over [0, 20]
// (Dormand–Prince, rtol = atol = 1e-8); x = [prey(10), predator(10)] at t = 0, 2.1, ..., 18.9, each
// LogNormal(log clamp(u, 1e-10, 1e4), 0.1) (docs/methods.md §7). Contract: stateless simulator.
#include <array>
#include <cmath>

#include "builtin_tasks.hpp"
#include "simbi/sim/ode.hpp"

namespace simbi::sim::tasks {

namespace {

constexpr double kTEnd = 20.0;  // sbibm's saveat grid 0:0.1:20 (201 points)
constexpr int kNumOut = 10;
constexpr double kNoiseStd = 0.1;
// Every 21st point of the saveat grid, by index: t = 21 k / 10.
constexpr std::array<double, kNumOut> kOutTimes = {0.0, 2.1, 4.2, 6.3, 8.4, 10.5, 12.6, 14.7, 16.8, 18.9};

class LotkaVolterraSimulator final : public RowwiseSimulator {
 public:
  int64_t theta_dim() const override { return 4; }
  int64_t x_dim() const override { return 2 * kNumOut; }

 protected:
  bool simulate_row(const float* theta, float* x, RandomStream& rng) const override {
    const double alpha = theta[0], beta = theta[1], gamma = theta[2], delta = theta[3];
    if (!std::isfinite(alpha) || !std::isfinite(beta) || !std::isfinite(gamma) || !std::isfinite(delta)) return false;
    const auto rhs = [=](double, const std::array<double, 2>& u, std::array<double, 2>& du) {
      const double xy = u[0] * u[1];
      du[0] = alpha * u[0] - beta * xy;
      du[1] = -gamma * u[1] + delta * xy;
    };
    std::array<std::array<double, 2>, kNumOut> u;
    const OdeResult res = solve_ode(rhs, std::array<double, 2>{30.0, 1.0}, 0.0, kTEnd, kOutTimes, u);
    if (!res.ok()) return false;
    for (int species = 0; species < 2; ++species)  // all prey values first, then all predator values
      for (int i = 0; i < kNumOut; ++i) {
        const double level = static_cast<float>(u[i][species]);  // sbibm casts the solution to float32
        const double loc = std::log(std::min(1e4, std::max(1e-10, level)));
        x[species * kNumOut + i] = static_cast<float>(std::exp(loc + kNoiseStd * rng.normal()));
      }
    return true;
  }
};

}  // namespace

Task make_lotka_volterra() {
  Task t;
  t.name = "lotka_volterra";
  t.description = "Lotka-Volterra predator-prey ODE, log-normal noise at 10 times (sbibm)";
  t.prior = make_log_normal({-0.125, -3.0, -0.125, -3.0}, {0.5, 0.5, 0.5, 0.5});
  t.simulator = std::make_unique<LotkaVolterraSimulator>();
  t.theta_labels = {"alpha", "beta", "gamma", "delta"};
  return t;
}

}  // namespace simbi::sim::tasks
