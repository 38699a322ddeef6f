// AdamW with gradient-norm clipping over ONE flat buffer: a model's parameters and their gradients
// become views into two contiguous tensors, so the optimizer step, the clipping and the gradient
// allreduce are a handful of tensor ops per step instead of several per parameter (LibTorch's
// per-op overhead dominates small networks). Same update as torch.optim.AdamW + clip_grad_norm_.
// Contract: owns the flat storage; the model must not re-register parameters afterwards.
#pragma once
#include <torch/torch.h>

#include <vector>

namespace simbi::train {

struct AdamWOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01;
};

// What a checkpoint needs to continue the optimizer exactly: the moment buffers (flat, in parameter
// order), the step count and the learning rate in force.
struct FlatAdamWState {
  torch::Tensor m, v;
  int64_t t = 0;
  double lr = 0.0;
};

class FlatAdamW {
 public:
  FlatAdamW(std::vector<torch::Tensor> params, const AdamWOptions& options);
  // Zero the flat gradient (instead of optimizer.zero_grad()).
  void zero_grad();
  // Scales the gradient so that its global norm is at most max_norm; returns the norm before.
  double clip_grad_norm(double max_norm);
  void step();
  double lr() const { return o_.lr; }
  int64_t steps() const { return t_; }  // optimizer steps taken
  void set_lr(double lr) { o_.lr = lr; }
  torch::Tensor& flat_params() { return flat_; }
  // A copy of the optimizer's state; load_state puts one back (Error(format) if the sizes differ).
  FlatAdamWState state() const;
  void load_state(const FlatAdamWState& s);
  torch::Tensor& flat_grads() { return grad_; }

 private:
  std::vector<torch::Tensor> params_;
  AdamWOptions o_;
  torch::Tensor flat_, grad_, m_, v_;
  int64_t t_ = 0;
};

}  // namespace simbi::train
