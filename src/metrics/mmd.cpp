// Unbiased MMD² with a Gaussian kernel (sbibm's "tp_sutherland"), in row blocks, float64.
#include "simbi/metrics/mmd.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "simbi/core/error.hpp"

namespace simbi::metrics {

namespace {

// Calls visit(sq, len) for every row i < n - 1 of X with sq[j] = ‖x_i - x_{i+1+j}‖², j < len = n - 1 - i
// (direct differences, as torch.pdist; vectorised over j on the transposed data).
template <typename Visit>
void for_each_pair_row(const torch::Tensor& X, Visit&& visit) {
  const int64_t n = X.size(0), d = X.size(1);
  const torch::Tensor XT = X.t().contiguous();
  const double* x = X.data_ptr<double>();
  const double* xt = XT.data_ptr<double>();
  std::vector<double> sq(static_cast<size_t>(n));
  for (int64_t i = 0; i + 1 < n; ++i) {
    const int64_t len = n - 1 - i;
    double* s = sq.data();
    std::fill(s, s + len, 0.0);
    for (int64_t c = 0; c < d; ++c) {
      const double xi = x[i * d + c];
      const double* col = xt + c * n + i + 1;
      for (int64_t j = 0; j < len; ++j) {
        const double diff = col[j] - xi;
        s[j] += diff * diff;
      }
    }
    visit(static_cast<const double*>(s), len);
  }
}

// Non-negative doubles order like their bit patterns; the top bits (exponent and 8 mantissa bits) make
// 2^19 buckets, each a relative width of 2^-8.
constexpr int kBucketShift = 44;
inline uint64_t bucket_of(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits >> kBucketShift;
}

// Σ_ij exp(-‖a_i - b_j‖² / (2σ²)) over all pairs, the squared distance as ‖a‖² + ‖b‖² - 2a·b. With
// symmetric (B is A), only the blocks on and right of the diagonal are computed, the off-diagonal ones
// counted twice.
double kernel_sum(const torch::Tensor& A, const torch::Tensor& B, double inv_two_sigma2, int64_t block_rows,
                  bool symmetric) {
  const int64_t n = A.size(0), m = B.size(0);
  const torch::Tensor cA = (A * A).sum(1) * (-inv_two_sigma2);  // [n]
  const torch::Tensor cB = symmetric ? cA : (B * B).sum(1) * (-inv_two_sigma2);  // [m]
  torch::Tensor E = torch::empty({std::min(block_rows, n) * m}, torch::kFloat64);  // one contiguous block
  double total = 0.0;
  for (int64_t start = 0; start < n; start += block_rows) {
    const int64_t b = std::min(block_rows, n - start);
    const int64_t col0 = symmetric ? start : 0;  // columns [col0, m)
    const torch::Tensor Ab = A.narrow(0, start, b);
    // Eb = cA_i + cB_j + a_i·b_j / σ² = -(‖a‖² + ‖b‖² - 2a·b) / (2σ²), then exp.
    torch::Tensor Eb = E.narrow(0, 0, b * (m - col0)).view({b, m - col0});
    at::addmm_out(Eb, cB.narrow(0, col0, m - col0), Ab, B.narrow(0, col0, m - col0).t(), 1.0, 2.0 * inv_two_sigma2);
    Eb.add_(cA.narrow(0, start, b).unsqueeze(1));
    Eb.exp_();
    if (!symmetric) {
      total += Eb.sum().item<double>();
    } else {
      const double square = Eb.narrow(1, 0, b).sum().item<double>();
      const double right = b < m - col0 ? Eb.narrow(1, b, m - col0 - b).sum().item<double>() : 0.0;
      total += square + 2.0 * right;
    }
  }
  return total;
}

void check_shapes(const torch::Tensor& X, const torch::Tensor& Y) {
  require(X.dim() == 2 && Y.dim() == 2, ErrorKind::invalid_argument, "mmd: X and Y must be 2-D [rows, dims]");
  require(X.size(1) == Y.size(1), ErrorKind::invalid_argument,
          "mmd: X has " + std::to_string(X.size(1)) + " columns but Y has " + std::to_string(Y.size(1)));
  require(X.size(0) >= 2 && Y.size(0) >= 2, ErrorKind::invalid_argument,
          "mmd: X and Y need at least 2 rows each (have " + std::to_string(X.size(0)) + " and " +
              std::to_string(Y.size(0)) + ")");
}

}  // namespace

double median_pairwise_distance(const at::Tensor& X_in) {
  require(X_in.dim() == 2 && X_in.size(0) >= 2, ErrorKind::invalid_argument,
          "median_pairwise_distance: expected a 2-D tensor with at least 2 rows");
  c10::InferenceMode inference;
  const torch::Tensor X = X_in.to(torch::kCPU, torch::kFloat64).contiguous();
  if (torch::isnan(X).any().item<bool>()) return std::nan("");
  const int64_t n = X.size(0);
  const uint64_t count = static_cast<uint64_t>(n) * static_cast<uint64_t>(n - 1) / 2;
  const uint64_t k = (count - 1) / 2;  // the lower middle (0-based)

  // Pass 1: histogram of buckets; find the bucket holding the k-th smallest value.
  std::vector<uint64_t> hist(size_t{1} << (64 - kBucketShift), 0);
  for_each_pair_row(X, [&](const double* s, int64_t len) {
    for (int64_t j = 0; j < len; ++j) ++hist[bucket_of(s[j])];
  });
  uint64_t below = 0;
  size_t target = 0;
  for (; target < hist.size(); ++target) {
    if (below + hist[target] > k) break;
    below += hist[target];
  }
  require(target < hist.size(), ErrorKind::internal, "median_pairwise_distance: histogram does not cover the rank");
  // Pass 2: collect that bucket's values and select within it.
  std::vector<double> in_bucket;
  in_bucket.reserve(static_cast<size_t>(hist[target]));
  for_each_pair_row(X, [&](const double* s, int64_t len) {
    for (int64_t j = 0; j < len; ++j)
      if (bucket_of(s[j]) == target) in_bucket.push_back(s[j]);
  });
  const auto nth = in_bucket.begin() + static_cast<std::ptrdiff_t>(k - below);
  std::nth_element(in_bucket.begin(), nth, in_bucket.end());
  return std::sqrt(*nth);
}

MmdResult mmd(const at::Tensor& X_in, const at::Tensor& Y_in, int64_t block_rows) {
  check_shapes(X_in, Y_in);
  require(block_rows >= 1, ErrorKind::invalid_argument, "mmd: block_rows must be >= 1");
  c10::InferenceMode inference;
  const torch::Tensor X = X_in.to(torch::kCPU, torch::kFloat64).contiguous();
  const torch::Tensor Y = Y_in.to(torch::kCPU, torch::kFloat64).contiguous();
  MmdResult r;
  if (torch::isnan(X).any().item<bool>() || torch::isnan(Y).any().item<bool>()) {
    r.mmd2 = r.bandwidth = std::nan("");
    return r;
  }
  r.bandwidth = median_pairwise_distance(X);
  if (!(r.bandwidth > 0.0) || !std::isfinite(r.bandwidth)) {  // degenerate X: the kernel is undefined
    r.mmd2 = std::nan("");
    return r;
  }
  const double inv = 1.0 / (2.0 * r.bandwidth * r.bandwidth);
  const double n = static_cast<double>(X.size(0)), m = static_cast<double>(Y.size(0));
  const double kxx = kernel_sum(X, X, inv, block_rows, true), kyy = kernel_sum(Y, Y, inv, block_rows, true);
  const double kxy = kernel_sum(X, Y, inv, block_rows, false);
  r.mmd2 = (kxx - n) / (n * (n - 1.0)) + (kyy - m) / (m * (m - 1.0)) - 2.0 * kxy / (n * m);
  return r;
}

MmdResult mmd(ConstMatrixView X, ConstMatrixView Y, int64_t block_rows) {
  const torch::Tensor tx = torch::from_blob(const_cast<float*>(X.data), {X.rows, X.cols}, torch::kFloat32);
  const torch::Tensor ty = torch::from_blob(const_cast<float*>(Y.data), {Y.rows, Y.cols}, torch::kFloat32);
  return mmd(tx, ty, block_rows);
}

double mmd_squared(const at::Tensor& X, const at::Tensor& Y) { return mmd(X, Y).mmd2; }

}  // namespace simbi::metrics
