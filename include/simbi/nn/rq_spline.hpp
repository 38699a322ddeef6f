// The monotone rational-quadratic spline of neural spline flows (Durkan et al. 2019, "Neural Spline
// Flows"), elementwise and vectorised over any leading shape. Contract: a pure function of tensors
// (float32 or float64; every parameter tensor has the inputs' dtype), differentiable in all of them.
//
// On [−B, B] the map is a K-bin rational-quadratic spline whose knots run from (−B, −B) to (B, B);
// outside it is the identity ("linear tails"), and the derivative at both ends is pinned to 1 so the
// map is C¹ there. Bin widths and heights are softmaxes of the unnormalised parameters, floored at
// min_bin_width/min_bin_height (as fractions of 2B); knot derivatives are min_derivative + softplus.
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace simbi::nn {

struct SplineOutput {
  torch::Tensor outputs;    // same shape as the inputs
  torch::Tensor logabsdet;  // log|dy/dx| of the map applied (the inverse's when inverse = true), per element
};

// Unnormalised parameters per transformed element for K bins: K widths, K heights and the K − 1
// derivatives at the interior knots (the two boundary derivatives are fixed at 1 by the linear tails).
constexpr int64_t spline_params_per_element(int64_t bins) { return 3 * bins - 1; }

// inputs [...]; unnormalized_widths and unnormalized_heights [..., K]; unnormalized_derivatives
// [..., K − 1], where [...] is the inputs' shape. inverse = false maps x → y, true maps y → x with the
// exact inverse (the root of the bin's quadratic, in the cancellation-free form 2c / (−b − √(b² − 4ac))).
SplineOutput rational_quadratic_spline(const torch::Tensor& inputs, const torch::Tensor& unnormalized_widths,
                                       const torch::Tensor& unnormalized_heights,
                                       const torch::Tensor& unnormalized_derivatives, bool inverse, double tail_bound,
                                       double min_bin_width = 1e-3, double min_bin_height = 1e-3,
                                       double min_derivative = 1e-3);

// Splits the last axis of `params` [..., 3K − 1] into the spline's (widths, heights, derivatives) and
// applies the spline to inputs [...]. The widths and heights are divided by √scale_by (the conditioner's
// hidden width, as nflows does) so that a freshly initialised network gives almost uniform bins.
SplineOutput rational_quadratic_spline_from_params(const torch::Tensor& inputs, const torch::Tensor& params,
                                                   int64_t bins, bool inverse, double tail_bound,
                                                   double scale_by = 1.0);

}  // namespace simbi::nn
