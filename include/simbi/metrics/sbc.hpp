// Simulation-based calibration (Talts et al. 2018) and expected coverage (docs/methods.md §5, docs/sbc.md):
// the rank of a true θ* among L posterior draws (per dimension, and jointly by Mahalanobis distance), a
// chi-square test that the ranks are uniform, and expected-coverage curves of credible regions.
// Contract: plain deterministic functions on CPU buffers; no MPI, no torch, no files.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "simbi/core/matrix.hpp"

namespace simbi::metrics {

// ---- per test pair: rank statistics in [0, L] for L = samples.rows ----

// Marginal ranks of θ* [D] among the rows of `samples` [L, D]: ranks[d] = #{l : θ_l,d < θ*_d}, a tie
// counting one half (rounded down; ties have probability 0 for continuous posteriors). Samples must
// be finite (Error(numeric) otherwise).
void marginal_ranks(const float* theta_star, ConstMatrixView samples, int64_t* ranks);

// Joint rank: #{l : m(θ_l) < m(θ*)} for the squared Mahalanobis distance m(θ) = (θ − μ)ᵀ Σ⁻¹ (θ − μ),
// μ and Σ the mean and covariance of all L + 1 points (θ* pooled with the samples). Pooling makes m a
// symmetric function of the L + 1 points, so for a calibrated posterior (θ* exchangeable with the draws)
// the rank is exactly uniform on {0..L}; a mean and covariance of the draws alone would put the draws
// systematically closer to the centre than θ*. A singular Σ (e.g. a collapsed posterior) gets a small
// ridge. Error(numeric) for non-finite input.
int64_t mahalanobis_rank(const float* theta_star, ConstMatrixView samples);

// ---- over M test pairs ----

// Pearson's chi-square test that ranks (each in [0, L]) are uniform on {0..L}, on `bins` bins: bin b
// holds the rank values [edges[b], edges[b+1]) with edges[b] = floor(b (L+1) / bins), so every bin holds
// floor or ceil of (L+1)/bins values and its expected count is M · (values in the bin) / (L + 1).
struct UniformityTest {
  std::vector<int64_t> edges;    // bins + 1 rank values
  std::vector<int64_t> counts;   // observed per bin
  std::vector<double> expected;  // expected per bin under uniformity
  double statistic = 0.0;        // Σ (counts − expected)² / expected
  int64_t df = 0;                // bins − 1
  double p_value = 1.0;          // P(χ²_df ≥ statistic)
};
// Error(invalid_argument) for bins < 2, bins > L + 1, or a rank outside [0, L].
UniformityTest chi_square_uniformity(const std::vector<int64_t>& ranks, int64_t L, int64_t bins);

// The most bins (at most max_bins, at most L + 1) whose smallest expected count under uniformity is at
// least min_expected (5: the usual validity rule of the chi-square approximation); 0 when even 2 bins
// would not reach it (M < 2 · min_expected).
int64_t default_sbc_bins(int64_t tests, int64_t L, int64_t max_bins = 20, double min_expected = 5.0);

// Upper tail of the chi-square distribution, P(χ²_df > x) = Q(df/2, x/2) (regularized upper incomplete
// gamma function; series / continued fraction, relative accuracy ~1e-14). df > 0, x >= 0.
double chi_square_sf(double x, double df);

// Expected coverage at each level γ of the central credible interval (per dimension): the share of
// tests whose normalised rank u lies in [(1−γ)/2, (1+γ)/2], i.e. θ*_d lies between the (1−γ)/2 and
// (1+γ)/2 quantiles of the draws. u is the randomised PIT (r + V)/(L + 1), V ~ U(0, 1), averaged over V:
// a test counts with the share of its rank cell inside the interval, so exactly uniform ranks give
// exactly γ (no discreteness error of order 1/(L + 1)).
std::vector<double> central_coverage(const std::vector<int64_t>& ranks, int64_t L, const std::vector<double>& levels);
// Expected coverage of a region growing from the centre (the joint Mahalanobis rank): the share with
// u ≤ γ (same averaging), i.e. θ* lies inside the smallest ellipsoid (of the pooled covariance) holding
// a share γ of the draws.
std::vector<double> lower_coverage(const std::vector<int64_t>& ranks, int64_t L, const std::vector<double>& levels);
// k/steps for k = 1..steps−1 (steps = 20: 0.05, 0.10, .., 0.95).
std::vector<double> coverage_levels(int steps = 20);

// ---- point accuracy of the posterior mean ----

// Errors of the posterior means m_j against the true θ*_j over M tests (one dimension): mean absolute
// error, root mean square error, and the mean and median absolute percentage error |m − θ*|/|θ*| over
// the tests with θ* ≠ 0 (percentage errors explode for θ* near 0 — a prior straddling 0 makes the median
// the more telling figure). Error(invalid_argument) for sizes that differ or M = 0.
struct PointErrors {
  double mae = 0.0, rmse = 0.0;
  double mape = 0.0, median_ape = 0.0;  // fractions (0.1 = 10%); NaN when every θ* is 0
  int64_t tests = 0, ape_tests = 0;     // M, and the tests with θ* ≠ 0
};
PointErrors point_errors(const std::vector<double>& truth, const std::vector<double>& estimate);

// ---- the whole SBC summary ----

struct SbcOptions {
  double alpha = 0.01;  // family-wise significance level of the uniformity tests (Bonferroni)
  int64_t bins = 0;     // histogram / chi-square bins; 0: default_sbc_bins(M, L)
  std::vector<double> levels = coverage_levels();
};

// One rank statistic (a dimension of θ, or the joint Mahalanobis rank) over the M tests.
struct SbcStatistic {
  std::string name;
  bool joint = false;                    // Mahalanobis rank with lower_coverage, else central_coverage
  std::vector<int64_t> ranks;            // [M], each in [0, L]
  UniformityTest test;                   // empty (df 0, p 1) when bins == 0
  std::vector<double> coverage;          // at SbcSummary::levels
  double max_coverage_deviation = 0.0;   // max over levels of |coverage − level|
  double worst_level = 0.0;              // the level where it is reached
  double mean_coverage_deviation = 0.0;  // mean over levels of coverage − level (< 0: overconfident)
};

struct SbcSummary {
  int64_t tests = 0, samples = 0;  // M, L
  int64_t bins = 0;                // 0: too few tests for the chi-square test (M < 10)
  double alpha = 0.0;
  std::vector<double> levels;
  std::vector<SbcStatistic> statistics;  // the D dimensions, then the joint statistic
  // Bonferroni over the K = D + 1 uniformity tests: reject when min p < alpha / K, i.e. when
  // adjusted_p = min(1, K · min p) < alpha.
  double min_p_value = 1.0, adjusted_p_value = 1.0;
  size_t min_p_index = 0;  // which statistic has the smallest p
  bool tested = false;     // whether the chi-square tests ran (bins >= 2)
  bool rejected = false;
  // max |coverage − level| over the dimensions (central intervals), and of the joint curve.
  double max_marginal_coverage_deviation = 0.0, max_joint_coverage_deviation = 0.0;
  // mean of coverage − level over the levels and dimensions (< 0: overconfident, > 0: underconfident).
  double mean_marginal_coverage_deviation = 0.0;
};

// ranks[d] holds the M ranks of statistic d: the D marginal ones named by `names`, then the joint one
// (ranks.size() == names.size() + 1). Error(invalid_argument) for inconsistent sizes, M < 2, L < 1, or
// an options.bins that does not fit (bins > L + 1).
SbcSummary summarize_sbc(const std::vector<std::vector<int64_t>>& ranks, const std::vector<std::string>& names,
                         int64_t L, const SbcOptions& options = {});

}  // namespace simbi::metrics
