// Z-scoring as a module: per-dimension mean and std (floored at 1e-7) held as buffers, so they are
// saved and loaded with the model's weights. Contract: a torch module; fit() once before training.
#pragma once
#include <torch/torch.h>

namespace simbi::nn {

class ZScoreImpl : public torch::nn::Module {
 public:
  explicit ZScoreImpl(int64_t dim);
  // Sets mean and std from data [N, dim] (std with N−1, floored at 1e-7).
  void fit(const torch::Tensor& data);
  torch::Tensor forward(const torch::Tensor& x) const { return (x - mean_) / std_; }
  torch::Tensor inverse(const torch::Tensor& z) const { return z * std_ + mean_; }
  // log|det| of the inverse map per row (Σ log std), for densities in original units.
  torch::Tensor log_abs_det_inverse() const { return torch::log(std_).sum(); }
  const torch::Tensor& mean() const { return mean_; }
  const torch::Tensor& std() const { return std_; }

 private:
  torch::Tensor mean_, std_;
};
TORCH_MODULE(ZScore);

}  // namespace simbi::nn
