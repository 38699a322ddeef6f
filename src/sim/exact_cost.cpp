// Closed forms of C(θ, x_o) = E d(x, x_o) with d = mse (mean over dims). The mse is quadratic in x, so
// each dimension contributes Var(x_k | θ) + (E[x_k | θ] − x_{o,k})²: only the first two moments of the
// noise enter, and the expectation is exact (no quadrature error). See docs/tasks_gbi.md.
#include "simbi/sim/exact_cost.hpp"

#include <cmath>

#include "simbi/core/error.hpp"
#include "tasks/gbi_tasks.hpp"

namespace simbi::sim {

namespace {

void check_theta(const ExactCost& c, ConstMatrixView theta) {
  require(theta.cols == c.theta_dim(), ErrorKind::invalid_argument,
          "exact cost of " + c.task() + ": θ rows have " + std::to_string(theta.cols) + " values, expected " +
              std::to_string(c.theta_dim()));
}

// gbi_uniform_1d: x = f(θ) + ε, ε ~ U[−w, w]: E (x − x_o)² = (f(θ) − x_o)² + w²/3 (the integral of
// (f + ε − x_o)² over the noise window, divided by its width 2w).
class Uniform1dCost final : public ExactCost {
 public:
  std::string task() const override { return "gbi_uniform_1d"; }
  int64_t theta_dim() const override { return 1; }
  int64_t x_dim() const override { return 1; }
  void cost(ConstMatrixView theta, const float* x_o, double* out) const override {
    check_theta(*this, theta);
    const double w = tasks::kUniform1dNoise, noise_var = w * w / 3.0;
    for (int64_t i = 0; i < theta.rows; ++i) {
      const double e = tasks::uniform_1d_mean(theta(i, 0)) - static_cast<double>(x_o[0]);
      out[i] = e * e + noise_var;
    }
  }
};

// two_moons: x = p + (−|θ1 + θ2|/√2, (−θ1 + θ2)/√2), p = (r·cos a + 0.25, r·sin a), a ~ U(−π/2, π/2),
// r ~ N(0.1, 0.01²) independent. E r = 0.1, E r² = 0.0101, E cos a = 2/π, E cos² a = E sin² a = 1/2,
// E sin a = 0: E p = (0.25 + 0.2/π, 0), Var p = (0.0101/2 − (0.2/π)², 0.0101/2).
class TwoMoonsCost final : public ExactCost {
 public:
  std::string task() const override { return "two_moons"; }
  int64_t theta_dim() const override { return 2; }
  int64_t x_dim() const override { return 2; }
  void cost(ConstMatrixView theta, const float* x_o, double* out) const override {
    check_theta(*this, theta);
    constexpr double kPi = 3.14159265358979323846;
    const double er = 0.1, er2 = 0.1 * 0.1 + 0.01 * 0.01, ecos = 2.0 / kPi;
    const double mean0 = 0.25 + er * ecos, var0 = 0.5 * er2 - (er * ecos) * (er * ecos), var1 = 0.5 * er2;
    const double s2 = std::sqrt(2.0);
    for (int64_t i = 0; i < theta.rows; ++i) {
      const double t1 = theta(i, 0), t2 = theta(i, 1);
      const double e0 = mean0 - std::fabs(t1 + t2) / s2 - static_cast<double>(x_o[0]);
      const double e1 = (-t1 + t2) / s2 - static_cast<double>(x_o[1]);
      out[i] = 0.5 * (var0 + e0 * e0 + var1 + e1 * e1);
    }
  }
};

// gbi_linear_gaussian: x = θ + s + Σ^{1/2}·ξ: C = mean_k [Σ_kk + (s_k + θ_k − x_{o,k})²].
class LinearGaussianCost final : public ExactCost {
 public:
  LinearGaussianCost() : c_(tasks::linear_gaussian_constants()) {}
  std::string task() const override { return "gbi_linear_gaussian"; }
  int64_t theta_dim() const override { return tasks::kLinearGaussianDim; }
  int64_t x_dim() const override { return tasks::kLinearGaussianDim; }
  void cost(ConstMatrixView theta, const float* x_o, double* out) const override {
    check_theta(*this, theta);
    const int64_t d = tasks::kLinearGaussianDim;
    for (int64_t i = 0; i < theta.rows; ++i) {
      double s = 0.0;
      for (int64_t k = 0; k < d; ++k) {
        const size_t kk = static_cast<size_t>(k);
        const double e = c_.shift[kk] + static_cast<double>(theta(i, k)) - static_cast<double>(x_o[k]);
        s += c_.variance[kk] + e * e;
      }
      out[i] = s / static_cast<double>(d);
    }
  }

 private:
  const tasks::LinearGaussianConstants& c_;
};

}  // namespace

double ExactCost::operator()(const float* theta, const float* x_o) const {
  double out = 0.0;
  cost(ConstMatrixView{theta, 1, theta_dim()}, x_o, &out);
  return out;
}

const std::vector<std::string>& exact_cost_tasks() {
  static const std::vector<std::string> names = {"gbi_uniform_1d", "two_moons", "gbi_linear_gaussian"};
  return names;
}

bool has_exact_cost(const std::string& task) {
  for (const auto& n : exact_cost_tasks())
    if (n == task) return true;
  return false;
}

std::unique_ptr<ExactCost> make_exact_cost(const std::string& task) {
  if (task == "gbi_uniform_1d") return std::make_unique<Uniform1dCost>();
  if (task == "two_moons") return std::make_unique<TwoMoonsCost>();
  if (task == "gbi_linear_gaussian") return std::make_unique<LinearGaussianCost>();
  std::string known;
  for (const auto& n : exact_cost_tasks()) known += (known.empty() ? "" : ", ") + n;
  throw Error(ErrorKind::invalid_argument, "task '" + task + "' has no exact cost (tasks with one: " + known + ")");
}

}  // namespace simbi::sim
