// Neural posterior estimation (Papamakarios & Murray 2016; Greenberg et al. 2019 in its amortised,
// single-round form): a conditional normalizing flow q(θ | x) trained by maximum likelihood on (θ, x)
// pairs from the prior predictive. θ and x are z-scored (buffers saved with the model) and x may pass
// through an MLP embedding first. Contract: torch modules; sampling uses the generator given.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "simbi/estimators/estimator.hpp"
#include "simbi/estimators/support_transform.hpp"
#include "simbi/nn/flows.hpp"
#include "simbi/nn/mlp.hpp"
#include "simbi/nn/zscore.hpp"
#include "simbi/sim/prior.hpp"

namespace simbi::estimators {

struct NpeConfig {
  int64_t theta_dim = 0;
  int64_t x_dim = 0;
  nn::FlowConfig flow;  // default: sbi's NSF (nn/flows.hpp)
  // Embedding of the z-scored x: Mlp(x_dim → embedding_hidden → embedding_dim). embedding_dim = 0
  // (and no hidden widths) means none: the flow sees the z-scored x itself.
  std::vector<int64_t> embedding_hidden;
  int64_t embedding_dim = 0;
  // The prior whose bijection the flow is learned through (estimators/support_transform.hpp): draws then
  // always lie in its support and log_prob is a density on it. Null: the plain flow on θ.
  nlohmann::json support_prior;

  // {"method": "npe", "theta_dim", "x_dim", "flow": {...}, "embedding_hidden": [...], "embedding_dim",
  //  "support_prior": {...} or null}.
  static NpeConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
  int64_t context_dim() const { return embedding_dim > 0 ? embedding_dim : x_dim; }
};

class Npe final : public Estimator, public PosteriorSampler, public PosteriorDensity {
 public:
  explicit Npe(const NpeConfig& config);
  std::string method() const override { return "npe"; }
  nlohmann::json config() const override { return config_.to_json(); }
  void fit_standardization(const torch::Tensor& theta, const torch::Tensor& x) override;
  // −log q(θ | x) per example [B], a density of θ in original units.
  torch::Tensor loss(const torch::Tensor& theta, const torch::Tensor& x) override { return -log_prob(theta, x); }
  // log q(θ | x) [B] in original units for θ [B, dθ] and x [B, dx], or one x [dx] for every row.
  torch::Tensor log_prob(const torch::Tensor& theta, const torch::Tensor& x) override;
  torch::Tensor sample_posterior(const torch::Tensor& x_o, int64_t n, at::Generator& gen) override;

  // SNPE-C's atomic loss (APT, Greenberg, Nonnenmacher & Macke 2019), for training on rows simulated
  // from proposals other than the prior: row i's loss is −log softmax_k [log q(θ_k | x_i) − log p(θ_k)]
  // at k = 0, over θ_0 = θ_i and atoms − 1 other θ drawn uniformly from the global batch (in validation:
  // from the same block of rows). Which rows are drawn is keyed by the row's global batch position (the
  // trainer's noise), so the loss is the same on any rank count. atoms = 0: the plain loss.
  void set_atomic_loss(int64_t atoms, std::shared_ptr<const sim::Prior> prior);
  bool couples_batch() const override { return atoms_ > 0; }
  int64_t noise_dim() const override { return atoms_ > 0 ? atoms_ - 1 : 0; }
  void set_batch_exchange(BatchExchange* exchange) override { exchange_ = exchange; }
  torch::Tensor loss_with_noise(const torch::Tensor& theta, const torch::Tensor& x,
                                const torch::Tensor& noise) override;

  const NpeConfig& npe_config() const { return config_; }
  nn::ConditionalFlow& flow() { return flow_; }
  const nn::ZScore& theta_zscore() const { return theta_z_; }
  const nn::ZScore& x_zscore() const { return x_z_; }
  // The flow's context for x [B, dx]: z-scored, then embedded when there is an embedding.
  torch::Tensor context(const torch::Tensor& x);

 private:
  NpeConfig config_;
  nn::ZScore theta_z_{nullptr}, x_z_{nullptr};
  nn::Mlp embedding_{nullptr};
  nn::ConditionalFlow flow_{nullptr};
  std::optional<SupportTransform> support_;
  int64_t atoms_ = 0;
  std::shared_ptr<const sim::Prior> prior_;
  BatchExchange* exchange_ = nullptr;
  // θ as the flow sees it: T⁻¹(θ) with a support transform, else θ; and what that adds to log q.
  torch::Tensor flow_space(const torch::Tensor& theta, torch::Tensor* log_det, torch::Tensor* inside) const;
};

}  // namespace simbi::estimators
