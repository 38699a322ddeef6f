// FMPE — flow-matching posterior estimation (Wildberger et al. 2023, on Lipman et al. 2023's flow
// matching): a conditional vector field v(θ_t, t, x) whose ODE dθ/dt = v carries N(0, I) at t = 0 to the
// posterior of z-scored θ at t = 1. Trained by regression on the conditional optimal-transport paths
//   θ_t = (1 − (1 − σ_min)·t)·θ_0 + t·θ_1,   u = θ_1 − (1 − σ_min)·θ_0,   θ_0 ~ N(0, I), θ_1 = z(θ),
// loss = mean over θ's dimensions of (v(θ_t, t, z(x)) − u)² (the mean, not the sum, so that the loss's
// scale does not grow with dθ). Sampling integrates the ODE forwards; log_prob integrates it backwards
// with the instantaneous change of variables (docs/flow_matching.md). Contract: a torch module, one thread
// at a time; no MPI, no files; random draws only from the generator or noise handed in.
#pragma once
#include <cstdint>
#include <string>

#include "simbi/estimators/ode_flow.hpp"
#include "simbi/nn/ode_solvers.hpp"
#include "simbi/nn/vector_field.hpp"

namespace simbi::estimators {

struct FmpeConfig {
  int64_t theta_dim = 0;
  int64_t x_dim = 0;
  int64_t width = 128;  // residual MLP of the vector field
  int64_t blocks = 3;
  int64_t time_features = 8;  // sinusoidal features of t (nn::time_features)
  double sigma_min = 1e-4;    // width of the paths at t = 1, in (0, 1)
  // Training times t ~ p(t) ∝ t^α on [0, 1] (α = 0: uniform). α > 0 puts more of the training on the
  // data end t → 1, where the field is sharpest (DINGO's FMPE uses such a power law).
  double time_prior_exponent = 0.0;
  // Solver for sampling and log_prob. RK4 with 10 steps: the OT paths are nearly straight for a
  // well-trained field, and it keeps 10k draws in 2-D within ~1 s on one core (tests measure it).
  nn::OdeSolverOptions solver;
  // The prior to learn through (its JSON; null: the plain field on θ, draws outside the prior rejected
  // by the sampler where asked). `simbi train --support-transform prior` sets it (ode_flow.hpp).
  nlohmann::json support_prior;

  // Missing keys take the defaults; bad values are Error(invalid_argument) naming the field.
  static FmpeConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

class Fmpe final : public OdeFlowEstimator {
 public:
  explicit Fmpe(const FmpeConfig& config);
  std::string method() const override { return "fmpe"; }
  nlohmann::json config() const override;
  const FmpeConfig& fmpe_config() const { return config_; }

  // Per example, column 0 gives the time (through the normal CDF and the time prior), columns 1..dθ the
  // base draw θ_0.
  int64_t noise_dim() const override { return config_.theta_dim + 1; }
  torch::Tensor loss(const torch::Tensor& theta, const torch::Tensor& x) override {
    return loss_with_noise(theta, x, {});
  }
  // An undefined `noise` draws it from torch's global generator.
  torch::Tensor loss_with_noise(const torch::Tensor& theta, const torch::Tensor& x,
                                const torch::Tensor& noise) override;

  // The field in z-scored units: θ_t [B, dθ], t (one time or [B, 1]), z-scored x [B or 1, dx].
  torch::Tensor field(const torch::Tensor& theta_t, const torch::Tensor& t, const torch::Tensor& x_z);
  // t = Φ(z)^(1/(1+α)): a standard-normal draw z mapped to the time prior p(t) ∝ t^α by inversion.
  static torch::Tensor time_from_normal(const torch::Tensor& z, double exponent);
  // Right-hand side of the sampling ODE at one observation (z-scored x [1, dx]): dθ/dt = v, from N(0, I)
  // at t = 0 to the posterior at t = 1.
  nn::OdeFunction ode(const torch::Tensor& x_z) override;

 private:
  double base_time() const override { return 0.0; }
  double data_time() const override { return 1.0; }

  FmpeConfig config_;
  nn::VectorField field_{nullptr};
};

}  // namespace simbi::estimators
