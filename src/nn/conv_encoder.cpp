#include "simbi/nn/conv_encoder.hpp"

#include "simbi/core/error.hpp"

namespace simbi::nn {

namespace {
constexpr double kSlope = 0.1;
}

ConvEncoderImpl::ConvEncoderImpl(int64_t channels, const std::vector<int64_t>& conv_channels, int64_t hidden,
                                 int64_t out) {
  require(channels > 0 && hidden > 0 && out > 0 && !conv_channels.empty(), ErrorKind::invalid_argument,
          "conv encoder: channels, hidden and output sizes must be positive and there must be a conv layer");
  int64_t prev = channels;
  for (size_t i = 0; i < conv_channels.size(); ++i) {
    require(conv_channels[i] > 0, ErrorKind::invalid_argument, "conv encoder: conv channels must be positive");
    convs_.push_back(register_module(
        "conv" + std::to_string(i),
        torch::nn::Conv1d(torch::nn::Conv1dOptions(prev, conv_channels[i], 5).stride(2).padding(2))));
    prev = conv_channels[i];
  }
  head1_ = register_module("head1", torch::nn::Linear(prev, hidden));
  head2_ = register_module("head2", torch::nn::Linear(hidden, out));
}

torch::Tensor ConvEncoderImpl::forward(const torch::Tensor& series) {
  torch::Tensor h = series;
  for (auto& conv : convs_) h = torch::leaky_relu(conv->forward(h), kSlope);
  h = h.mean(2);
  return head2_->forward(torch::leaky_relu(head1_->forward(h), kSlope));
}

}  // namespace simbi::nn
