// NPSE — neural posterior score estimation (Geffner et al. 2023, Sharrock et al. 2024) with the
// variance-preserving SDE of Song et al. (2021): dθ = −½β(t)θ dt + √β(t) dW on t ∈ [t_min, 1],
// β(t) = β_min + t·(β_max − β_min), so θ_t | θ_0 ~ N(α(t)·θ_0, σ(t)²·I) with
//   α(t) = exp(−½∫₀ᵗβ) and σ(t)² = 1 − α(t)²,
// θ_0 = z(θ) the z-scored data. A network ε̂(θ_t, t, x) predicts the noise; the score is −ε̂/σ(t).
// Loss (denoising score matching with weight σ(t)², the usual ε-prediction form): mean over θ's
// dimensions of (ε̂(α θ_0 + σ ε, t, x) − ε)², t ~ U(t_min, 1). Sampling integrates the probability-flow
// ODE dθ/dt = −½β(t)·(θ + score) from N(0, I) at t = 1 down to t_min with the nn::ode_solvers;
// log_prob integrates it up with the change of variables (docs/flow_matching.md).
// Contract: a torch module, one thread at a time; no MPI, no files.
#pragma once
#include <cstdint>
#include <string>

#include "simbi/estimators/ode_flow.hpp"
#include "simbi/nn/ode_solvers.hpp"
#include "simbi/nn/vector_field.hpp"
#include "simbi/nn/zscore.hpp"

namespace simbi::estimators {

struct NpseConfig {
  int64_t theta_dim = 0;
  int64_t x_dim = 0;
  int64_t width = 128;  // residual MLP of the noise predictor (nn::VectorField)
  int64_t blocks = 3;
  int64_t time_features = 8;
  double beta_min = 0.1;  // Song et al.'s VP schedule; α(1)² = e^(−10.05): the base is N(0, I)
  double beta_max = 20.0;
  double t_min = 1e-3;  // the ODE stops here: σ(t_min) ≈ 0.01 keeps the score finite
  // The probability-flow ODE bends more than FMPE's straight paths: RK4 needs more steps.
  nn::OdeSolverOptions solver{"rk4", 50};

  // Missing keys take the defaults; bad values are Error(invalid_argument) naming the field.
  static NpseConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

class Npse final : public OdeFlowEstimator {
 public:
  explicit Npse(const NpseConfig& config);
  std::string method() const override { return "npse"; }
  nlohmann::json config() const override;
  const NpseConfig& npse_config() const { return config_; }

  // Column 0: the time (through the normal CDF, uniform on [t_min, 1]); columns 1..dθ: ε.
  int64_t noise_dim() const override { return config_.theta_dim + 1; }
  torch::Tensor loss(const torch::Tensor& theta, const torch::Tensor& x) override {
    return loss_with_noise(theta, x, {});
  }
  torch::Tensor loss_with_noise(const torch::Tensor& theta, const torch::Tensor& x,
                                const torch::Tensor& noise) override;
  // log_prob (OdeFlowEstimator) is the density of the marginal at t_min, i.e. with σ(t_min)² ≈ 1e-4 of noise.

  // The VP schedule at time t: α(t) and σ(t).
  double alpha(double t) const;
  double sigma(double t) const;
  // The probability-flow ODE's right-hand side at one observation (z-scored x [1, dx]), from N(0, I) at
  // t = 1 down to t_min.
  nn::OdeFunction ode(const torch::Tensor& x_z) override;

 private:
  double base_time() const override { return 1.0; }
  double data_time() const override { return config_.t_min; }
  double beta(double t) const { return config_.beta_min + t * (config_.beta_max - config_.beta_min); }
  // ½∫₀ᵗβ per row (a tensor of times), so that α = exp(−it) and σ² = −expm1(−2·it).
  torch::Tensor half_integral(const torch::Tensor& t) const;
  double half_integral(double t) const;

  NpseConfig config_;
  nn::VectorField net_{nullptr};
};

}  // namespace simbi::estimators
