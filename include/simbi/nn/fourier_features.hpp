// Random Fourier features (Tancik et al. 2020, "Fourier features let networks learn high frequency
// functions in low dimensional domains"): z → [z, sin(2π·zB), cos(2π·zB)] with a fixed B [in, count] of
// N(0, scale²) entries. An MLP on these features learns sharp, narrow structure in a low-dimensional input
// (two_moons' thin crescents) that it fits only slowly from z itself (the spectral bias of ReLU networks).
// B is a buffer drawn from its own generator seeded by `seed`: the same on every rank without a broadcast,
// and saved with the model. Contract: a torch module; count = 0 is the identity.
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace simbi::nn {

class FourierFeaturesImpl : public torch::nn::Module {
 public:
  FourierFeaturesImpl(int64_t in_dim, int64_t count, double scale, uint64_t seed);
  torch::Tensor forward(const torch::Tensor& z) const;
  int64_t out_dim() const { return in_dim_ + 2 * count_; }

 private:
  int64_t in_dim_, count_;
  torch::Tensor frequencies_;  // B [in_dim, count]
};
TORCH_MODULE(FourierFeatures);

}  // namespace simbi::nn
