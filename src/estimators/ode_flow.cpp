#include "simbi/estimators/ode_flow.hpp"

#include <cmath>
#include <limits>

#include "simbi/core/error.hpp"

namespace simbi::estimators {

namespace {
constexpr double kLog2Pi = 1.8378770664093454836;  // log(2π)
}  // namespace

OdeFlowEstimator::OdeFlowEstimator(int64_t theta_dim, int64_t x_dim, const nn::OdeSolverOptions& solver,
                                   std::string name, const nlohmann::json& support_prior)
    : theta_dim_(theta_dim), solver_(solver), name_(std::move(name)) {
  require(theta_dim > 0 && x_dim > 0, ErrorKind::invalid_argument,
          name_ + " config: 'theta_dim' and 'x_dim' must be positive");
  solver_.validate();  // "pc" is checked by check_solver() in the subclass's constructor
  theta_z_ = register_module("theta_zscore", nn::ZScore(theta_dim));
  x_z_ = register_module("x_zscore", nn::ZScore(x_dim));
  if (!support_prior.is_null()) {
    support_.emplace(support_prior, name_ + " support_prior");
    require(support_->dim() == theta_dim, ErrorKind::format,
            name_ + ": the support prior has " + std::to_string(support_->dim()) + " dimensions, θ has " +
                std::to_string(theta_dim));
  }
}

torch::Tensor OdeFlowEstimator::standardized_theta(const torch::Tensor& theta) const {
  return theta_z_->forward(support_ ? support_->to_unconstrained(theta).u : theta);
}

torch::Tensor OdeFlowEstimator::original_theta(const torch::Tensor& state_z) const {
  const torch::Tensor v = theta_z_->inverse(state_z);
  return support_ ? support_->from_unconstrained(v) : v;
}

void OdeFlowEstimator::fit_standardization(const torch::Tensor& theta, const torch::Tensor& x) {
  theta_z_->fit(support_ ? support_->to_unconstrained(theta).u : theta);
  x_z_->fit(x);
}

void OdeFlowEstimator::check_solver(const nn::OdeSolverOptions& solver) const {
  solver.validate();
  require(solver.solver != "pc" || has_reverse_sde(), ErrorKind::invalid_argument,
          name_ + ": solver 'pc' (predictor–corrector) samples a score model's reverse-time SDE; " + name_ +
              " has none (use rk4 or dopri5)");
}

void OdeFlowEstimator::set_solver(const nn::OdeSolverOptions& solver) {
  check_solver(solver);
  solver_ = solver;
}

nn::OdeSolverOptions OdeFlowEstimator::density_solver() const {
  if (solver_.solver != "pc") return solver_;
  nn::OdeSolverOptions rk4 = solver_;
  rk4.solver = "rk4";
  return rk4;
}

torch::Tensor OdeFlowEstimator::sample_reverse_sde(const torch::Tensor&, const torch::Tensor&, at::Generator&) {
  throw Error(ErrorKind::internal, name_ + ": no reverse-time SDE");
}

// One observation [dx] (or [1, dx]) → [1, dx]; one x per θ row [rows, dx] stays as it is.
torch::Tensor OdeFlowEstimator::observation_z(const torch::Tensor& x_o, int64_t rows) const {
  const bool per_row = x_o.dim() == 2 && x_o.size(0) == rows && rows != 1;
  return x_z_->forward((per_row ? x_o : x_o.reshape({1, -1})).to(theta_z_->mean().options()));
}

torch::Tensor OdeFlowEstimator::sample_posterior(const torch::Tensor& x_o, int64_t n, at::Generator& gen) {
  require(n >= 0, ErrorKind::invalid_argument, name_ + ": the number of draws must be >= 0");
  torch::NoGradGuard no_grad;
  const torch::Tensor base =
      base_std() * torch::randn({n, theta_dim_}, gen, torch::kFloat).to(theta_z_->mean().options());
  if (n == 0) return base;
  if (solver_.solver == "pc") return original_theta(sample_reverse_sde(observation_z(x_o, 1), base, gen));
  return original_theta(nn::integrate(ode(observation_z(x_o, 1)), base, base_time(), data_time(), solver_));
}

torch::Tensor OdeFlowEstimator::log_prob(const torch::Tensor& theta, const torch::Tensor& x_o) {
  torch::NoGradGuard no_grad;
  require(theta.dim() == 2 && theta.size(1) == theta_dim_, ErrorKind::invalid_argument,
          name_ + " log_prob: theta must be [B, " + std::to_string(theta_dim_) + "]");
  const int64_t rows = theta.size(0);
  require(x_o.numel() == x_z_->mean().numel() || (x_o.dim() == 2 && x_o.size(0) == rows), ErrorKind::invalid_argument,
          name_ + " log_prob: x must be one observation [dx] or one row per θ [" + std::to_string(rows) + ", dx]");
  // With a support prior the ODE's state is u = T⁻¹(θ): q(θ) = q_u(u) / |det ∂T/∂u|.
  const torch::Tensor on = theta.to(theta_z_->mean().options());
  torch::Tensor v = on, log_det, inside;
  if (support_) {
    SupportTransform::Unconstrained u = support_->to_unconstrained(on);
    v = u.u;
    log_det = u.log_det.to(on.device());
    inside = u.inside.to(on.device());
  }
  // From the data end back to the base: log q(θ) = log N(θ_base; 0, I) + ∫ div f dt along the path.
  const nn::FlowEnd end = nn::integrate_with_log_density(ode(observation_z(x_o, rows)), theta_z_->forward(v),
                                                         data_time(), base_time(), density_solver());
  const double s = base_std();
  const torch::Tensor base =
      -0.5 * end.state.pow(2).sum(1) / (s * s) - static_cast<double>(theta_dim_) * (0.5 * kLog2Pi + std::log(s));
  torch::Tensor lp = base + end.log_density - theta_z_->log_abs_det_inverse();
  if (!support_) return lp;
  lp = lp - log_det;
  return torch::where(inside, lp, torch::full_like(lp, -std::numeric_limits<float>::infinity()));
}

}  // namespace simbi::estimators
