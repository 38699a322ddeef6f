// Diagonal Gaussians as the estimators use them: a network head's output split into mean and
// log-variance (clamped), log-densities, reparameterised draws and closed-form KL divergences.
// Contract: pure functions on tensors [batch, d]; differentiable.
#pragma once
#include <torch/torch.h>

namespace simbi::nn {

// Log-variances are clamped to this range so one bad batch cannot produce inf/NaN.
inline constexpr double kMinLogVar = -16.0;
inline constexpr double kMaxLogVar = 10.0;

struct DiagGaussian {
  torch::Tensor mean;     // [B, d]
  torch::Tensor log_var;  // [B, d], clamped

  // Splits a head output [B, 2d] into (mean, log_var) and clamps the log-variance.
  static DiagGaussian from_head(const torch::Tensor& head);
  // log N(value; mean, diag(exp(log_var))), summed over dimensions -> [B].
  torch::Tensor log_prob(const torch::Tensor& value) const;
  // mean + exp(log_var / 2) * ε, ε ~ N(0, I) (gradients flow to mean and log_var).
  torch::Tensor rsample(c10::optional<at::Generator> gen = c10::nullopt) const;
  // The same with given standard-normal noise eps [B, d] (undefined: draw it).
  torch::Tensor rsample_from(const torch::Tensor& eps) const;
  // KL(this ‖ other), summed over dimensions -> [B].
  torch::Tensor kl_to(const DiagGaussian& other) const;
  // KL(this ‖ N(0, I)), summed over dimensions -> [B].
  torch::Tensor kl_to_standard_normal() const;
};

}  // namespace simbi::nn
