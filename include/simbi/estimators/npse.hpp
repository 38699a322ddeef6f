// NPSE — neural posterior score estimation (Geffner et al. 2023, Sharrock et al. 2024) on one of Song et
// al.'s (2021) SDEs over the z-scored θ_0 = z(θ), t ∈ [t_0, 1]:
//  - VP (variance preserving, the default): dθ = −½β(t)θ dt + √β(t) dW, β(t) = β_min + t·(β_max − β_min);
//    θ_t | θ_0 ~ N(α(t)·θ_0, σ(t)²·I), α = exp(−½∫₀ᵗβ), σ² = 1 − α²; t_0 = t_min; base N(0, I).
//  - VE (variance exploding): dθ = √(dσ²/dt) dW, σ(t) = σ_min·(σ_max/σ_min)^t; θ_t | θ_0 ~ N(θ_0, σ(t)²·I);
//    t_0 = 0; base N(0, (1 + σ_max²)·I) (the marginal of θ_1 for z-scored θ_0). ε̂ is preconditioned
//    as in Karras et al. (2022): the exact ε̂ for N(0, I) data plus the network's correction, which sees
//    θ_t/√(1 + σ²) and is scaled by 1/√(1 + σ²).
// A network ε̂(θ_t, t, x) predicts the noise; the score is −ε̂/σ(t). Loss (denoising score matching with
// weight σ(t)², the usual ε-prediction form): mean over θ's dimensions of (ε̂(θ_t, t, x) − ε)², t uniform
// on [t_0, 1]. Sampling: the probability-flow ODE dθ/dt = f(θ, t) − ½g(t)²·score from the base at t = 1 to
// t_0 with the nn::ode_solvers, or (solver "pc") the reverse-time SDE by Euler–Maruyama predictor steps,
// each followed by Langevin corrector steps (Song et al. 2021, Algorithm 1); log_prob integrates the ODE
// up with the change of variables (docs/flow_matching.md).
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
  std::string sde = "vp";  // "vp" | "ve"
  double beta_min = 0.1;   // VP: Song et al.'s schedule; α(1)² = e^(−10.05): the base is N(0, I)
  double beta_max = 20.0;
  double t_min = 1e-3;      // VP: the ODE stops here: σ(t_min) ≈ 0.01 keeps the score finite
  double sigma_min = 0.01;  // VE: the noise left at t = 0 (z-scored units)
  // VE: the noise at t = 1. The base N(0, (1 + σ_max²)·I) differs from the true marginal at t = 1 by
  // about |μ|·|θ_1|/σ_max² nats per dimension for a posterior mean μ (z-scored): at 10 that was 0.1–0.2
  // nats of log_prob error on a 2-D test posterior, at 50 it is negligible.
  double sigma_max = 50.0;
  // The probability-flow ODE bends more than FMPE's straight paths: RK4 needs more steps.
  nn::OdeSolverOptions solver{"rk4", 50};
  // The prior to learn through (its JSON; null: the plain field on θ, draws outside the prior rejected
  // by the sampler where asked). `simbi train --support-transform prior` sets it (ode_flow.hpp).
  nlohmann::json support_prior;

  // Missing keys take the defaults; bad values are Error(invalid_argument) naming the field, and so is a
  // key of the other SDE's schedule (beta_* or t_min with "ve", sigma_* with "vp").
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

  // The schedule at time t: θ_t = α(t)·θ_0 + σ(t)·ε (α = 1 for VE).
  double alpha(double t) const;
  double sigma(double t) const;
  // The probability-flow ODE's right-hand side at one observation (z-scored x [1, dx]), from the base at
  // t = 1 down to t_0.
  nn::OdeFunction ode(const torch::Tensor& x_z) override;

 private:
  bool ve() const { return config_.sde == "ve"; }
  double base_time() const override { return 1.0; }
  double data_time() const override { return ve() ? 0.0 : config_.t_min; }
  double base_std() const override;
  bool has_reverse_sde() const override { return true; }
  torch::Tensor sample_reverse_sde(const torch::Tensor& x_z, const torch::Tensor& base, at::Generator& gen) override;
  double beta(double t) const { return config_.beta_min + t * (config_.beta_max - config_.beta_min); }
  // The SDE's drift coefficient (f(θ, t) = drift·θ) and squared diffusion g(t)².
  double drift(double t) const { return ve() ? 0.0 : -0.5 * beta(t); }
  double diffusion2(double t) const;
  // ε̂ at one time for the rows of y (z-scored x [1, dx] or [B, dx]).
  torch::Tensor noise_prediction(const torch::Tensor& y, double t, const torch::Tensor& x_z);
  // The network on θ_t at times t [B, 1] with the noise levels s [B, 1] (VE input scaling).
  torch::Tensor network(const torch::Tensor& theta_t, const torch::Tensor& t, const torch::Tensor& s,
                        const torch::Tensor& x_z);
  // ½∫₀ᵗβ per row (a tensor of times), so that α = exp(−it) and σ² = −expm1(−2·it).
  torch::Tensor half_integral(const torch::Tensor& t) const;
  double half_integral(double t) const;

  NpseConfig config_;
  nn::VectorField net_{nullptr};
};

}  // namespace simbi::estimators
