// Neural likelihood estimation (Papamakarios, Sterratt & Murray 2019, in its single-round form): a
// conditional normalizing flow q(x | θ) trained by maximum likelihood on (θ, x) pairs. The posterior
// p(θ | x_o) ∝ p(θ)·Π_j q(x_o,j | θ) is then sampled by the MCMC engine (posterior module), for one or
// several i.i.d. observations x_o,j of the same θ. θ and x are z-scored (buffers saved with the
// model); the flow is over the z-scored x with the z-scored θ as its context. Contract: torch modules.
#pragma once
#include <cstdint>

#include "simbi/estimators/estimator.hpp"
#include "simbi/nn/flows.hpp"
#include "simbi/nn/zscore.hpp"

namespace simbi::estimators {

struct NleConfig {
  int64_t theta_dim = 0;
  int64_t x_dim = 0;
  nn::FlowConfig flow;  // a flow over x (dimension x_dim), conditioned on θ

  // {"method": "nle", "theta_dim", "x_dim", "flow": {...}}.
  static NleConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

class Nle final : public Estimator {
 public:
  explicit Nle(const NleConfig& config);
  std::string method() const override { return "nle"; }
  nlohmann::json config() const override { return config_.to_json(); }
  void fit_standardization(const torch::Tensor& theta, const torch::Tensor& x) override;
  // −log q(x | θ) per example [B].
  torch::Tensor loss(const torch::Tensor& theta, const torch::Tensor& x) override { return -log_likelihood(theta, x); }
  // log q(x | θ) [B] for θ [B, dθ] and x [B, dx], a density of x in original units.
  torch::Tensor log_likelihood(const torch::Tensor& theta, const torch::Tensor& x);
  // Σ_j log q(x_j | θ_b) [B] for θ [B, dθ] and m i.i.d. observations x [m, dx] (or one, [dx]).
  torch::Tensor log_likelihood_iid(const torch::Tensor& theta, const torch::Tensor& x);

  const NleConfig& nle_config() const { return config_; }

 private:
  NleConfig config_;
  nn::ZScore theta_z_{nullptr}, x_z_{nullptr};
  nn::ConditionalFlow flow_{nullptr};
};

}  // namespace simbi::estimators
