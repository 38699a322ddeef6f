// Unit tests of the metrics module: C2ST (sbibm's MLPClassifier recipe) and MMD (tp_sutherland).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <vector>

#include "simbi/core/error.hpp"
#include "simbi/core/random.hpp"
#include "simbi/metrics/c2st.hpp"
#include "simbi/metrics/mmd.hpp"

namespace {

using simbi::RandomStream;
using simbi::StreamPurpose;

// n rows of N(mean, scale²·I_d), float32.
torch::Tensor gaussian(int64_t n, int64_t d, double mean, double scale, uint64_t index) {
  RandomStream rs(7, StreamPurpose::test, index);
  torch::Tensor t = torch::empty({n, d}, torch::kFloat32);
  float* p = t.data_ptr<float>();
  for (int64_t i = 0; i < n * d; ++i) p[i] = static_cast<float>(mean + scale * rs.normal());
  return t;
}

// The textbook unbiased MMD² in double precision, O(n²) with explicit pairs, σ = lower median of pdist(X).
double direct_mmd2(const torch::Tensor& Xf, const torch::Tensor& Yf, double* sigma_out) {
  const torch::Tensor X = Xf.to(torch::kFloat64), Y = Yf.to(torch::kFloat64);
  const int64_t n = X.size(0), m = Y.size(0), d = X.size(1);
  auto a = X.accessor<double, 2>();
  auto b = Y.accessor<double, 2>();
  auto sqdist = [d](auto& u, int64_t i, auto& v, int64_t j) {
    double s = 0.0;
    for (int64_t k = 0; k < d; ++k) s += (u[i][k] - v[j][k]) * (u[i][k] - v[j][k]);
    return s;
  };
  std::vector<double> dists;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) dists.push_back(std::sqrt(sqdist(a, i, a, j)));
  std::sort(dists.begin(), dists.end());
  const double sigma = dists[(dists.size() - 1) / 2];
  if (sigma_out) *sigma_out = sigma;
  auto k = [sigma](double s) { return std::exp(-s / (2.0 * sigma * sigma)); };
  double xx = 0, yy = 0, xy = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      if (i != j) xx += k(sqdist(a, i, a, j));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < m; ++j)
      if (i != j) yy += k(sqdist(b, i, b, j));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) xy += k(sqdist(a, i, b, j));
  return xx / (n * (n - 1.0)) + yy / (m * (m - 1.0)) - 2.0 * xy / (double(n) * m);
}

TEST(C2st, KFoldTestSetsPartitionTheRowsLikeSklearn) {
  const auto sets = simbi::metrics::kfold_test_sets(23, 5, 1);
  ASSERT_EQ(sets.size(), 5u);
  const std::vector<size_t> sizes = {5, 5, 5, 4, 4};  // the first n % folds parts get one more row
  std::set<int64_t> seen;
  for (size_t f = 0; f < sets.size(); ++f) {
    EXPECT_EQ(sets[f].size(), sizes[f]);
    for (int64_t i : sets[f]) EXPECT_TRUE(seen.insert(i).second) << "row " << i << " in two folds";
  }
  EXPECT_EQ(seen.size(), 23u);
  EXPECT_EQ(*seen.begin(), 0);
  EXPECT_EQ(*seen.rbegin(), 22);
  EXPECT_NE(simbi::metrics::kfold_test_sets(23, 5, 2)[0], sets[0]);  // the seed shuffles
}

TEST(C2st, FoldsOfRankAreRoundRobin) {
  EXPECT_EQ(simbi::metrics::folds_of_rank(5, 0, 2), (std::vector<int>{0, 2, 4}));
  EXPECT_EQ(simbi::metrics::folds_of_rank(5, 1, 2), (std::vector<int>{1, 3}));
  EXPECT_TRUE(simbi::metrics::folds_of_rank(5, 6, 7).empty());
  EXPECT_EQ(simbi::metrics::folds_of_rank(5, 0, 1).size(), 5u);
}

// Same distribution: the accuracy is a binomial proportion around 0.5 over the n + m test predictions.
TEST(C2st, SameDistributionGivesAboutOneHalf) {
  const int64_t n = 600;
  const auto r = simbi::metrics::c2st(gaussian(n, 2, 0.0, 1.0, 1), gaussian(n, 2, 0.0, 1.0, 2));
  const double sd = std::sqrt(0.25 / static_cast<double>(2 * n));
  EXPECT_NEAR(r.accuracy, 0.5, 4.0 * sd) << "4 binomial standard deviations = " << 4.0 * sd;
  ASSERT_EQ(r.computed.size(), 5u);
  for (const auto& f : r.computed) {
    EXPECT_TRUE(f.converged);
    EXPECT_GT(f.epochs, 10);  // at least the 11 non-improving epochs of the stopping rule
    EXPECT_EQ(f.test_size, 2 * n / 5);
    EXPECT_NEAR(f.final_loss, std::log(2.0), 0.05);  // the classifier cannot beat chance by much
  }
  const double mean = std::accumulate(r.fold_accuracy.begin(), r.fold_accuracy.end(), 0.0) / 5.0;
  EXPECT_DOUBLE_EQ(r.accuracy, mean);
}

