#include "simbi/estimators/fmpe.hpp"

#include <cmath>
#include <sstream>

#include "simbi/core/error.hpp"
#include "simbi/core/text.hpp"

namespace simbi::estimators {

namespace {

void check(bool cond, const std::string& message) {
  require(cond, ErrorKind::invalid_argument, "fmpe config: " + message);
}

}  // namespace

FmpeConfig FmpeConfig::from_json(const nlohmann::json& j) {
  FmpeConfig c;
  read_config_dims(j, c.theta_dim, c.x_dim);
  for (const char* k : {"sde", "sigma_max", "beta_min", "beta_max", "t_min"})
    check(!j.contains(k), "'" + std::string(k) + "' is an option of npse (score matching), not of fmpe");
  c.width = j.value("width", c.width);
  check(c.width > 0, "'width' must be positive, got " + std::to_string(c.width));
  c.blocks = j.value("blocks", c.blocks);
  check(c.blocks >= 0, "'blocks' must be >= 0, got " + std::to_string(c.blocks));
  c.time_features = j.value("time_features", c.time_features);
  check(c.time_features >= 0, "'time_features' must be >= 0, got " + std::to_string(c.time_features));
  c.sigma_min = j.value("sigma_min", c.sigma_min);
  check(std::isfinite(c.sigma_min) && c.sigma_min > 0 && c.sigma_min < 1,
        "'sigma_min' must be in (0, 1), got " + format_number(c.sigma_min));
  c.time_prior_exponent = j.value("time_prior_exponent", c.time_prior_exponent);
  check(std::isfinite(c.time_prior_exponent) && c.time_prior_exponent >= 0,
        "'time_prior_exponent' must be >= 0 (0 = uniform times), got " + format_number(c.time_prior_exponent));
  c.solver = nn::OdeSolverOptions::from_json(j, c.solver);
  c.support_prior = j.value("support_prior", nlohmann::json());
  return c;
}

nlohmann::json FmpeConfig::to_json() const {
  nlohmann::json j = {{"method", "fmpe"},       {"theta_dim", theta_dim},
                      {"x_dim", x_dim},         {"width", width},
                      {"blocks", blocks},       {"time_features", time_features},
                      {"sigma_min", sigma_min}, {"time_prior_exponent", time_prior_exponent}};
  solver.to_json(j);
  if (!support_prior.is_null()) j["support_prior"] = support_prior;  // absent: the configs of older models
  return j;
}

Fmpe::Fmpe(const FmpeConfig& config)
    : OdeFlowEstimator(config.theta_dim, config.x_dim, config.solver, "fmpe", config.support_prior), config_(config) {
  check(config_.sigma_min > 0 && config_.sigma_min < 1,
        "'sigma_min' must be in (0, 1), got " + format_number(config_.sigma_min));
  check(config_.time_prior_exponent >= 0, "'time_prior_exponent' must be >= 0");
  check_solver(config_.solver);
  field_ = register_module(
      "field", nn::VectorField(config_.theta_dim, config_.x_dim, config_.width, config_.blocks, config_.time_features));
}

nlohmann::json Fmpe::config() const {
  FmpeConfig c = config_;
  c.solver = solver();
  return c.to_json();
}

torch::Tensor Fmpe::field(const torch::Tensor& theta_t, const torch::Tensor& t, const torch::Tensor& x_z) {
  return field_->forward(theta_t, t, x_z);
}

torch::Tensor Fmpe::time_from_normal(const torch::Tensor& z, double exponent) {
  const torch::Tensor u = 0.5 * torch::erfc(-z / std::sqrt(2.0));  // Φ(z), accurate in both tails
  return exponent == 0.0 ? u : torch::pow(u, 1.0 / (1.0 + exponent));
}

torch::Tensor Fmpe::loss_with_noise(const torch::Tensor& theta, const torch::Tensor& x, const torch::Tensor& noise) {
  const int64_t rows = theta.size(0), d = config_.theta_dim;
  const torch::Tensor n = noise.defined() ? noise : torch::randn({rows, noise_dim()}, theta.options());
  require(n.dim() == 2 && n.size(0) == rows && n.size(1) == noise_dim(), ErrorKind::internal,
          "fmpe: noise must be [" + std::to_string(rows) + ", " + std::to_string(noise_dim()) + "]");
  const torch::Tensor t = time_from_normal(n.slice(1, 0, 1), config_.time_prior_exponent);  // [B, 1]
  const torch::Tensor theta0 = n.slice(1, 1, 1 + d);
  const torch::Tensor theta1 = standardized_theta(theta);
  const double shrink = 1.0 - config_.sigma_min;
  const torch::Tensor theta_t = (1.0 - shrink * t) * theta0 + t * theta1;
  const torch::Tensor target = theta1 - shrink * theta0;
  return (field(theta_t, t, x_z_->forward(x)) - target).pow(2).mean(1);
}

nn::OdeFunction Fmpe::ode(const torch::Tensor& x_z) {
  return [this, x_z](double t, const torch::Tensor& y) { return field(y, torch::full({1}, t, y.options()), x_z); };
}

}  // namespace simbi::estimators
