#include "simbi/nn/flow_transforms.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "simbi/core/error.hpp"
#include "simbi/nn/rq_spline.hpp"

namespace simbi::nn {

namespace {

// Floors of the MAF scale and of the LU layer's diagonal: they keep log|det| finite.
constexpr double kMinScale = 1e-3;
constexpr double kMinDiagonal = kMinScale;  // the same floor, so kSoftplusToOne serves both
// softplus(v) + 1e-3 = 1 at v = log(e^{1 − 1e-3} − 1): the value that makes a scale or diagonal start at 1.
const double kSoftplusToOne = std::log(std::expm1(1.0 - kMinScale));

torch::Tensor long_tensor(const std::vector<int64_t>& v) { return torch::tensor(v, torch::kLong); }

// The permutation that undoes `order`: inverse[order[j]] = j.
torch::Tensor inverse_permutation(const torch::Tensor& order) { return torch::argsort(order); }

// Index tensors are not buffers (a dtype cast of the module would turn them into floats), so they
// follow the data to its device here instead (the trainer may move the model to a GPU).
torch::Tensor on_device_of(const torch::Tensor& index, const torch::Tensor& data) {
  return index.device() == data.device() ? index : index.to(data.device());
}

}  // namespace

// ---------------------------------------------------------------- autoregressive layers

AutoregressiveTransform::AutoregressiveTransform(int64_t features, int64_t hidden, int64_t context_features,
                                                 int64_t blocks, int64_t multiplier)
    : features_(features) {
  made_ = register_module("made", Made(features, hidden, context_features, blocks, multiplier));
}

FlowStep AutoregressiveTransform::forward(const torch::Tensor& inputs, const torch::Tensor& context) {
  return elementwise(inputs, made_->forward(inputs, context), /*inverse=*/false);
}

FlowStep AutoregressiveTransform::inverse(const torch::Tensor& inputs, const torch::Tensor& context) {
  // After pass k the first k + 1 outputs are exact; the last pass's log|det| uses exact parameters.
  torch::Tensor x = torch::zeros_like(inputs);
  FlowStep step;
  for (int64_t pass = 0; pass < features_; ++pass) {
    step = elementwise(inputs, made_->forward(x, context), /*inverse=*/true);
    x = step.outputs;
  }
  return step;
}

MaskedAffineAutoregressive::MaskedAffineAutoregressive(int64_t features, int64_t hidden, int64_t context_features,
                                                       int64_t blocks)
    : AutoregressiveTransform(features, hidden, context_features, blocks, /*multiplier=*/2) {}

FlowStep MaskedAffineAutoregressive::elementwise(const torch::Tensor& inputs, const torch::Tensor& params,
                                                 bool inverse) {
  const torch::Tensor scale = torch::softplus(params.select(2, 0) + kSoftplusToOne) + kMinScale;
  const torch::Tensor shift = params.select(2, 1);
  const torch::Tensor log_scale = torch::log(scale).sum(1);
  if (!inverse) return {inputs * scale + shift, log_scale};
  return {(inputs - shift) / scale, -log_scale};
}

MaskedPiecewiseRQAutoregressive::MaskedPiecewiseRQAutoregressive(int64_t features, int64_t hidden,
                                                                 int64_t context_features, int64_t blocks, int64_t bins,
                                                                 double tail_bound)
    : AutoregressiveTransform(features, hidden, context_features, blocks, spline_params_per_element(bins)),
      bins_(bins),
      tail_bound_(tail_bound) {}

FlowStep MaskedPiecewiseRQAutoregressive::elementwise(const torch::Tensor& inputs, const torch::Tensor& params,
                                                      bool inverse) {
  const SplineOutput s = rational_quadratic_spline_from_params(inputs, params, bins_, inverse, tail_bound_,
                                                               static_cast<double>(made_->hidden()));
  return {s.outputs, s.logabsdet.sum(1)};
}

// ---------------------------------------------------------------- coupling layer

std::vector<int64_t> PiecewiseRQCoupling::alternating_mask(int64_t features, bool even) {
  std::vector<int64_t> mask(features, 0);
  for (int64_t i = even ? 0 : 1; i < features; i += 2) mask[i] = 1;
  return mask;
}

PiecewiseRQCoupling::PiecewiseRQCoupling(const std::vector<int64_t>& mask, int64_t hidden, int64_t context_features,
                                         int64_t blocks, int64_t bins, double tail_bound)
    : bins_(bins), tail_bound_(tail_bound) {
  std::vector<int64_t> identity, transform;
  for (int64_t i = 0; i < static_cast<int64_t>(mask.size()); ++i) (mask[i] ? transform : identity).push_back(i);
  require(!identity.empty() && !transform.empty(), ErrorKind::invalid_argument,
          "coupling flow layer: needs θ of dimension at least 2 (use the autoregressive conditioner for 1-D θ)");
  identity_idx_ = long_tensor(identity);
  transform_idx_ = long_tensor(transform);
  restore_order_ = inverse_permutation(torch::cat({identity_idx_, transform_idx_}));
  const int64_t out = static_cast<int64_t>(transform.size()) * spline_params_per_element(bins);
  net_ = register_module(
      "net", ContextResidualNet(static_cast<int64_t>(identity.size()), context_features, hidden, blocks, out));
}

FlowStep PiecewiseRQCoupling::apply(const torch::Tensor& inputs, const torch::Tensor& context, bool inverse) {
  const torch::Tensor identity = inputs.index_select(1, on_device_of(identity_idx_, inputs));
  const torch::Tensor transformed = inputs.index_select(1, on_device_of(transform_idx_, inputs));
  const torch::Tensor params = net_->forward(identity, context)
                                   .reshape({inputs.size(0), transform_idx_.size(0), spline_params_per_element(bins_)});
  const SplineOutput s = rational_quadratic_spline_from_params(transformed, params, bins_, inverse, tail_bound_,
                                                               static_cast<double>(net_->hidden()));
  return {torch::cat({identity, s.outputs}, 1).index_select(1, on_device_of(restore_order_, inputs)),
          s.logabsdet.sum(1)};
}

FlowStep PiecewiseRQCoupling::forward(const torch::Tensor& inputs, const torch::Tensor& context) {
  return apply(inputs, context, /*inverse=*/false);
}

FlowStep PiecewiseRQCoupling::inverse(const torch::Tensor& inputs, const torch::Tensor& context) {
  return apply(inputs, context, /*inverse=*/true);
}

// ---------------------------------------------------------------- permutation

Permutation::Permutation(const std::vector<int64_t>& order) {
  order_ = long_tensor(order);
  std::vector<int64_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> identity(order.size());
  std::iota(identity.begin(), identity.end(), 0);
  require(sorted == identity, ErrorKind::internal, "flow permutation: order is not a permutation of 0 ... D-1");
  inverse_order_ = inverse_permutation(order_);
}

std::vector<int64_t> Permutation::reversed(int64_t features) {
  std::vector<int64_t> order(features);
  for (int64_t i = 0; i < features; ++i) order[i] = features - 1 - i;
  return order;
}

std::vector<int64_t> Permutation::random(int64_t features, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<int64_t> identity(features);
  std::iota(identity.begin(), identity.end(), 0);
  while (true) {
    const torch::Tensor perm = torch::randperm(features, gen, torch::kLong);
    std::vector<int64_t> order(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + features);
    if (order != identity || features < 2) return order;  // the identity would not mix anything: redraw
  }
}

FlowStep Permutation::forward(const torch::Tensor& inputs, const torch::Tensor& /*context*/) {
  return {inputs.index_select(1, on_device_of(order_, inputs)), torch::zeros({inputs.size(0)}, inputs.options())};
}

FlowStep Permutation::inverse(const torch::Tensor& inputs, const torch::Tensor& /*context*/) {
  return {inputs.index_select(1, on_device_of(inverse_order_, inputs)),
          torch::zeros({inputs.size(0)}, inputs.options())};
}

// ---------------------------------------------------------------- LU-decomposed linear layer

LULinear::LULinear(int64_t features) {
  const int64_t triangle = features * (features - 1) / 2;
  lower_entries_ = register_parameter("lower", torch::zeros({triangle}));
  upper_entries_ = register_parameter("upper", torch::zeros({triangle}));
  // Zero triangles and a unit diagonal: W = I at initialisation.
  unconstrained_diagonal_ = register_parameter("diagonal", torch::full({features}, kSoftplusToOne));
  bias_ = register_parameter("bias", torch::zeros({features}));
}

torch::Tensor LULinear::lower() const {
  const int64_t d = bias_.size(0);
  const torch::Tensor idx =
      torch::tril_indices(d, d, -1, torch::TensorOptions().dtype(torch::kLong).device(bias_.device()));
  return torch::eye(d, bias_.options()).index_put({idx[0], idx[1]}, lower_entries_);
}

torch::Tensor LULinear::upper() const {
  const int64_t d = bias_.size(0);
  const torch::Tensor idx =
      torch::triu_indices(d, d, 1, torch::TensorOptions().dtype(torch::kLong).device(bias_.device()));
  return torch::diag(torch::softplus(unconstrained_diagonal_) + kMinDiagonal)
      .index_put({idx[0], idx[1]}, upper_entries_);
}

torch::Tensor LULinear::log_diagonal() const {
  return torch::log(torch::softplus(unconstrained_diagonal_) + kMinDiagonal).sum();
}

FlowStep LULinear::forward(const torch::Tensor& inputs, const torch::Tensor& /*context*/) {
  const torch::Tensor weight = torch::matmul(lower(), upper());
  return {torch::nn::functional::linear(inputs, weight, bias_), log_diagonal().expand({inputs.size(0)})};
}

FlowStep LULinear::inverse(const torch::Tensor& inputs, const torch::Tensor& /*context*/) {
  // Columns of (y − b)ᵀ: solve L z = (y − b), then U x = z.
  const torch::Tensor rhs = (inputs - bias_).transpose(0, 1);
  const torch::Tensor z = torch::linalg_solve_triangular(lower(), rhs, /*upper=*/false, /*left=*/true,
                                                         /*unitriangular=*/true);
  const torch::Tensor x = torch::linalg_solve_triangular(upper(), z, /*upper=*/true);
  return {x.transpose(0, 1).contiguous(), (-log_diagonal()).expand({inputs.size(0)})};
}

}  // namespace simbi::nn
