// Unbiased MMD² with a Gaussian kernel (sbibm's "tp_sutherland"), in row blocks, float64, optionally on
// several worker threads (each running torch single-threaded; results are independent of the count).
#include "simbi/metrics/mmd.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "simbi/core/error.hpp"

namespace simbi::metrics {

namespace {

// Runs work(w) for w < workers: inline when workers == 1 (with the caller's torch threads), else on
// that many threads with torch single-threaded in each (restored afterwards); rethrows the first error.
template <typename Work>
void run_workers(int workers, Work&& work) {
  if (workers <= 1) {
    work(0);
    return;
  }
  const int caller_threads = at::get_num_threads();
  std::exception_ptr failure;
  std::mutex failure_mutex;
  std::vector<std::thread> pool;
  for (int w = 0; w < workers; ++w)
    pool.emplace_back([&, w] {
      try {
        c10::InferenceMode inference;
        at::set_num_threads(1);
        work(w);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
      }
    });
  for (std::thread& t : pool) t.join();
  at::set_num_threads(caller_threads);
  if (failure) std::rethrow_exception(failure);
}

// Calls visit(sq, len) for the rows i in [row_begin, row_end), i < n - 1, of X with
// sq[j] = ‖x_i - x_{i+1+j}‖², j < len = n - 1 - i (direct differences, as torch.pdist; vectorised over j
// on the transposed data XT [d, n]).
template <typename Visit>
void for_each_pair_row(const double* x, const double* xt, int64_t n, int64_t d, int64_t row_begin, int64_t row_end,
                       Visit&& visit) {
  std::vector<double> sq(static_cast<size_t>(n));
  for (int64_t i = row_begin; i < std::min(row_end, n - 1); ++i) {
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

// Row ranges with about equal numbers of pairs (row i has n - 1 - i): boundaries[w], boundaries[w + 1].
std::vector<int64_t> balanced_rows(int64_t n, int workers) {
  std::vector<int64_t> bounds{0};
  const double total = 0.5 * static_cast<double>(n) * static_cast<double>(n - 1);
  double acc = 0.0;
  for (int64_t i = 0; i < n && static_cast<int>(bounds.size()) < workers; ++i) {
    acc += static_cast<double>(n - 1 - i);
    if (acc >= total * static_cast<double>(bounds.size()) / workers) bounds.push_back(i + 1);
  }
  while (static_cast<int>(bounds.size()) <= workers) bounds.push_back(n);
  bounds.back() = n;
  return bounds;
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
// counted twice. Blocks are dealt round-robin to the workers; their sums are added in block order.
double kernel_sum(const torch::Tensor& A, const torch::Tensor& B, double inv_two_sigma2, int64_t block_rows,
                  bool symmetric, int workers) {
  const int64_t n = A.size(0), m = B.size(0);
  const torch::Tensor cA = (A * A).sum(1) * (-inv_two_sigma2);                    // [n]
  const torch::Tensor cB = symmetric ? cA : (B * B).sum(1) * (-inv_two_sigma2);  // [m]
  const int64_t blocks = (n + block_rows - 1) / block_rows;
  std::vector<double> block_sum(static_cast<size_t>(blocks), 0.0);
  run_workers(workers, [&](int w) {
    torch::Tensor E = torch::empty({std::min(block_rows, n) * m}, torch::kFloat64);  // one contiguous block
    for (int64_t k = w; k < blocks; k += std::max(1, workers)) {
      const int64_t start = k * block_rows, b = std::min(block_rows, n - start);
      const int64_t col0 = symmetric ? start : 0;  // columns [col0, m)
      const torch::Tensor Ab = A.narrow(0, start, b);
      // Eb = cA_i + cB_j + a_i·b_j / σ² = -(‖a‖² + ‖b‖² - 2a·b) / (2σ²), then exp.
      torch::Tensor Eb = E.narrow(0, 0, b * (m - col0)).view({b, m - col0});
      at::addmm_out(Eb, cB.narrow(0, col0, m - col0), Ab, B.narrow(0, col0, m - col0).t(), 1.0,
                    2.0 * inv_two_sigma2);
      Eb.add_(cA.narrow(0, start, b).unsqueeze(1));
      Eb.exp_();
      if (!symmetric) {
        block_sum[static_cast<size_t>(k)] = Eb.sum().item<double>();
      } else {
        const double square = Eb.narrow(1, 0, b).sum().item<double>();
        const double right = b < m - col0 ? Eb.narrow(1, b, m - col0 - b).sum().item<double>() : 0.0;
        block_sum[static_cast<size_t>(k)] = square + 2.0 * right;
      }
    }
  });
  double total = 0.0;
  for (double s : block_sum) total += s;
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

double median_pairwise_distance(const at::Tensor& X_in, int threads) {
  require(X_in.dim() == 2 && X_in.size(0) >= 2, ErrorKind::invalid_argument,
          "median_pairwise_distance: expected a 2-D tensor with at least 2 rows");
  c10::InferenceMode inference;
  const torch::Tensor X = X_in.to(torch::kCPU, torch::kFloat64).contiguous();
  if (torch::isnan(X).any().item<bool>()) return std::nan("");
  const int64_t n = X.size(0), d = X.size(1);
  const torch::Tensor XT = X.t().contiguous();
  const double* x = X.data_ptr<double>();
  const double* xt = XT.data_ptr<double>();
  const uint64_t count = static_cast<uint64_t>(n) * static_cast<uint64_t>(n - 1) / 2;
  const uint64_t k = (count - 1) / 2;  // the lower middle (0-based)
  const int workers = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n / 64)));
  const std::vector<int64_t> rows = balanced_rows(n, workers);

  // Pass 1: histogram of buckets (one per worker, added); find the bucket holding the k-th value.
  const size_t n_buckets = size_t{1} << (64 - kBucketShift);
  std::vector<std::vector<uint64_t>> hists(static_cast<size_t>(workers));
  run_workers(workers, [&](int w) {
    std::vector<uint64_t>& hist = hists[static_cast<size_t>(w)];
    hist.assign(n_buckets, 0);
    for_each_pair_row(x, xt, n, d, rows[w], rows[w + 1], [&](const double* s, int64_t len) {
      for (int64_t j = 0; j < len; ++j) ++hist[bucket_of(s[j])];
    });
  });
  uint64_t below = 0;
  size_t target = 0;
  for (; target < n_buckets; ++target) {
    uint64_t c = 0;
    for (const auto& h : hists) c += h[target];
    if (below + c > k) break;
    below += c;
  }
  require(target < n_buckets, ErrorKind::internal, "median_pairwise_distance: histogram does not cover the rank");
  hists.clear();
  // Pass 2: collect that bucket's values and select within it (the k-th value does not depend on order).
  std::vector<std::vector<double>> parts(static_cast<size_t>(workers));
  run_workers(workers, [&](int w) {
    for_each_pair_row(x, xt, n, d, rows[w], rows[w + 1], [&](const double* s, int64_t len) {
      for (int64_t j = 0; j < len; ++j)
        if (bucket_of(s[j]) == target) parts[static_cast<size_t>(w)].push_back(s[j]);
    });
  });
  std::vector<double> in_bucket;
  for (const auto& p : parts) in_bucket.insert(in_bucket.end(), p.begin(), p.end());
  const auto nth = in_bucket.begin() + static_cast<std::ptrdiff_t>(k - below);
  std::nth_element(in_bucket.begin(), nth, in_bucket.end());
  return std::sqrt(*nth);
}

MmdResult mmd(const at::Tensor& X_in, const at::Tensor& Y_in, const MmdOptions& options) {
  check_shapes(X_in, Y_in);
  require(options.block_rows >= 1 && options.threads >= 1, ErrorKind::invalid_argument,
          "mmd: block_rows and threads must be >= 1");
  c10::InferenceMode inference;
  const torch::Tensor X = X_in.to(torch::kCPU, torch::kFloat64).contiguous();
  const torch::Tensor Y = Y_in.to(torch::kCPU, torch::kFloat64).contiguous();
  MmdResult r;
  if (torch::isnan(X).any().item<bool>() || torch::isnan(Y).any().item<bool>()) {
    r.mmd2 = r.bandwidth = std::nan("");
    return r;
  }
  r.bandwidth = median_pairwise_distance(X, options.threads);
  if (!(r.bandwidth > 0.0) || !std::isfinite(r.bandwidth)) {  // degenerate X: the kernel is undefined
    r.mmd2 = std::nan("");
    return r;
  }
  const double inv = 1.0 / (2.0 * r.bandwidth * r.bandwidth);
  const double n = static_cast<double>(X.size(0)), m = static_cast<double>(Y.size(0));
  const int64_t block = options.block_rows;
  const int t = options.threads;
  const double kxx = kernel_sum(X, X, inv, block, true, t), kyy = kernel_sum(Y, Y, inv, block, true, t);
  const double kxy = kernel_sum(X, Y, inv, block, false, t);
  r.mmd2 = (kxx - n) / (n * (n - 1.0)) + (kyy - m) / (m * (m - 1.0)) - 2.0 * kxy / (n * m);
  return r;
}

MmdResult mmd(ConstMatrixView X, ConstMatrixView Y, const MmdOptions& options) {
  const torch::Tensor tx = torch::from_blob(const_cast<float*>(X.data), {X.rows, X.cols}, torch::kFloat32);
  const torch::Tensor ty = torch::from_blob(const_cast<float*>(Y.data), {Y.rows, Y.cols}, torch::kFloat32);
  return mmd(tx, ty, options);
}

double mmd_squared(const at::Tensor& X, const at::Tensor& Y) { return mmd(X, Y).mmd2; }

}  // namespace simbi::metrics
