// Invertible, conditional layers of a normalizing flow. Direction convention (nflows'): forward maps θ
// (data side) towards the base noise and is the direction of density evaluation; inverse maps noise
// towards θ and is the direction of sampling. Both return the log|det| of the Jacobian of the map they
// apply, per row. Contract: torch modules; not thread-safe; no files.
#pragma once
#include <torch/torch.h>

#include <cstdint>

#include "simbi/nn/conditioners.hpp"

namespace simbi::nn {

struct FlowStep {
  torch::Tensor outputs;    // [B, D]
  torch::Tensor logabsdet;  // [B]
};

class FlowTransform : public torch::nn::Module {
 public:
  // inputs [B, D], context [B, c] (layers without a conditioner ignore it).
  virtual FlowStep forward(const torch::Tensor& inputs, const torch::Tensor& context) = 0;
  virtual FlowStep inverse(const torch::Tensor& inputs, const torch::Tensor& context) = 0;
};

// An autoregressive layer: y_i = τ(x_i; MADE(x_{<i}, context)_i). Forward is one MADE pass; inverse
// needs D passes (pass k fixes x_k, since the parameters of x_k only depend on the x_{<k} already fixed).
class AutoregressiveTransform : public FlowTransform {
 public:
  AutoregressiveTransform(int64_t features, int64_t hidden, int64_t context_features, int64_t blocks,
                          int64_t multiplier);
  FlowStep forward(const torch::Tensor& inputs, const torch::Tensor& context) override;
  FlowStep inverse(const torch::Tensor& inputs, const torch::Tensor& context) override;
  Made& made() { return made_; }

 protected:
  // The elementwise map τ (or τ⁻¹) given its parameters [B, D, multiplier]; logabsdet summed per row.
  virtual FlowStep elementwise(const torch::Tensor& inputs, const torch::Tensor& params, bool inverse) = 0;

  int64_t features_;
  Made made_{nullptr};
};

// MAF layer (Papamakarios et al. 2017): y = x·s + t with s = softplus(u + c) + 1e-3, as current nflows
// (whose older σ(u + 2) + 1e-3 caps s near 1, so that θ → noise can never expand and a posterior
// narrower than the base cannot be represented). The floor keeps log s finite; c = log(e^{0.999} − 1)
// makes s = 1 at u = 0, so a freshly initialised layer is close to a pure shift.
class MaskedAffineAutoregressive final : public AutoregressiveTransform {
 public:
  MaskedAffineAutoregressive(int64_t features, int64_t hidden, int64_t context_features, int64_t blocks);

 protected:
  FlowStep elementwise(const torch::Tensor& inputs, const torch::Tensor& params, bool inverse) override;
};

// Autoregressive neural spline flow layer: each x_i through a rational-quadratic spline on
// [−tail_bound, tail_bound] with linear tails (nn/rq_spline.hpp).
class MaskedPiecewiseRQAutoregressive final : public AutoregressiveTransform {
 public:
  MaskedPiecewiseRQAutoregressive(int64_t features, int64_t hidden, int64_t context_features, int64_t blocks,
                                  int64_t bins, double tail_bound);

 protected:
  FlowStep elementwise(const torch::Tensor& inputs, const torch::Tensor& params, bool inverse) override;

 private:
  int64_t bins_;
  double tail_bound_;
};

// Coupling neural spline flow layer: the features with mask 1 go through rational-quadratic splines
// whose parameters a ContextResidualNet computes from [the mask-0 features, context]; the mask-0
// features pass unchanged. Needs D ≥ 2 (both halves non-empty).
class PiecewiseRQCoupling final : public FlowTransform {
 public:
  // mask: D entries of 0/1 with both values present.
  PiecewiseRQCoupling(const std::vector<int64_t>& mask, int64_t hidden, int64_t context_features, int64_t blocks,
                      int64_t bins, double tail_bound);
  FlowStep forward(const torch::Tensor& inputs, const torch::Tensor& context) override;
  FlowStep inverse(const torch::Tensor& inputs, const torch::Tensor& context) override;
  // nflows' alternating mask: feature i is transformed when i is even (even = true) or odd.
  static std::vector<int64_t> alternating_mask(int64_t features, bool even);

 private:
  FlowStep apply(const torch::Tensor& inputs, const torch::Tensor& context, bool inverse);

  int64_t bins_;
  double tail_bound_;
  torch::Tensor identity_idx_, transform_idx_, restore_order_;  // index tensors (kLong), rebuilt from the mask
  ContextResidualNet net_{nullptr};
};

// A fixed permutation of the features: outputs[:, j] = inputs[:, order[j]]; log|det| = 0.
class Permutation final : public FlowTransform {
 public:
  explicit Permutation(const std::vector<int64_t>& order);
  static std::vector<int64_t> reversed(int64_t features);
  // A permutation drawn from torch's generator seeded with `seed`, redrawn while it is the identity
  // (for D ≥ 2): fixed for a given seed, so a model rebuilt from its config gets the same one.
  static std::vector<int64_t> random(int64_t features, uint64_t seed);
  FlowStep forward(const torch::Tensor& inputs, const torch::Tensor& context) override;
  FlowStep inverse(const torch::Tensor& inputs, const torch::Tensor& context) override;

 private:
  torch::Tensor order_, inverse_order_;  // kLong, not buffers: a dtype cast of the module must not touch them
};

// y = W x + b with W = L·U (L unit lower triangular, U upper triangular with diagonal softplus(v) +
// 1e-3 > 0), so log|det W| = Σ log U_ii and the inverse is two triangular solves. Identity at
// initialisation, as nflows' LULinear with identity_init (sbi's NSF puts one after every coupling layer).
class LULinear final : public FlowTransform {
 public:
  explicit LULinear(int64_t features);
  FlowStep forward(const torch::Tensor& inputs, const torch::Tensor& context) override;
  FlowStep inverse(const torch::Tensor& inputs, const torch::Tensor& context) override;

 private:
  torch::Tensor lower() const;
  torch::Tensor upper() const;
  torch::Tensor log_diagonal() const;

  // The strictly triangular entries [D(D−1)/2] each (row-major), the unconstrained diagonal [D], the bias [D].
  torch::Tensor lower_entries_, upper_entries_, unconstrained_diagonal_, bias_;
};

}  // namespace simbi::nn
