// CP-VAE and UP-VAE (docs/methods.md §1, the paper's eq. 7 and eq. 12): conditional VAEs whose decoder
// gives an amortised posterior p(θ | x, z): the paper's diagonal Gaussian, or (decoder = "nsf") a
// conditional neural spline flow over θ with context [z(x), z], the rest of the loss unchanged.
// Contract: torch modules; sampling uses the generator given.
#pragma once
#include <vector>

#include "simbi/estimators/estimator.hpp"
#include "simbi/nn/flows.hpp"
#include "simbi/nn/gaussian.hpp"
#include "simbi/nn/mlp.hpp"
#include "simbi/nn/zscore.hpp"

namespace simbi::estimators {

struct VaeConfig {
  int64_t theta_dim = 0;
  int64_t x_dim = 0;
  int64_t latent_dim = 0;  // 0 = dθ
  std::vector<int64_t> encoder_hidden{64, 64};
  std::vector<int64_t> prior_hidden{64, 64};         // CP-VAE: p(z | x)
  std::vector<int64_t> decoder_hidden{64, 64};       // p(θ | x, z), the Gaussian decoder
  std::vector<int64_t> data_decoder_hidden{64, 64};  // UP-VAE: p(x | z)
  std::string decoder = "gaussian";                  // p(θ | x, z): gaussian (the paper's) | nsf
  nn::FlowConfig decoder_flow;                       // decoder = nsf: the flow (defaults: sbi's NSF)

  static VaeConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json(const std::string& method) const;
};

// Shared by both VAEs: z-scoring, the encoder q(z | x, θ) and the decoder p(θ | x, z).
class VaeBase : public Estimator, public PosteriorSampler {
 public:
  explicit VaeBase(const VaeConfig& config);
  void fit_standardization(const torch::Tensor& theta, const torch::Tensor& x) override;
  const VaeConfig& vae_config() const { return config_; }
  void set_kl_weight(double weight) override { kl_weight_ = weight; }
  int64_t noise_dim() const override { return config_.latent_dim; }  // z ~ q(z | x, θ), one draw per example

 protected:
  // Diagonal Gaussian negative log-likelihood without the constant (the paper's Σ log σ + ½ Σ (v−μ)²/σ²).
  static torch::Tensor gaussian_nll(const nn::DiagGaussian& dist, const torch::Tensor& value);
  nn::DiagGaussian encode(const torch::Tensor& xz, const torch::Tensor& thetaz);
  // −log p(θ | x, z) per row without the ½·dθ·log 2π constant (z-scored θ, x), from either decoder.
  torch::Tensor theta_nll(const torch::Tensor& xz, const torch::Tensor& z, const torch::Tensor& thetaz);
  // θ draws for z draws [n,dz] at x_o: a decoder draw (not its mean), back in original units.
  torch::Tensor draw_theta(const torch::Tensor& x_o, const torch::Tensor& z, at::Generator& gen);

  VaeConfig config_;
  double kl_weight_ = 1.0;  // KL warm-up factor (1 = the paper's loss)
  nn::ZScore theta_z_{nullptr}, x_z_{nullptr};
  nn::Mlp encoder_{nullptr}, decoder_{nullptr};  // decoder_: the Gaussian decoder's head (else null)
  nn::ConditionalFlow flow_decoder_{nullptr};    // decoder = nsf

 private:
  nn::DiagGaussian decode_theta(const torch::Tensor& xz, const torch::Tensor& z);
};

// CP-VAE: learned conditional prior p(z | x). Loss = KL(q(z|x,θ) ‖ p(z|x)) + NLL_θ.
class CpVae final : public VaeBase {
 public:
  explicit CpVae(const VaeConfig& config);
  std::string method() const override { return "cpvae"; }
  nlohmann::json config() const override { return config_.to_json(method()); }
  torch::Tensor loss(const torch::Tensor& theta, const torch::Tensor& x) override {
    return loss_with_noise(theta, x, {});
  }
  torch::Tensor loss_with_noise(const torch::Tensor& theta, const torch::Tensor& x,
                                const torch::Tensor& noise) override;
  torch::Tensor sample_posterior(const torch::Tensor& x_o, int64_t n, at::Generator& gen) override;

 private:
  nn::Mlp prior_{nullptr};
};

// UP-VAE: prior N(0, I) and a data decoder p(x | z) used in training only.
// Loss = 0.4·KL(q ‖ N(0,I)) + 0.4·NLL_θ + 0.2·NLL_x (the paper's appendix B.2 weights).
// The data decoder's variance of an x dimension that lives on a lattice of spacing Δ (counts, binary
// outcomes; nn/lattice.hpp) is floored at Δ²/12, the variance of its dequantisation cell: without it
// the decoder can collapse the variance of an almost-constant count (sir's first output) and the rare
// other values blow the loss up by ~1/σ². Continuous dimensions keep the plain clamp.
class UpVae final : public VaeBase {
 public:
  static constexpr double kKlWeight = 0.4, kThetaWeight = 0.4, kDataWeight = 0.2;
  explicit UpVae(const VaeConfig& config);
  std::string method() const override { return "upvae"; }
  nlohmann::json config() const override { return config_.to_json(method()); }
  torch::Tensor loss(const torch::Tensor& theta, const torch::Tensor& x) override {
    return loss_with_noise(theta, x, {});
  }
  torch::Tensor loss_with_noise(const torch::Tensor& theta, const torch::Tensor& x,
                                const torch::Tensor& noise) override;
  torch::Tensor sample_posterior(const torch::Tensor& x_o, int64_t n, at::Generator& gen) override;
  void fit_standardization(const torch::Tensor& theta, const torch::Tensor& x) override;
  // Per x dimension, the smallest log-variance of the data decoder in z-scored units.
  const torch::Tensor& x_log_var_floor() const { return x_log_var_floor_; }

 private:
  nn::Mlp data_decoder_{nullptr};
  torch::Tensor x_log_var_floor_;  // buffer [dx], saved with the model
};

}  // namespace simbi::estimators
