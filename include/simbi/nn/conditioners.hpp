// The networks that output a flow layer's parameters from the part of θ it may see and the context
// (the embedded observation): MADE for autoregressive layers, a context-gated residual net for coupling
// layers. Contract: torch modules; not thread-safe.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace simbi::nn {

// A linear layer whose weight is multiplied by a fixed 0/1 mask [out, in] (a buffer, saved with the model).
class MaskedLinearImpl : public torch::nn::Module {
 public:
  explicit MaskedLinearImpl(const torch::Tensor& mask);
  torch::Tensor forward(const torch::Tensor& input);
  // Scales the layer's initial weights and bias into U(−bound, bound) (near-identity residual blocks).
  void shrink_initialisation(double bound);

 private:
  torch::nn::Linear linear_{nullptr};
  torch::Tensor mask_;
};
TORCH_MODULE(MaskedLinear);

// MADE (Germain et al. 2015) with residual blocks and a context, as nflows' MADE with
// use_residual_blocks: input i (0-based) has degree i + 1, hidden unit j has degree j mod max(1, D − 1)
// + min(1, D − 1), a hidden unit sees inputs of degree ≤ its own, and the `multiplier` outputs of
// feature i have degree i + 1 and see hidden units of strictly smaller degree. Hence output i depends
// only on inputs < i (for D = 1 on the context alone). The context enters through an unmasked linear
// layer added to the first hidden layer. Residual blocks h + M₂(relu(M₁(relu(h)))) keep the hidden
// degrees; M₂ starts near zero so each block starts as (almost) the identity.
class MadeImpl : public torch::nn::Module {
 public:
  MadeImpl(int64_t features, int64_t hidden, int64_t context_features, int64_t blocks, int64_t multiplier);
  // inputs [B, D], context [B, c] (undefined or [B, 0] when c = 0) → [B, D, multiplier].
  torch::Tensor forward(const torch::Tensor& inputs, const torch::Tensor& context);
  int64_t hidden() const { return hidden_; }

 private:
  int64_t features_, hidden_, multiplier_;
  MaskedLinear input_{nullptr}, output_{nullptr};
  torch::nn::Linear context_{nullptr};
  std::vector<std::pair<MaskedLinear, MaskedLinear>> blocks_;
};
TORCH_MODULE(Made);

// nflows' ResidualNet with a context, the conditioner of sbi's coupling NSF: Linear([inputs, context]
// → hidden), then `blocks` blocks h + g ⊙ L₂(relu(L₁(relu(h)))) with the gate g = σ(C(context)), then
// Linear(hidden → out). L₂ starts in U(−1e-3, 1e-3), so every block starts as (almost) the identity.
class ContextResidualNetImpl : public torch::nn::Module {
 public:
  ContextResidualNetImpl(int64_t in, int64_t context_features, int64_t hidden, int64_t blocks, int64_t out);
  torch::Tensor forward(const torch::Tensor& inputs, const torch::Tensor& context);
  int64_t hidden() const { return hidden_; }

 private:
  int64_t hidden_, context_features_;
  torch::nn::Linear input_{nullptr}, output_{nullptr};
  struct Block {
    torch::nn::Linear first{nullptr}, second{nullptr}, gate{nullptr};
  };
  std::vector<Block> blocks_;
};
TORCH_MODULE(ContextResidualNet);

}  // namespace simbi::nn
