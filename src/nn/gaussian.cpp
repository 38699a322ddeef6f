#include "simbi/nn/gaussian.hpp"

#include <cmath>

namespace simbi::nn {

namespace {
constexpr double kLog2Pi = 1.8378770664093454836;
}

DiagGaussian DiagGaussian::from_head(const torch::Tensor& head) {
  auto parts = head.chunk(2, /*dim=*/-1);
  return {parts[0], parts[1].clamp(kMinLogVar, kMaxLogVar)};
}

torch::Tensor DiagGaussian::log_prob(const torch::Tensor& value) const {
  const torch::Tensor diff = value - mean;
  return (-0.5 * (kLog2Pi + log_var + diff * diff * torch::exp(-log_var))).sum(-1);
}

torch::Tensor DiagGaussian::rsample(c10::optional<at::Generator> gen) const {
  const torch::Tensor eps = torch::randn(mean.sizes(), gen, mean.options());
  return mean + torch::exp(0.5 * log_var) * eps;
}

torch::Tensor DiagGaussian::rsample_from(const torch::Tensor& eps) const {
  if (!eps.defined()) return rsample();
  TORCH_CHECK(eps.sizes() == mean.sizes(), "DiagGaussian::rsample_from: noise of shape ", eps.sizes(), ", expected ",
              mean.sizes());
  return mean + torch::exp(0.5 * log_var) * eps;
}

torch::Tensor DiagGaussian::kl_to(const DiagGaussian& other) const {
  // ½ Σ [ log σ₂² − log σ₁² + (σ₁² + (μ₁ − μ₂)²) / σ₂² − 1 ]
  const torch::Tensor diff = mean - other.mean;
  return 0.5 * (other.log_var - log_var + (torch::exp(log_var) + diff * diff) * torch::exp(-other.log_var) - 1.0)
                   .sum(-1);
}

torch::Tensor DiagGaussian::kl_to_standard_normal() const {
  return 0.5 * (torch::exp(log_var) + mean * mean - 1.0 - log_var).sum(-1);
}

}  // namespace simbi::nn
