// 1-D convolutional encoder for multichannel time series (E&E's encoder for Lorenz 96, docs/methods.md §3).
// Contract: a torch module; not thread-safe.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace simbi::nn {

// [B, channels, T] → [B, out]: Conv1d(kernel 5, stride 2, padding 2) + LeakyReLU(0.1) per entry of
// `conv_channels`, a global average over time (so any window length T ≥ 1 works, and a random crop
// or a test-time window is just a shorter input), then Linear(→ hidden) + LeakyReLU + Linear(→ out).
class ConvEncoderImpl : public torch::nn::Module {
 public:
  ConvEncoderImpl(int64_t channels, const std::vector<int64_t>& conv_channels, int64_t hidden, int64_t out);
  torch::Tensor forward(const torch::Tensor& series);

 private:
  std::vector<torch::nn::Conv1d> convs_;
  torch::nn::Linear head1_{nullptr}, head2_{nullptr};
};
TORCH_MODULE(ConvEncoder);

}  // namespace simbi::nn
