// Multi-layer perceptrons (the building block of every estimator): Linear layers with LeakyReLU(0.1)
// between them and Kaiming-normal weights. Contract: a torch module; not thread-safe.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace simbi::nn {

// in -> hidden[0] -> ... -> hidden[k-1] -> out; LeakyReLU(0.1) after every hidden layer, none after
// the output. Weights Kaiming-normal (for leaky_relu 0.1), biases zero.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t in, const std::vector<int64_t>& hidden, int64_t out, double negative_slope = 0.1);
  torch::Tensor forward(const torch::Tensor& input);
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }

 private:
  int64_t in_, out_;
  double slope_;
  std::vector<torch::nn::Linear> layers_;
};
TORCH_MODULE(Mlp);

}  // namespace simbi::nn
