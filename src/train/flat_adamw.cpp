#include "simbi/train/flat_adamw.hpp"

#include <cmath>
#include <string>

#include "simbi/core/error.hpp"

namespace simbi::train {

FlatAdamW::FlatAdamW(std::vector<torch::Tensor> params, const AdamWOptions& options)
    : params_(std::move(params)), o_(options) {
  int64_t total = 0;
  for (const auto& p : params_) total += p.numel();
  // On the parameters' device (the trainer has moved the model there already).
  const auto where = torch::TensorOptions().dtype(torch::kFloat).device(
      params_.empty() ? torch::Device(torch::kCPU) : params_.front().device());
  flat_ = torch::empty({total}, where);
  grad_ = torch::zeros({total}, where);
  int64_t offset = 0;
  torch::NoGradGuard no_grad;
  for (auto& p : params_) {
    const int64_t n = p.numel();
    flat_.narrow(0, offset, n).copy_(p.reshape({-1}));
    // The parameter now lives inside flat_, its gradient inside grad_: autograd accumulates into
    // the existing (view) gradient in place.
    p.set_data(flat_.narrow(0, offset, n).view(p.sizes()));
    p.mutable_grad() = grad_.narrow(0, offset, n).view(p.sizes());
    offset += n;
  }
  m_ = torch::zeros_like(flat_);
  v_ = torch::zeros_like(flat_);
}

// On the CPU: checkpoints are written (and may be resumed) anywhere.
FlatAdamWState FlatAdamW::state() const {
  return {m_.to(torch::kCPU, false, true), v_.to(torch::kCPU, false, true), t_, o_.lr};
}

void FlatAdamW::load_state(const FlatAdamWState& s) {
  require(s.m.numel() == m_.numel() && s.v.numel() == v_.numel(), ErrorKind::format,
          "optimizer state has " + std::to_string(s.m.numel()) + " entries, the model has " +
              std::to_string(m_.numel()) + " parameters");
  torch::NoGradGuard no_grad;
  m_.copy_(s.m.reshape({-1}));
  v_.copy_(s.v.reshape({-1}));
  t_ = s.t;
  o_.lr = s.lr;
}

void FlatAdamW::zero_grad() { grad_.zero_(); }

double FlatAdamW::clip_grad_norm(double max_norm) {
  const double norm = grad_.norm().item<double>();
  const double coef = max_norm / (norm + 1e-6);  // as torch.nn.utils.clip_grad_norm_
  if (coef < 1.0) grad_.mul_(coef);
  return norm;
}

void FlatAdamW::step() {
  torch::NoGradGuard no_grad;
  ++t_;
  const double bias1 = 1.0 - std::pow(o_.beta1, static_cast<double>(t_));
  const double bias2 = 1.0 - std::pow(o_.beta2, static_cast<double>(t_));
  flat_.mul_(1.0 - o_.lr * o_.weight_decay);  // decoupled weight decay
  m_.mul_(o_.beta1).add_(grad_, 1.0 - o_.beta1);
  v_.mul_(o_.beta2).addcmul_(grad_, grad_, 1.0 - o_.beta2);
  const torch::Tensor denom = (v_.sqrt() / std::sqrt(bias2)).add_(o_.eps);
  flat_.addcdiv_(m_, denom, -o_.lr / bias1);
}

}  // namespace simbi::train
