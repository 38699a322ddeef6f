#include "simbi/estimators/ode_flow.hpp"

#include <cmath>

#include "simbi/core/error.hpp"

namespace simbi::estimators {

namespace {
constexpr double kLog2Pi = 1.8378770664093454836;  // log(2π)
}  // namespace

OdeFlowEstimator::OdeFlowEstimator(int64_t theta_dim, int64_t x_dim, const nn::OdeSolverOptions& solver,
                                   std::string name)
    : theta_dim_(theta_dim), solver_(solver), name_(std::move(name)) {
  require(theta_dim > 0 && x_dim > 0, ErrorKind::invalid_argument,
          name_ + " config: 'theta_dim' and 'x_dim' must be positive");
  solver_.validate();  // "pc" is checked by check_solver() in the subclass's constructor
  theta_z_ = register_module("theta_zscore", nn::ZScore(theta_dim));
  x_z_ = register_module("x_zscore", nn::ZScore(x_dim));
}

void OdeFlowEstimator::fit_standardization(const torch::Tensor& theta, const torch::Tensor& x) {
  theta_z_->fit(theta);
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

torch::Tensor OdeFlowEstimator::observation_z(const torch::Tensor& x_o) const {
  return x_z_->forward(x_o.reshape({1, -1}).to(theta_z_->mean().options()));
}

torch::Tensor OdeFlowEstimator::sample_posterior(const torch::Tensor& x_o, int64_t n, at::Generator& gen) {
  require(n >= 0, ErrorKind::invalid_argument, name_ + ": the number of draws must be >= 0");
  torch::NoGradGuard no_grad;
  const torch::Tensor base =
      base_std() * torch::randn({n, theta_dim_}, gen, torch::kFloat).to(theta_z_->mean().options());
  if (n == 0) return base;
  if (solver_.solver == "pc") return theta_z_->inverse(sample_reverse_sde(observation_z(x_o), base, gen));
  return theta_z_->inverse(nn::integrate(ode(observation_z(x_o)), base, base_time(), data_time(), solver_));
}

torch::Tensor OdeFlowEstimator::log_prob(const torch::Tensor& theta, const torch::Tensor& x_o) {
  torch::NoGradGuard no_grad;
  require(theta.dim() == 2 && theta.size(1) == theta_dim_, ErrorKind::invalid_argument,
          name_ + " log_prob: theta must be [B, " + std::to_string(theta_dim_) + "]");
  // From the data end back to the base: log q(θ) = log N(θ_base; 0, I) + ∫ div f dt along the path.
  const torch::Tensor theta_z = theta_z_->forward(theta.to(theta_z_->mean().options()));
  const nn::FlowEnd end =
      nn::integrate_with_log_density(ode(observation_z(x_o)), theta_z, data_time(), base_time(), density_solver());
  const double s = base_std();
  const torch::Tensor base =
      -0.5 * end.state.pow(2).sum(1) / (s * s) - static_cast<double>(theta_dim_) * (0.5 * kLog2Pi + std::log(s));
  return base + end.log_density - theta_z_->log_abs_det_inverse();
}

}  // namespace simbi::estimators