TEST(C2st, DisjointDistributionsGiveOne) {
  const auto r = simbi::metrics::c2st(gaussian(300, 3, 0.0, 1.0, 3), gaussian(300, 3, 12.0, 1.0, 4));
  EXPECT_GE(r.accuracy, 0.995);
}

// A difference in scale only (same mean): the MLP needs its hidden layers. The Bayes accuracy of
// N(0, I) vs N(0, 3²I) in 2-D is 0.838 (threshold on ‖x‖²: 2·ln 9 / (1 - 1/9) = 4.94); the binomial
// standard deviation over 1600 test predictions is 0.009.
TEST(C2st, ScaleDifferenceIsDetected) {
  const auto r = simbi::metrics::c2st(gaussian(800, 2, 0.0, 1.0, 5), gaussian(800, 2, 0.0, 3.0, 6));
  EXPECT_GT(r.accuracy, 0.78);
  EXPECT_LT(r.accuracy, 0.838 + 4 * 0.009);
}

// Folds computed separately (as ranks do), or on several threads, give exactly the same per-fold
// results: each fold depends only on (data, seed, fold).
TEST(C2st, FoldSubsetsAndThreadsGiveIdenticalFolds) {
  const torch::Tensor X = gaussian(250, 2, 0.0, 1.0, 7), Y = gaussian(250, 2, 0.5, 1.0, 8);
  simbi::metrics::C2stOptions all;
  const auto full = simbi::metrics::c2st(X, Y, all);
  simbi::metrics::C2stOptions even = all, odd = all;
  even.fold_subset = simbi::metrics::folds_of_rank(5, 0, 2);
  odd.fold_subset = simbi::metrics::folds_of_rank(5, 1, 2);
  odd.threads = 2;
  const auto a = simbi::metrics::c2st(X, Y, even), b = simbi::metrics::c2st(X, Y, odd);
  ASSERT_EQ(a.computed.size(), 3u);
  ASSERT_EQ(b.computed.size(), 2u);
  EXPECT_TRUE(std::isnan(a.fold_accuracy[1]));
  for (int f = 0; f < 5; ++f) {
    const auto& part = f % 2 == 0 ? a : b;
    EXPECT_EQ(part.fold_accuracy[f], full.fold_accuracy[f]) << "fold " << f;
    EXPECT_EQ(part.fold_epochs[f], full.fold_epochs[f]) << "fold " << f;
  }
  simbi::metrics::C2stOptions threaded = all;
  threaded.threads = 3;
  EXPECT_EQ(simbi::metrics::c2st(X, Y, threaded).fold_accuracy, full.fold_accuracy);
}

TEST(C2st, SeedChangesTheResultOnlyWithinNoise) {
  const torch::Tensor X = gaussian(250, 2, 0.0, 1.0, 9), Y = gaussian(250, 2, 0.0, 1.0, 10);
  simbi::metrics::C2stOptions o;
  o.seed = 2;
  const auto a = simbi::metrics::c2st(X, Y), b = simbi::metrics::c2st(X, Y, o);
  EXPECT_NE(a.fold_accuracy, b.fold_accuracy);
  EXPECT_NEAR(a.accuracy, b.accuracy, 0.1);
}

TEST(C2st, DoublePrecisionAgreesStatistically) {
  const torch::Tensor X = gaussian(400, 2, 0.0, 1.0, 11), Y = gaussian(400, 2, 1.5, 1.0, 12);
  simbi::metrics::C2stOptions o;
  o.double_precision = true;
  // Bayes accuracy Φ(1.5·√2 / 2) = 0.856.
  EXPECT_NEAR(simbi::metrics::c2st(X, Y, o).accuracy, 0.856, 0.05);
  EXPECT_NEAR(simbi::metrics::c2st(X, Y).accuracy, 0.856, 0.05);
}

TEST(C2st, RejectsBadInput) {
  const torch::Tensor X = gaussian(50, 2, 0.0, 1.0, 13);
  try {
    simbi::metrics::c2st(X, gaussian(50, 3, 0.0, 1.0, 14));
    FAIL() << "no error for different dimensions";
  } catch (const simbi::Error& e) {
    EXPECT_EQ(e.kind(), simbi::ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("columns"), std::string::npos) << e.what();
  }
  torch::Tensor Y = gaussian(50, 2, 0.0, 1.0, 15);
  Y[3][1] = std::nanf("");
  try {
    simbi::metrics::c2st(X, Y);
    FAIL() << "no error for NaN";
  } catch (const simbi::Error& e) {
    EXPECT_EQ(e.kind(), simbi::ErrorKind::numeric);
  }
  torch::Tensor constant = X.clone();
  constant.select(1, 1).fill_(2.0f);
  EXPECT_THROW(simbi::metrics::c2st(constant, gaussian(50, 2, 0.0, 1.0, 16)), simbi::Error);
  simbi::metrics::C2stOptions o;
  o.fold_subset = {5};
  EXPECT_THROW(simbi::metrics::c2st(X, gaussian(50, 2, 0.0, 1.0, 17), o), simbi::Error);
}

