#include "simbi/estimators/support_transform.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include "simbi/core/error.hpp"

namespace simbi::estimators {

SupportTransform::SupportTransform(const nlohmann::json& prior, const std::string& where)
    : prior_(sim::prior_from_json(prior, where)) {}

SupportTransform::Unconstrained SupportTransform::to_unconstrained(const torch::Tensor& theta) const {
  const int64_t n = theta.size(0), d = dim();
  require(theta.dim() == 2 && theta.size(1) == d, ErrorKind::invalid_argument,
          "support transform: θ must be [B, " + std::to_string(d) + "]");
  const torch::Tensor t = theta.detach().to(torch::kCPU, torch::kFloat).contiguous();
  torch::Tensor u = torch::empty({n, d}, torch::kFloat), log_det = torch::empty({n}, torch::kFloat);
  torch::Tensor inside = torch::empty({n}, torch::kBool);
  const float* tp = t.data_ptr<float>();
  float* up = u.data_ptr<float>();
  float* lp = log_det.data_ptr<float>();
  bool* ip = inside.data_ptr<bool>();
  std::vector<double> row(static_cast<size_t>(d));
  std::vector<float> back(static_cast<size_t>(d));
  for (int64_t i = 0; i < n; ++i) {
    ip[i] = prior_->in_support(tp + i * d);
    prior_->to_unconstrained(tp + i * d, row.data());
    lp[i] = static_cast<float>(prior_->from_unconstrained(row.data(), back.data()));
    for (int64_t j = 0; j < d; ++j) up[i * d + j] = static_cast<float>(row[static_cast<size_t>(j)]);
  }
  return {u.to(theta.device()), log_det.to(theta.device()), inside.to(theta.device())};
}

torch::Tensor SupportTransform::from_unconstrained(const torch::Tensor& u) const {
  const int64_t n = u.size(0), d = dim();
  const torch::Tensor uc = u.detach().to(torch::kCPU, torch::kDouble).contiguous();
  torch::Tensor theta = torch::empty({n, d}, torch::kFloat);
  const double* up = uc.data_ptr<double>();
  float* tp = theta.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    bool finite = true;
    for (int64_t j = 0; j < d; ++j) finite = finite && std::isfinite(up[i * d + j]);
    if (finite) {
      (void)prior_->from_unconstrained(up + i * d, tp + i * d);
    } else {
      // A bounded prior's T maps ±inf to the bound and NaN to whatever its clamp makes of it: either way
      // a finite θ that hides a diverged model. Keep the row non-finite so the caller's check sees it.
      for (int64_t j = 0; j < d; ++j) tp[i * d + j] = std::numeric_limits<float>::quiet_NaN();
    }
  }
  return theta.to(u.device());
}

}  // namespace simbi::estimators
