#include "simbi/estimators/nle.hpp"

#include "simbi/core/error.hpp"

namespace simbi::estimators {

NleConfig NleConfig::from_json(const nlohmann::json& j) {
  NleConfig c;
  read_config_dims(j, c.theta_dim, c.x_dim);
  if (j.contains("flow")) c.flow = nn::FlowConfig::from_json(j["flow"]);
  c.flow.resolved_conditioner(c.x_dim);  // coupling on 1-D x fails here, at configuration time
  return c;
}

nlohmann::json NleConfig::to_json() const {
  return {{"method", "nle"}, {"theta_dim", theta_dim}, {"x_dim", x_dim}, {"flow", flow.to_json()}};
}

Nle::Nle(const NleConfig& config) : config_(config) {
  require(config_.theta_dim > 0 && config_.x_dim > 0, ErrorKind::invalid_argument, "NLE: dimensions must be positive");
  theta_z_ = register_module("theta_zscore", nn::ZScore(config_.theta_dim));
  x_z_ = register_module("x_zscore", nn::ZScore(config_.x_dim));
  flow_ = register_module("flow", nn::ConditionalFlow(config_.flow, config_.x_dim, config_.theta_dim));
}

void Nle::fit_standardization(const torch::Tensor& theta, const torch::Tensor& x) {
  theta_z_->fit(theta);
  x_z_->fit(x);
}

torch::Tensor Nle::log_likelihood(const torch::Tensor& theta, const torch::Tensor& x) {
  require(
      theta.dim() == 2 && theta.size(1) == config_.theta_dim && x.dim() == 2 && x.size(1) == config_.x_dim &&
          x.size(0) == theta.size(0),
      ErrorKind::invalid_argument,
      "NLE: θ must be [B, " + std::to_string(config_.theta_dim) + "] and x [B, " + std::to_string(config_.x_dim) + "]");
  // q(x | θ) = q_z(z(x) | z(θ)) / Π std_x: the z-scoring's log-det makes it a density in x's units.
  return flow_->log_prob(x_z_->forward(x), theta_z_->forward(theta)) - x_z_->log_abs_det_inverse();
}

torch::Tensor Nle::log_likelihood_iid(const torch::Tensor& theta, const torch::Tensor& x) {
  const torch::Tensor rows = x.dim() == 1 ? x.reshape({1, -1}) : x;
  require(theta.dim() == 2 && rows.dim() == 2 && rows.size(1) == config_.x_dim && rows.size(0) > 0,
          ErrorKind::invalid_argument,
          "NLE: the observation must be [" + std::to_string(config_.x_dim) + "] or [m, " +
              std::to_string(config_.x_dim) + "]");
  const int64_t b = theta.size(0), m = rows.size(0);
  if (m == 1) return log_likelihood(theta, rows.expand({b, config_.x_dim}));
  // Row (i, j) of the flattened batch pairs θ_i with x_j; summed over j.
  const torch::Tensor t = theta.repeat_interleave(m, 0);
  const torch::Tensor xs = rows.repeat({b, 1});
  return log_likelihood(t, xs).reshape({b, m}).sum(1);
}

}  // namespace simbi::estimators