TEST(Mmd, MatchesDirectDoublePrecisionComputation) {
  const torch::Tensor X = gaussian(70, 3, 0.0, 1.0, 20), Y = gaussian(55, 3, 0.4, 1.2, 21);
  double sigma = 0.0;
  const double expected = direct_mmd2(X, Y, &sigma);
  // Small blocks exercise the blocked and symmetric paths (uneven last block).
  for (int64_t block : {7, 64, 512}) {
    const auto r = simbi::metrics::mmd(X, Y, {block, 1});
    EXPECT_DOUBLE_EQ(r.bandwidth, sigma);
    EXPECT_NEAR(r.mmd2, expected, 1e-12 + 1e-9 * std::abs(expected)) << "block " << block;
    // Worker threads change nothing, not even the last bit (block sums are added in block order).
    const auto t = simbi::metrics::mmd(X, Y, {block, 3});
    EXPECT_EQ(t.mmd2, r.mmd2) << "block " << block;
    EXPECT_EQ(t.bandwidth, r.bandwidth);
  }
  EXPECT_GT(expected, 0.01);
  EXPECT_NEAR(simbi::metrics::mmd_squared(X, Y), expected, 1e-12);
}

TEST(Mmd, SameDistributionIsNearZeroAndCanBeNegative) {
  const auto r = simbi::metrics::mmd(gaussian(400, 2, 0.0, 1.0, 22), gaussian(400, 2, 0.0, 1.0, 23));
  EXPECT_LT(std::abs(r.mmd2), 0.01);
  const auto shifted = simbi::metrics::mmd(gaussian(400, 2, 0.0, 1.0, 22), gaussian(400, 2, 1.0, 1.0, 24));
  EXPECT_GT(shifted.mmd2, 0.1);
}

// torch.median of an even count is the lower middle value: {0, 1, 3, 7} has distances
// 1 2 3 4 6 7 -> 3 (not 3.5, not 4).
TEST(Mmd, BandwidthIsTheLowerMedian) {
  const torch::Tensor X = torch::tensor({0.0f, 1.0f, 3.0f, 7.0f}).view({4, 1});
  EXPECT_DOUBLE_EQ(simbi::metrics::median_pairwise_distance(X), 3.0);
  EXPECT_DOUBLE_EQ(simbi::metrics::mmd(X, torch::tensor({0.5f, 2.0f}).view({2, 1})).bandwidth, 3.0);
  // Odd count: {0, 1, 3} -> 1 2 3 -> 2.
  EXPECT_DOUBLE_EQ(simbi::metrics::median_pairwise_distance(torch::tensor({0.0f, 1.0f, 3.0f}).view({3, 1})), 2.0);
}

TEST(Mmd, MedianIsExactOnManyPairs) {
  const torch::Tensor X = gaussian(401, 4, 0.0, 1.0, 25);
  const torch::Tensor Xd = X.to(torch::kFloat64);
  auto x = Xd.accessor<double, 2>();
  std::vector<double> dists;
  for (int64_t i = 0; i < 401; ++i)
    for (int64_t j = i + 1; j < 401; ++j) {
      double s = 0.0;
      for (int64_t k = 0; k < 4; ++k) s += (x[i][k] - x[j][k]) * (x[i][k] - x[j][k]);
      dists.push_back(std::sqrt(s));
    }
  const size_t k = (dists.size() - 1) / 2;
  std::nth_element(dists.begin(), dists.begin() + static_cast<std::ptrdiff_t>(k), dists.end());
  EXPECT_NEAR(simbi::metrics::median_pairwise_distance(X), dists[k], 1e-14 * dists[k]);
  EXPECT_EQ(simbi::metrics::median_pairwise_distance(X, 3), simbi::metrics::median_pairwise_distance(X));
}

TEST(Mmd, NanGivesNan) {
  torch::Tensor X = gaussian(30, 2, 0.0, 1.0, 26), Y = gaussian(30, 2, 0.0, 1.0, 27);
  Y[5][0] = std::nanf("");
  EXPECT_TRUE(std::isnan(simbi::metrics::mmd_squared(X, Y)));
  EXPECT_TRUE(std::isnan(simbi::metrics::mmd_squared(Y, X)));
  EXPECT_THROW(simbi::metrics::mmd(X, gaussian(30, 3, 0.0, 1.0, 28)), simbi::Error);
}

}  // namespace
