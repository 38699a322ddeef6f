#include "simbi/nn/zscore.hpp"

namespace simbi::nn {

ZScoreImpl::ZScoreImpl(int64_t dim) {
  mean_ = register_buffer("mean", torch::zeros({dim}));
  std_ = register_buffer("std", torch::ones({dim}));
}

void ZScoreImpl::fit(const torch::Tensor& data) {
  torch::NoGradGuard no_grad;
  mean_.copy_(data.mean(0));
  const torch::Tensor sd = data.size(0) > 1 ? data.std(0, /*unbiased=*/true) : torch::ones_like(mean_);
  std_.copy_(sd.clamp_min(1e-7));
}

}  // namespace simbi::nn
