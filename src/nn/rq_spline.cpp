#include "simbi/nn/rq_spline.hpp"

#include <cmath>

#include "simbi/core/error.hpp"

namespace simbi::nn {

namespace {

using torch::indexing::Slice;

// Knot positions [..., K + 1] from −bound to bound: bin sizes are a softmax floored at `min_size`
// (a fraction of the interval), and the two end knots are set exactly (not by a cumulative sum that
// could miss ±bound by rounding) so that the spline meets the identity tails without a jump.
torch::Tensor knot_positions(const torch::Tensor& unnormalized, double min_size, double bound) {
  const int64_t bins = unnormalized.size(-1);
  const torch::Tensor sizes =
      min_size + (1.0 - min_size * static_cast<double>(bins)) * torch::softmax(unnormalized, -1);
  const torch::Tensor interior = 2.0 * bound * torch::cumsum(sizes.index({"...", Slice(0, bins - 1)}), -1) - bound;
  const torch::Tensor lower = torch::full_like(interior.index({"...", Slice(0, 1)}), -bound);
  return torch::cat({lower, interior, -lower}, -1);
}

// Derivatives at all K + 1 knots: the interior ones from the parameters, the boundary ones exactly 1
// (softplus(c) + min_derivative = 1 for c = log(e^{1 − min_derivative} − 1)), matching the tails' slope.
torch::Tensor knot_derivatives(const torch::Tensor& unnormalized, double min_derivative) {
  const double boundary = std::log(std::expm1(1.0 - min_derivative));
  const torch::Tensor padded = torch::constant_pad_nd(unnormalized, {1, 1}, boundary);
  return min_derivative + torch::softplus(padded);
}

// Index [..., 1] of the bin holding each value: the number of interior knots at or below it. Values
// are clamped to [−B, B] beforehand, so the result is in 0 … K − 1.
torch::Tensor bin_index(const torch::Tensor& values, const torch::Tensor& knots) {
  const int64_t bins = knots.size(-1) - 1;
  const torch::Tensor interior = knots.index({"...", Slice(1, bins)});
  return (values.unsqueeze(-1) >= interior).sum(-1, /*keepdim=*/true);
}

}  // namespace

SplineOutput rational_quadratic_spline(const torch::Tensor& inputs, const torch::Tensor& unnormalized_widths,
                                       const torch::Tensor& unnormalized_heights,
                                       const torch::Tensor& unnormalized_derivatives, bool inverse, double tail_bound,
                                       double min_bin_width, double min_bin_height, double min_derivative) {
  const int64_t bins = unnormalized_widths.size(-1);
  require(bins >= 2, ErrorKind::invalid_argument, "rational-quadratic spline: expected at least 2 bins");
  require(unnormalized_heights.size(-1) == bins && unnormalized_derivatives.size(-1) == bins - 1, ErrorKind::internal,
          "rational-quadratic spline: expected K widths, K heights and K - 1 derivatives");
  require(tail_bound > 0, ErrorKind::invalid_argument, "rational-quadratic spline: tail bound must be positive");
  require(min_bin_width * bins < 1.0 && min_bin_height * bins < 1.0, ErrorKind::invalid_argument,
          "rational-quadratic spline: minimal bin width/height times the number of bins must be below 1");

  const torch::Tensor xs = knot_positions(unnormalized_widths, min_bin_width, tail_bound);
  const torch::Tensor ys = knot_positions(unnormalized_heights, min_bin_height, tail_bound);
  const torch::Tensor derivatives = knot_derivatives(unnormalized_derivatives, min_derivative);

  // Evaluate the spline on values clamped into [−B, B] everywhere, then keep the identity outside:
  // clamping keeps the unused branch finite, so torch::where passes no NaN gradients.
  const torch::Tensor inside = (inputs >= -tail_bound) & (inputs <= tail_bound);
  const torch::Tensor values = inputs.clamp(-tail_bound, tail_bound);
  const torch::Tensor idx = bin_index(values, inverse ? ys : xs);
  const auto at = [&idx](const torch::Tensor& t) { return t.gather(-1, idx).squeeze(-1); };
  const auto next = [&idx](const torch::Tensor& t) { return t.gather(-1, idx + 1).squeeze(-1); };

  const torch::Tensor x_k = at(xs), y_k = at(ys);
  const torch::Tensor width = next(xs) - x_k, height = next(ys) - y_k;
  const torch::Tensor slope = height / width;  // s_k, the bin's secant slope
  const torch::Tensor d_k = at(derivatives), d_k1 = next(derivatives);
  const torch::Tensor curvature = d_k + d_k1 - 2.0 * slope;

  torch::Tensor theta;  // position within the bin, in [0, 1]
  torch::Tensor mapped;
  if (!inverse) {
    theta = (values - x_k) / width;
    const torch::Tensor t1mt = theta * (1.0 - theta);
    const torch::Tensor numerator = height * (slope * theta * theta + d_k * t1mt);
    mapped = y_k + numerator / (slope + curvature * t1mt);
  } else {
    // y − y_k = h (s θ² + d_k θ(1−θ)) / (s + κ θ(1−θ)) is the quadratic a θ² + b θ + c = 0 below.
    const torch::Tensor dy = values - y_k;
    const torch::Tensor a = height * (slope - d_k) + dy * curvature;
    const torch::Tensor b = height * d_k - dy * curvature;
    const torch::Tensor c = -slope * dy;
    const torch::Tensor discriminant = (b * b - 4.0 * a * c).clamp_min(0.0);
    theta = (2.0 * c) / (-b - torch::sqrt(discriminant));
    mapped = x_k + theta * width;
  }
  const torch::Tensor t1mt = theta * (1.0 - theta);
  const torch::Tensor denominator = slope + curvature * t1mt;
  const torch::Tensor derivative_numerator =
      slope * slope * (d_k1 * theta * theta + 2.0 * slope * t1mt + d_k * (1.0 - theta) * (1.0 - theta));
  torch::Tensor logabsdet = torch::log(derivative_numerator) - 2.0 * torch::log(denominator);
  if (inverse) logabsdet = -logabsdet;

  return {torch::where(inside, mapped, inputs), torch::where(inside, logabsdet, torch::zeros_like(logabsdet))};
}

SplineOutput rational_quadratic_spline_from_params(const torch::Tensor& inputs, const torch::Tensor& params,
                                                   int64_t bins, bool inverse, double tail_bound, double scale_by) {
  require(params.size(-1) == spline_params_per_element(bins), ErrorKind::internal,
          "rational-quadratic spline: conditioner output does not have 3K - 1 parameters per element");
  const double scale = 1.0 / std::sqrt(scale_by);
  const torch::Tensor widths = params.index({"...", Slice(0, bins)}) * scale;
  const torch::Tensor heights = params.index({"...", Slice(bins, 2 * bins)}) * scale;
  const torch::Tensor derivatives = params.index({"...", Slice(2 * bins, torch::indexing::None)});
  return rational_quadratic_spline(inputs, widths, heights, derivatives, inverse, tail_bound);
}

}  // namespace simbi::nn
