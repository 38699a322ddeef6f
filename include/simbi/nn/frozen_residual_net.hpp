// A trained ResidualNet's forward pass as plain float arrays and BLAS calls, for inference only.
// Why: MCMC calls a potential ~10^5 times on batches of 50–200 rows; at that size LibTorch's per-op
// cost (~25 µs per ResidualNet forward, measured, against ~0.6 µs of arithmetic per row) dominates,
// and it is a fixed cost per call that splitting chains over ranks cannot divide. Here a forward is
// one BLAS call per layer (~3 µs of fixed cost).
// Contract: CPU only; a snapshot of the weights at construction (later training does not change it);
// not thread-safe (scratch buffers are reused between calls).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "simbi/nn/residual_net.hpp"

namespace simbi::nn {

// A tensor's values as a flat float vector on the host (any device, dtype and layout).
std::vector<float> to_floats(const torch::Tensor& t);

class FrozenResidualNet {
 public:
  // Freezes `net` for inputs [(v − shift) / scale, c]: v, the varying part, has shift.numel() numbers
  // per row; c, a constant tail of the input, is folded into the first layer's bias and the
  // standardisation of v into its weights. shift, scale: [dv]; c: [net inputs − dv] (may be empty).
  FrozenResidualNet(const ResidualNet& net, const torch::Tensor& shift, const torch::Tensor& scale,
                    const torch::Tensor& constant_tail);

  int64_t in_dim() const { return in_; }    // dv
  int64_t out_dim() const { return out_; }
  // out[n × out_dim] = net([(v_i − shift)/scale, c]) for n rows of v (row-major n × dv).
  void forward(const float* v, int64_t n, float* out);

 private:
  struct Layer {
    int64_t in = 0, out = 0;
    std::vector<float> weight_t;  // [in, out] row-major: the transpose of torch's [out, in]
    std::vector<float> bias;      // [out]
  };
  static Layer from_linear(const torch::nn::Linear& l);
  // y = x·W + b for n rows (accumulate: y += x·W + b).
  static void apply(const Layer& l, const float* x, int64_t n, float* y, bool accumulate);
  void forward_block(const float* v, int64_t n, float* out);

  Activation activation_;
  int64_t in_ = 0, width_ = 0, out_ = 0;
  Layer input_, output_;
  std::vector<std::pair<Layer, Layer>> blocks_;
  std::vector<float> h_, a_, b_;  // scratch [n, width]
};

}  // namespace simbi::nn
