#include "simbi/nn/residual_net.hpp"

#include <string>

#include "simbi/core/error.hpp"

namespace simbi::nn {

Activation parse_activation(const std::string& name, const std::string& what) {
  if (name == "relu") return Activation::relu;
  if (name == "silu") return Activation::silu;
  throw Error(ErrorKind::invalid_argument, what + ": expected relu or silu, got '" + name + "'");
}

std::string activation_name(Activation a) { return a == Activation::silu ? "silu" : "relu"; }

torch::Tensor activate(const torch::Tensor& h, Activation a) {
  return a == Activation::silu ? torch::silu(h) : torch::relu(h);
}

ResidualNetImpl::ResidualNetImpl(int64_t in, int64_t width, int64_t blocks, int64_t out, Activation activation)
    : activation_(activation) {
  input_ = register_module("input", torch::nn::Linear(in, width));
  for (int64_t b = 0; b < blocks; ++b) {
    auto first = register_module("block" + std::to_string(b) + "_1", torch::nn::Linear(width, width));
    auto second = register_module("block" + std::to_string(b) + "_2", torch::nn::Linear(width, width));
    torch::NoGradGuard no_grad;
    second->weight.uniform_(-1e-3, 1e-3);
    second->bias.uniform_(-1e-3, 1e-3);
    blocks_.emplace_back(first, second);
  }
  output_ = register_module("output", torch::nn::Linear(width, out));
}

torch::Tensor ResidualNetImpl::forward(const torch::Tensor& input) {
  torch::Tensor h = input_->forward(input);
  for (auto& [first, second] : blocks_)
    h = h + second->forward(activate(first->forward(activate(h, activation_)), activation_));
  return output_->forward(h);
}

SetEmbeddingImpl::SetEmbeddingImpl(int64_t trials, int64_t point_dim) : trials_(trials), point_dim_(point_dim) {
  trial1_ = register_module("trial1", torch::nn::Linear(point_dim, 50));
  trial2_ = register_module("trial2", torch::nn::Linear(50, kOut));
  set1_ = register_module("set1", torch::nn::Linear(kOut + 1, 100));
  set2_ = register_module("set2", torch::nn::Linear(100, kOut));
}

torch::Tensor SetEmbeddingImpl::forward(const torch::Tensor& x) {
  const int64_t batch = x.size(0);
  const torch::Tensor points = x.reshape({batch, trials_, point_dim_});
  const torch::Tensor per_trial = torch::relu(trial2_->forward(torch::relu(trial1_->forward(points))));
  const torch::Tensor pooled = per_trial.sum(1);
  const torch::Tensor count = torch::full({batch, 1}, static_cast<double>(trials_), x.options());
  return torch::relu(set2_->forward(torch::relu(set1_->forward(torch::cat({pooled, count}, 1)))));
}

}  // namespace simbi::nn
