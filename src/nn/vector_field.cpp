#include "simbi/nn/vector_field.hpp"

#include <cmath>

#include "simbi/core/error.hpp"

namespace simbi::nn {

torch::Tensor time_features(const torch::Tensor& t, int64_t count) {
  if (count == 0) return t;
  const torch::Tensor k = torch::arange(1, count + 1, t.options()) * M_PI;
  const torch::Tensor phase = t * k;  // [B, 1] * [count] → [B, count]
  return torch::cat({t, torch::sin(phase), torch::cos(phase)}, 1);
}

VectorFieldImpl::VectorFieldImpl(int64_t theta_dim, int64_t context_dim, int64_t width, int64_t blocks,
                                 int64_t time_count)
    : theta_dim_(theta_dim), context_dim_(context_dim), time_count_(time_count) {
  require(theta_dim > 0 && context_dim >= 0, ErrorKind::invalid_argument,
          "vector field: theta_dim must be positive and context_dim >= 0");
  require(width > 0 && blocks >= 0, ErrorKind::invalid_argument,
          "vector field: width must be positive and blocks >= 0");
  require(time_count >= 0, ErrorKind::invalid_argument, "vector field: time_features must be >= 0");
  net_ = register_module(
      "net", ResidualNet(theta_dim + 1 + 2 * time_count + context_dim, width, blocks, theta_dim, Activation::silu));
}

torch::Tensor VectorFieldImpl::forward(const torch::Tensor& theta_t, const torch::Tensor& t,
                                       const torch::Tensor& context) {
  const int64_t rows = theta_t.size(0);
  const torch::Tensor t_col = t.reshape({-1, 1}).to(theta_t.dtype()).expand({rows, 1});
  torch::Tensor c = context.reshape({-1, context_dim_}).to(theta_t.dtype());
  if (c.size(0) != rows) c = c.expand({rows, context_dim_});
  return net_->forward(torch::cat({theta_t, time_features(t_col, time_count_), c}, 1));
}

FieldAndDivergence divergence(const std::function<torch::Tensor(const torch::Tensor&)>& f, const torch::Tensor& y) {
  torch::AutoGradMode enable(true);
  const torch::Tensor yg = y.detach().requires_grad_(true);
  const torch::Tensor v = f(yg);
  const int64_t k = y.size(1);
  torch::Tensor div = torch::zeros({y.size(0)}, y.options());
  for (int64_t i = 0; i < k; ++i) {
    const torch::Tensor grad =
        torch::autograd::grad({v.select(1, i).sum()}, {yg}, {}, /*retain_graph=*/i + 1 < k, /*create_graph=*/false,
                              /*allow_unused=*/true)[0];
    if (grad.defined()) div = div + grad.select(1, i);  // undefined: f_i does not depend on y at all
  }
  return {v.detach(), div.detach()};
}

FlowEnd integrate_with_log_density(const OdeFunction& f, const torch::Tensor& theta, double t_from, double t_to,
                                   const OdeSolverOptions& options) {
  const int64_t k = theta.size(1);
  // State [θ, L] with dL/dt = div f(t, θ), L(t_from) = 0.
  const OdeFunction augmented = [&f, k](double t, const torch::Tensor& y) {
    const FieldAndDivergence fd = divergence([&](const torch::Tensor& th) { return f(t, th); }, y.slice(1, 0, k));
    return torch::cat({fd.value, fd.divergence.unsqueeze(1)}, 1);
  };
  const torch::Tensor start = torch::cat({theta, torch::zeros({theta.size(0), 1}, theta.options())}, 1);
  const torch::Tensor end = integrate(augmented, start, t_from, t_to, options);
  return {end.slice(1, 0, k), end.select(1, k)};
}

}  // namespace simbi::nn
