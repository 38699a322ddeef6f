#include "simbi/estimators/npse.hpp"

#include <cmath>
#include <sstream>

#include "simbi/core/error.hpp"
#include "simbi/core/text.hpp"

namespace simbi::estimators {

namespace {

void check(bool cond, const std::string& message) {
  require(cond, ErrorKind::invalid_argument, "npse config: " + message);
}

void validate(const NpseConfig& c) {
  check(c.theta_dim > 0 && c.x_dim > 0, "'theta_dim' and 'x_dim' must be positive");
  check(c.width > 0, "'width' must be positive, got " + std::to_string(c.width));
  check(c.blocks >= 0, "'blocks' must be >= 0, got " + std::to_string(c.blocks));
  check(c.time_features >= 0, "'time_features' must be >= 0, got " + std::to_string(c.time_features));
  check(std::isfinite(c.beta_min) && c.beta_min > 0, "'beta_min' must be positive, got " + format_number(c.beta_min));
  check(
      std::isfinite(c.beta_max) && c.beta_max > c.beta_min,
      "'beta_max' must be larger than beta_min = " + format_number(c.beta_min) + ", got " + format_number(c.beta_max));
  check(std::isfinite(c.t_min) && c.t_min > 0 && c.t_min < 1,
        "'t_min' must be in (0, 1), got " + format_number(c.t_min));
  c.solver.validate();
}

}  // namespace

NpseConfig NpseConfig::from_json(const nlohmann::json& j) {
  NpseConfig c;
  read_config_dims(j, c.theta_dim, c.x_dim);
  c.width = j.value("width", c.width);
  c.blocks = j.value("blocks", c.blocks);
  c.time_features = j.value("time_features", c.time_features);
  c.beta_min = j.value("beta_min", c.beta_min);
  c.beta_max = j.value("beta_max", c.beta_max);
  c.t_min = j.value("t_min", c.t_min);
  c.solver = nn::OdeSolverOptions::from_json(j, c.solver);
  validate(c);
  return c;
}

nlohmann::json NpseConfig::to_json() const {
  nlohmann::json j = {{"method", "npse"},     {"theta_dim", theta_dim}, {"x_dim", x_dim},
                      {"width", width},       {"blocks", blocks},       {"time_features", time_features},
                      {"beta_min", beta_min}, {"beta_max", beta_max},   {"t_min", t_min}};
  solver.to_json(j);
  return j;
}

Npse::Npse(const NpseConfig& config)
    : OdeFlowEstimator(config.theta_dim, config.x_dim, config.solver, "npse"), config_(config) {
  validate(config_);
  net_ = register_module(
      "net", nn::VectorField(config_.theta_dim, config_.x_dim, config_.width, config_.blocks, config_.time_features));
}

nlohmann::json Npse::config() const {
  NpseConfig c = config_;
  c.solver = solver();
  return c.to_json();
}

torch::Tensor Npse::half_integral(const torch::Tensor& t) const {
  return 0.5 * (config_.beta_min * t + 0.5 * (config_.beta_max - config_.beta_min) * t * t);
}

double Npse::half_integral(double t) const {
  return 0.5 * (config_.beta_min * t + 0.5 * (config_.beta_max - config_.beta_min) * t * t);
}

double Npse::alpha(double t) const { return std::exp(-half_integral(t)); }

double Npse::sigma(double t) const { return std::sqrt(-std::expm1(-2.0 * half_integral(t))); }

torch::Tensor Npse::loss_with_noise(const torch::Tensor& theta, const torch::Tensor& x, const torch::Tensor& noise) {
  const int64_t rows = theta.size(0), d = config_.theta_dim;
  const torch::Tensor n = noise.defined() ? noise : torch::randn({rows, noise_dim()}, theta.options());
  require(n.dim() == 2 && n.size(0) == rows && n.size(1) == noise_dim(), ErrorKind::internal,
          "npse: noise must be [" + std::to_string(rows) + ", " + std::to_string(noise_dim()) + "]");
  const torch::Tensor u = 0.5 * torch::erfc(-n.slice(1, 0, 1) / std::sqrt(2.0));  // Φ: uniform on [0, 1]
  const torch::Tensor t = config_.t_min + (1.0 - config_.t_min) * u;              // [B, 1]
  const torch::Tensor eps = n.slice(1, 1, 1 + d);
  const torch::Tensor it = half_integral(t);
  // σ² via expm1: at t ≈ t_min it is ~1e-4 and 1 − α² would lose most of float's digits.
  const torch::Tensor a = torch::exp(-it), s = torch::sqrt(-torch::expm1(-2.0 * it));
  const torch::Tensor theta_t = a * theta_z_->forward(theta) + s * eps;
  return (net_->forward(theta_t, t, x_z_->forward(x)) - eps).pow(2).mean(1);
}

nn::OdeFunction Npse::ode(const torch::Tensor& x_z) {
  return [this, x_z](double t, const torch::Tensor& y) {
    const torch::Tensor eps_hat = net_->forward(y, torch::full({1}, t, y.options()), x_z);
    // dθ/dt = −½β(t)·(θ + score), score = −ε̂/σ(t)
    return (-0.5 * beta(t)) * (y - eps_hat / sigma(t));
  };
}

}  // namespace simbi::estimators
