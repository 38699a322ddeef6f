#include "simbi/nn/lattice.hpp"

#include <cmath>

namespace simbi::nn {

namespace {

double column_spacing(const torch::Tensor& column) {
  const torch::Tensor values = std::get<0>(torch::_unique(column.to(torch::kDouble), /*sorted=*/true));
  const int64_t distinct = values.size(0);
  if (distinct < 2 || distinct > column.size(0) / 2) return 0.0;
  const double step = (values.slice(0, 1) - values.slice(0, 0, -1)).min().item<double>();
  if (!(step > 0.0) || !std::isfinite(step)) return 0.0;
  const torch::Tensor k = (values - values[0]) / step;
  const double off_lattice = (k - torch::round(k)).abs().max().item<double>();
  return off_lattice <= 1e-4 ? step : 0.0;
}

}  // namespace

torch::Tensor lattice_spacing(const torch::Tensor& data) {
  torch::NoGradGuard no_grad;
  TORCH_CHECK(data.dim() == 2, "lattice_spacing: data must be [N, d]");
  torch::Tensor spacing = torch::zeros({data.size(1)}, torch::kFloat);
  for (int64_t j = 0; j < data.size(1); ++j) spacing[j] = column_spacing(data.select(1, j));
  return spacing;
}

}  // namespace simbi::nn
