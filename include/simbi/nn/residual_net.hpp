// Networks of the ACE cost estimator (docs/methods.md §2). Contract: torch modules; not thread-safe.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace simbi::nn {

// The blocks' nonlinearity. ReLU is the ACE paper's; SiLU (x·σ(x)) is smooth, which suits regressing a
// smooth expected cost from noisy labels: measured on gbi_linear_gaussian at 10k simulations, learned vs
// exact cost r 0.991 vs 0.982 (docs/ace.md).
enum class Activation { relu, silu };
// "relu" | "silu"; anything else throws, naming `what` (the field or option it came from).
Activation parse_activation(const std::string& name, const std::string& what);
std::string activation_name(Activation a);
torch::Tensor activate(const torch::Tensor& h, Activation a);

// Linear(in → width) → `blocks` pre-activation residual blocks h + L2(act(L1(act(h)))) → Linear(width
// → out). PyTorch's default initialisation, except each block's second linear: U(−1e-3, 1e-3), so every
// block starts as (almost) the identity.
class ResidualNetImpl : public torch::nn::Module {
 public:
  ResidualNetImpl(int64_t in, int64_t width, int64_t blocks, int64_t out, Activation activation = Activation::relu);
  torch::Tensor forward(const torch::Tensor& input);
  Activation activation() const { return activation_; }

  // The layers, for FrozenResidualNet.
  const torch::nn::Linear& input_layer() const { return input_; }
  const torch::nn::Linear& output_layer() const { return output_; }
  const std::vector<std::pair<torch::nn::Linear, torch::nn::Linear>>& blocks() const { return blocks_; }

 private:
  Activation activation_;
  torch::nn::Linear input_{nullptr}, output_{nullptr};
  std::vector<std::pair<torch::nn::Linear, torch::nn::Linear>> blocks_;
};
TORCH_MODULE(ResidualNet);

// Permutation-invariant embedding of a set of `trials` points of `point_dim` numbers (x flattened
// trial-major): per-trial MLP point_dim → 50 → 20, sum over trials, append the trial count, MLP
// 21 → 100 → 20; ReLU after every layer. Input [B, trials·point_dim] → [B, 20].
class SetEmbeddingImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kOut = 20;
  SetEmbeddingImpl(int64_t trials, int64_t point_dim);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  int64_t trials_, point_dim_;
  torch::nn::Linear trial1_{nullptr}, trial2_{nullptr}, set1_{nullptr}, set2_{nullptr};
};
TORCH_MODULE(SetEmbedding);

}  // namespace simbi::nn
