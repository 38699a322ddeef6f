// The network of a continuous normalising flow trained by flow matching: a time-dependent conditional
// vector field v(θ_t, t, c) → dθ_t/dt, and the exact divergence of a row-wise field by autograd (the
// instantaneous change of variables, d log p(θ_t)/dt = −div v, needs it for densities).
// Contract: torch modules and plain functions; one thread at a time.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>

#include "simbi/nn/ode_solvers.hpp"
#include "simbi/nn/residual_net.hpp"

namespace simbi::nn {

// Sinusoidal features of times t [B, 1] in [0, 1]: [t, sin(kπt), cos(kπt)] for k = 1..count →
// [B, 1 + 2·count]. Integer multiples of π cover t's unit interval from one half period (k = 1) to
// count/2 periods, so the network can resolve fast changes of the field near t = 1 without learning
// them from the scalar t alone.
torch::Tensor time_features(const torch::Tensor& t, int64_t count);

// v(θ_t, t, c) = ResidualNet([θ_t, time_features(t), c]) with SiLU blocks (smooth in θ_t and t, as an
// ODE right-hand side should be; ReLU's kinks would make its divergence piecewise constant).
class VectorFieldImpl : public torch::nn::Module {
 public:
  VectorFieldImpl(int64_t theta_dim, int64_t context_dim, int64_t width, int64_t blocks, int64_t time_count);
  // θ_t [B, dθ], t [B, 1] or [B] or one time [] / [1], context [B, dc] or [1, dc] (broadcast) → [B, dθ].
  torch::Tensor forward(const torch::Tensor& theta_t, const torch::Tensor& t, const torch::Tensor& context);
  int64_t theta_dim() const { return theta_dim_; }

 private:
  int64_t theta_dim_, context_dim_, time_count_;
  ResidualNet net_{nullptr};
};
TORCH_MODULE(VectorField);

// A field evaluated at y [B, k] together with its divergence Σ_i ∂f_i/∂y_i per row [B].
struct FieldAndDivergence {
  torch::Tensor value;       // f(y) [B, k], detached
  torch::Tensor divergence;  // [B], detached
};

// Exact divergence by reverse-mode autograd: one backward pass per dimension k (cost k + 1 network
// passes; fine for k up to ~20). f must act row-wise (row b of f(y) depends on row b of y only), as a
// batched vector field does; then the gradient of Σ_b f_i(y_b) is ∂f_i/∂y_i row by row. Works under a
// NoGradGuard too; parameters' .grad are left alone.
FieldAndDivergence divergence(const std::function<torch::Tensor(const torch::Tensor&)>& f, const torch::Tensor& y);

// The end of a flow run with its log-density change.
struct FlowEnd {
  torch::Tensor state;        // θ at t_to [B, k]
  torch::Tensor log_density;  // ∫_{t_from}^{t_to} div f dt [B]
};
// Integrates dθ/dt = f(t, θ) (row-wise f) from θ [B, k] at t_from to t_to together with the integral of
// its exact divergence. By the instantaneous change of variables, d log p(θ_t)/dt = −div f, so
//   log p_{t_from}(θ) = log p_{t_to}(state) + log_density.
// The density's accumulator is part of the solver's state (dopri5 controls its error too).
FlowEnd integrate_with_log_density(const OdeFunction& f, const torch::Tensor& theta, double t_from, double t_to,
                                   const OdeSolverOptions& options);

}  // namespace simbi::nn
