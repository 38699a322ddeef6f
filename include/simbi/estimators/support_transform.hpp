// The prior's bijection θ = T(u), u ∈ R^d (sim::Prior: logit-scaled for boxes, log for log-normals,
// identity for Gaussians) applied to batches, so a density estimator can learn q(u | x) on all of R^d and
// still give draws that always lie in the prior's support and a density of θ on that support:
//   log q(θ | x) = log q_u(T⁻¹(θ) | x) − log|det ∂T/∂u|   (−inf outside the support).
// Contract: immutable after construction; tensors of float32 rows, on any device (the bijection runs
// on the CPU, row by row in double precision).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "simbi/sim/prior.hpp"

namespace simbi::estimators {

class SupportTransform {
 public:
  // From a prior's JSON (sim::prior_from_json); `where` names the source in errors.
  SupportTransform(const nlohmann::json& prior, const std::string& where);
  int64_t dim() const { return prior_->dim(); }
  const sim::Prior& prior() const { return *prior_; }

  struct Unconstrained {
    torch::Tensor u;        // [B, d] float32, T⁻¹(θ) (rows outside the support: clamped, see `inside`)
    torch::Tensor log_det;  // [B] float32, log|det ∂T/∂u| at u
    torch::Tensor inside;   // [B] bool, θ in the prior's support
  };
  // θ [B, d] → u and the log-determinant of T at u.
  Unconstrained to_unconstrained(const torch::Tensor& theta) const;
  // u [B, d] → θ = T(u) [B, d], inside the support; a row of u with a NaN or inf maps to a NaN row.
  torch::Tensor from_unconstrained(const torch::Tensor& u) const;

 private:
  std::shared_ptr<const sim::Prior> prior_;
};

}  // namespace simbi::estimators
