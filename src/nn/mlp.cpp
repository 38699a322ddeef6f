#include "simbi/nn/mlp.hpp"

#include <cmath>

namespace simbi::nn {

MlpImpl::MlpImpl(int64_t in, const std::vector<int64_t>& hidden, int64_t out, double negative_slope)
    : in_(in), out_(out), slope_(negative_slope) {
  int64_t prev = in;
  std::vector<int64_t> widths = hidden;
  widths.push_back(out);
  for (size_t i = 0; i < widths.size(); ++i) {
    auto layer = register_module("linear" + std::to_string(i), torch::nn::Linear(prev, widths[i]));
    // Kaiming-normal for LeakyReLU(slope): std = gain / sqrt(fan_in), gain = sqrt(2 / (1 + slope²)).
    torch::NoGradGuard no_grad;
    const double gain = std::sqrt(2.0 / (1.0 + slope_ * slope_));
    layer->weight.normal_(0.0, gain / std::sqrt(static_cast<double>(prev)));
    layer->bias.zero_();
    layers_.push_back(layer);
    prev = widths[i];
  }
}

torch::Tensor MlpImpl::forward(const torch::Tensor& input) {
  torch::Tensor h = input;
  for (size_t i = 0; i < layers_.size(); ++i) {
    h = layers_[i]->forward(h);
    if (i + 1 < layers_.size()) h = torch::leaky_relu(h, slope_);
  }
  return h;
}

}  // namespace simbi::nn
