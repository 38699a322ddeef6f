// Conditional normalizing flows q(θ | context) with a standard-normal base: neural spline flows
// (coupling or autoregressive) and MAF. Contract: torch modules; not thread-safe; sampling uses the
// generator given; no MPI, no files.
//
// The default (nsf, coupling, 5 transforms, 50 hidden units, 2 residual blocks, 10 bins, tail bound 3)
// is sbi's build_nsf as sbibm's NPE uses it: each transform is a rational-quadratic coupling layer with
// nflows' alternating masks (even features transformed in even layers), linear tails on [−3, 3], a
// context ResidualNet conditioner (relu, context-gated blocks, no dropout or batch norm), followed by an
// identity-initialised LU linear layer. Where sbi's NSF meets 1-D θ it swaps the coupling layer for a
// context-only spline; here the conditioner "auto" then uses the autoregressive spline, whose MADE for
// D = 1 likewise sees the context only, and leaves out the (pointless) LU layers. Z-scoring of θ and x
// lives in the estimator (estimators/npe.hpp), as sbi's standardizing transform and net do.
// Autoregressive flows (maf, or nsf with the autoregressive conditioner) follow each MADE layer with a
// fixed random permutation, as sbi's build_maf and build_maf_rqs; unlike sbi's MAF (tanh, plain
// masked layers) the MADE here uses relu residual blocks.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "simbi/nn/flow_transforms.hpp"

namespace simbi::nn {

struct FlowConfig {
  std::string type = "nsf";  // nsf | maf
  int64_t transforms = 5;
  int64_t hidden = 50;  // conditioner width
  int64_t blocks = 2;   // residual blocks per conditioner
  int64_t bins = 10;    // spline bins (nsf)
  double tail_bound = 3.0;
  // auto | coupling | autoregressive (nsf). auto: coupling for θ of dimension ≥ 2, autoregressive for 1-D θ.
  // maf is autoregressive by construction and accepts auto or autoregressive.
  std::string conditioner = "auto";

  // Missing keys keep the defaults; validates (one Error line naming the option for each bad value).
  static FlowConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
  // Checks the values on their own: type, transforms ≥ 1, hidden ≥ 1, blocks ≥ 0, bins ≥ 2, tail bound > 0.
  void validate() const;
  // The conditioner a flow over θ of this dimension uses (resolves auto); Error for coupling on 1-D θ.
  std::string resolved_conditioner(int64_t theta_dim) const;
};

class ConditionalFlowImpl : public torch::nn::Module {
 public:
  ConditionalFlowImpl(const FlowConfig& config, int64_t theta_dim, int64_t context_dim);
  // log q(θ | context) for θ [B, d], context [B, c] → [B].
  torch::Tensor log_prob(const torch::Tensor& theta, const torch::Tensor& context);
  // n draws [n, d] at one context ([c] or [1, c]) or one context per draw ([n, c]), vectorised over n.
  torch::Tensor sample(int64_t n, const torch::Tensor& context, at::Generator& gen);
  // The draws and their log q, in one pass (the log-dets of the sampling direction).
  std::pair<torch::Tensor, torch::Tensor> sample_and_log_prob(int64_t n, const torch::Tensor& context,
                                                              at::Generator& gen);
  // The base noise of θ and the summed log|det| of θ → noise.
  FlowStep to_noise(const torch::Tensor& theta, const torch::Tensor& context);

  const FlowConfig& config() const { return config_; }
  int64_t theta_dim() const { return theta_dim_; }
  int64_t context_dim() const { return context_dim_; }
  const std::vector<std::shared_ptr<FlowTransform>>& transforms() const { return transforms_; }

 private:
  void add(const std::string& name, std::shared_ptr<FlowTransform> transform);
  torch::Tensor broadcast_context(const torch::Tensor& context, int64_t n) const;

  FlowConfig config_;
  int64_t theta_dim_, context_dim_;
  std::vector<std::shared_ptr<FlowTransform>> transforms_;  // in the θ → noise order
};
TORCH_MODULE(ConditionalFlow);

// log N(z; 0, I) per row of z [B, d].
torch::Tensor standard_normal_log_prob(const torch::Tensor& z);

}  // namespace simbi::nn
