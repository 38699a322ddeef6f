#include "simbi/nn/fourier_features.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace simbi::nn {

FourierFeaturesImpl::FourierFeaturesImpl(int64_t in_dim, int64_t count, double scale, uint64_t seed)
    : in_dim_(in_dim), count_(count) {
  torch::Tensor b = torch::zeros({in_dim, count});
  if (count > 0) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    b = at::normal(0.0, scale, {in_dim, count}, gen);
  }
  frequencies_ = register_buffer("frequencies", b.to(torch::kFloat));
}

torch::Tensor FourierFeaturesImpl::forward(const torch::Tensor& z) const {
  if (count_ == 0) return z;
  const torch::Tensor phase = (2.0 * M_PI) * z.matmul(frequencies_);
  return torch::cat({z, torch::sin(phase), torch::cos(phase)}, 1);
}

}  // namespace simbi::nn
