// Unit tests of metrics/sbc: ranks, the chi-square uniformity test and its p-value, coverage curves and
// the Bonferroni decision, on synthetic inputs with known answers.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "simbi/core/error.hpp"
#include "simbi/core/random.hpp"
#include "simbi/metrics/sbc.hpp"

namespace {

using simbi::ConstMatrixView;
using simbi::RandomStream;
using simbi::StreamPurpose;
namespace m = simbi::metrics;

TEST(Sbc, MarginalRanksCountDrawsBelowAndHalfTheTies) {
  // 4 draws of 2 dimensions: column 0 = 1,2,3,4; column 1 = 10,10,10,40
  const std::vector<float> draws = {1, 10, 2, 10, 3, 10, 4, 40};
  const ConstMatrixView v{draws.data(), 4, 2};
  int64_t r[2];
  const float below[2] = {0.0f, 5.0f};
  m::marginal_ranks(below, v, r);
  EXPECT_EQ(r[0], 0);
  EXPECT_EQ(r[1], 0);
  const float above[2] = {9.0f, 50.0f};
  m::marginal_ranks(above, v, r);
  EXPECT_EQ(r[0], 4);
  EXPECT_EQ(r[1], 4);
  const float mid[2] = {2.5f, 10.0f};  // column 1: 0 below, 3 ties -> 0 + 3/2 = 1
  m::marginal_ranks(mid, v, r);
  EXPECT_EQ(r[0], 2);
  EXPECT_EQ(r[1], 1);
  const float nan_star[2] = {NAN, 1.0f};
  EXPECT_THROW(m::marginal_ranks(nan_star, v, r), simbi::Error);
}

TEST(Sbc, MahalanobisRankIsAffineInvariantAndPooled) {
  // 1-D, draws symmetric about 0: θ* = 0 is the pooled centre (rank 0), θ* far out is last (rank L).
  const std::vector<float> d1 = {-2, -1, 1, 2};
  const float zero = 0.0f, far = 100.0f, one = 1.5f;
  EXPECT_EQ(m::mahalanobis_rank(&zero, {d1.data(), 4, 1}), 0);
  EXPECT_EQ(m::mahalanobis_rank(&far, {d1.data(), 4, 1}), 4);
  // θ* = 1.5: pooled mean 0.3, distances |x − 0.3| of the draws 2.3, 1.3, 0.7, 1.7 vs 1.2 for θ*: one is
  // closer (with the draws' own mean 0 it would be two: 1 and −1 at 1.0 < 1.5)
  EXPECT_EQ(m::mahalanobis_rank(&one, {d1.data(), 4, 1}), 1);

  // 2-D: the rank does not change under θ -> Aθ + b (A invertible): the Mahalanobis distance is affine
  // invariant when the mean and covariance are re-estimated.
  RandomStream rs(3, StreamPurpose::test, 1);
  const int64_t L = 50;
  std::vector<float> draws(L * 2), moved(L * 2);
  auto move = [](const float* p, float* q) {
    q[0] = 3.0f * p[0] + 0.5f * p[1] + 7.0f;
    q[1] = -0.2f * p[0] + 0.01f * p[1] - 1.0f;
  };
  for (int64_t l = 0; l < L; ++l) {
    draws[2 * l] = static_cast<float>(rs.normal());
    draws[2 * l + 1] = static_cast<float>(0.8 * draws[2 * l] + 0.6 * rs.normal());
    move(&draws[2 * l], &moved[2 * l]);
  }
  for (int k = 0; k < 20; ++k) {
    const float star[2] = {static_cast<float>(rs.normal()), static_cast<float>(rs.normal())};
    float star_moved[2];
    move(star, star_moved);
    EXPECT_EQ(m::mahalanobis_rank(star, {draws.data(), L, 2}), m::mahalanobis_rank(star_moved, {moved.data(), L, 2}));
  }
  // Degenerate draws (a collapsed coordinate) get a ridge instead of failing; all-identical points tie.
  const std::vector<float> flat = {1, 5, 2, 5, 3, 5};
  const float star_flat[2] = {2.0f, 5.0f};
  EXPECT_NO_THROW(m::mahalanobis_rank(star_flat, {flat.data(), 3, 2}));
  const std::vector<float> same = {1, 1, 1};
  const float star_same = 1.0f;
  EXPECT_EQ(m::mahalanobis_rank(&star_same, {same.data(), 3, 1}), 1);  // L / 2
}

TEST(Sbc, ChiSquareSurvivalFunctionMatchesKnownQuantiles) {
  // scipy.stats.chi2.sf: the 95 % quantiles of 1, 19 and 100 degrees of freedom, and closed forms for
  // even df: sf(x, 2) = exp(−x/2), sf(x, 4) = exp(−x/2)(1 + x/2).
  EXPECT_NEAR(m::chi_square_sf(3.841458820694124, 1), 0.05, 1e-12);
  EXPECT_NEAR(m::chi_square_sf(30.14352720564616, 19), 0.05, 1e-12);
  EXPECT_NEAR(m::chi_square_sf(124.34211340400407, 100), 0.05, 1e-11);
  EXPECT_NEAR(m::chi_square_sf(2.0, 2), std::exp(-1.0), 1e-14);
  EXPECT_NEAR(m::chi_square_sf(10.0, 4) / (6.0 * std::exp(-5.0)), 1.0, 1e-12);
  EXPECT_NEAR(m::chi_square_sf(200.0, 4) / (101.0 * std::exp(-100.0)), 1.0, 1e-10);  // deep tail, relative
  EXPECT_EQ(m::chi_square_sf(0.0, 3), 1.0);
  EXPECT_THROW(m::chi_square_sf(1.0, 0.0), simbi::Error);
}

TEST(Sbc, UniformityTestBinsCountsAndStatistic) {
  // L = 99 (100 rank values), each value once: 20 bins of 5, statistic 0, p = 1.
  std::vector<int64_t> uniform;
  for (int64_t r = 0; r <= 99; ++r) uniform.push_back(r);
  const m::UniformityTest u = m::chi_square_uniformity(uniform, 99, 20);
  EXPECT_EQ(u.df, 19);
  for (size_t b = 0; b < 20; ++b) {
    EXPECT_EQ(u.counts[b], 5);
    EXPECT_DOUBLE_EQ(u.expected[b], 5.0);
  }
  EXPECT_DOUBLE_EQ(u.statistic, 0.0);
  EXPECT_DOUBLE_EQ(u.p_value, 1.0);

  // Every rank in the lower half with 2 bins: counts [100, 0], expected [50, 50], χ² = 100 on 1 df.
  const std::vector<int64_t> low(100, 10);
  const m::UniformityTest l = m::chi_square_uniformity(low, 99, 2);
  EXPECT_EQ(l.counts, (std::vector<int64_t>{100, 0}));
  EXPECT_DOUBLE_EQ(l.statistic, 100.0);
  EXPECT_LT(l.p_value, 1e-20);

  // Unequal bins: L = 9 (10 values) in 3 bins holds values [0,3), [3,6), [6,10); expected 3 : 3 : 4.
  const std::vector<int64_t> ten = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  const m::UniformityTest t = m::chi_square_uniformity(ten, 9, 3);
  EXPECT_EQ(t.edges, (std::vector<int64_t>{0, 3, 6, 10}));
  EXPECT_EQ(t.counts, (std::vector<int64_t>{3, 3, 4}));
  EXPECT_NEAR(t.statistic, 0.0, 1e-12);
  EXPECT_THROW(m::chi_square_uniformity(ten, 9, 11), simbi::Error);  // more bins than rank values
  EXPECT_THROW(m::chi_square_uniformity({10}, 9, 2), simbi::Error);  // rank outside 0..L
}

TEST(Sbc, DefaultBinsKeepFiveExpectedPerBin) {
  EXPECT_EQ(m::default_sbc_bins(1000, 1000), 20);
  // M = 50, L = 100: 10 bins would hold 10 of the 101 values in the smallest bin, 50·10/101 = 4.95 < 5;
  // 9 bins hold at least 11: 5.45.
  EXPECT_EQ(m::default_sbc_bins(50, 100), 9);
  // 2 bins of 100 rank values (L = 99) expect 10·50/100 = 5; of 101 values (L = 100) the smaller one
  // holds 50, 10·50/101 < 5: no test.
  EXPECT_EQ(m::default_sbc_bins(10, 99), 2);
  EXPECT_EQ(m::default_sbc_bins(10, 100), 0);
  EXPECT_EQ(m::default_sbc_bins(9, 99), 0);
  EXPECT_EQ(m::default_sbc_bins(1000, 4), 5);  // at most L + 1 bins
}

TEST(Sbc, CoverageOfUniformAndOfConcentratedRanks) {
  std::vector<int64_t> uniform;
  for (int64_t r = 0; r <= 99; ++r) uniform.push_back(r);
  const std::vector<double> levels = m::coverage_levels(20);
  ASSERT_EQ(levels.size(), 19u);
  EXPECT_DOUBLE_EQ(levels.front(), 0.05);
  const std::vector<double> central = m::central_coverage(uniform, 99, levels);
  const std::vector<double> lower = m::lower_coverage(uniform, 99, levels);
  for (size_t k = 0; k < levels.size(); ++k) {
    EXPECT_NEAR(central[k], levels[k], 1e-12) << "level " << levels[k];
    EXPECT_NEAR(lower[k], levels[k], 1e-12) << "level " << levels[k];
  }
  // θ* always at the median of its draws: inside every central interval (an underconfident posterior);
  // always beyond the last draw: inside none (overconfident).
  const std::vector<int64_t> middle(40, 50), edge(40, 99);
  for (double c : m::central_coverage(middle, 99, levels)) EXPECT_DOUBLE_EQ(c, 1.0);
  for (double c : m::central_coverage(edge, 99, levels)) EXPECT_DOUBLE_EQ(c, 0.0);
  // Known share: half the ranks at 0 (outside every central interval), half at 50 (inside all).
  std::vector<int64_t> half(20, 0);
  half.insert(half.end(), 20, 50);
  for (double c : m::central_coverage(half, 99, {0.1, 0.5, 0.9})) EXPECT_DOUBLE_EQ(c, 0.5);
}

// Under exact calibration θ* and its L draws are exchangeable: draw all L + 1 from one correlated
// Gaussian. Then every rank (marginal and the pooled Mahalanobis one) must be uniform on {0..L}. With
// M = 4000 tests, L = 9 (10 bins of 400 expected) the chi-square test at the fixed seed must not reject
// at 0.1 % (a real test: a Mahalanobis rank with the draws' own mean and covariance, not pooled, puts θ*
// too far out: in numpy on the same setting it put 40 % of the ranks in the top bin, χ² ≈ 4000).
TEST(Sbc, RanksOfExchangeableDrawsAreUniform) {
  const int64_t M = 4000, L = 9, D = 3;
  RandomStream rs(11, StreamPurpose::test, 2);
  std::vector<std::vector<int64_t>> ranks(D + 1);
  std::vector<float> pts((L + 1) * D);
  int64_t r[D];
  for (int64_t j = 0; j < M; ++j) {
    // a different posterior per test: random centre and scale, correlated coordinates
    const double c = 5.0 * rs.normal(), s = std::exp(rs.normal());
    for (int64_t i = 0; i <= L; ++i) {
      const double z0 = rs.normal(), z1 = rs.normal(), z2 = rs.normal();
      pts[i * D + 0] = static_cast<float>(c + s * z0);
      pts[i * D + 1] = static_cast<float>(c + s * (0.9 * z0 + 0.3 * z1));
      pts[i * D + 2] = static_cast<float>(-c + s * 0.1 * z2);
    }
    const ConstMatrixView draws{pts.data() + D, L, D};  // point 0 is θ*
    m::marginal_ranks(pts.data(), draws, r);
    for (int64_t d = 0; d < D; ++d) ranks[d].push_back(r[d]);
    ranks[D].push_back(m::mahalanobis_rank(pts.data(), draws));
  }
  const m::SbcSummary s = m::summarize_sbc(ranks, {"a", "b", "c"}, L);
  EXPECT_EQ(s.bins, 10);
  ASSERT_EQ(s.statistics.size(), 4u);
  EXPECT_TRUE(s.statistics.back().joint);
  for (const m::SbcStatistic& st : s.statistics) {
    EXPECT_GT(st.test.p_value, 1e-3) << st.name;
    // binomial sd of a coverage at M = 4000 is at most 0.0079: 0.035 is 4.4 sd
    EXPECT_LT(st.max_coverage_deviation, 0.035) << st.name;
  }
  EXPECT_FALSE(s.rejected);
}

TEST(Sbc, OverconfidentRanksAreRejectedAndBonferroniAdjusted) {
  // Ranks of an overconfident posterior pile up at both ends: half at 0..4, half at L-4..L (L = 99).
  std::vector<int64_t> bad, good;
  for (int64_t j = 0; j < 200; ++j) {
    bad.push_back(j % 2 ? j % 5 : 99 - j % 5);
    good.push_back(j % 100);
  }
  const m::SbcSummary s = m::summarize_sbc({good, bad, good}, {"ok", "bad"}, 99);
  EXPECT_TRUE(s.tested);
  EXPECT_TRUE(s.rejected);
  EXPECT_EQ(s.min_p_index, 1u);
  EXPECT_EQ(s.statistics[1].name, "bad");
  EXPECT_DOUBLE_EQ(s.adjusted_p_value, std::min(1.0, 3.0 * s.statistics[1].test.p_value));
  EXPECT_NEAR(s.statistics[1].coverage[9], 0.0, 1e-12);        // level 0.5: no θ* inside
  EXPECT_NEAR(s.max_marginal_coverage_deviation, 0.9, 1e-12);  // level 0.9 covers none of them
  EXPECT_LT(s.statistics[1].mean_coverage_deviation, -0.3);    // overconfident: below nominal
  EXPECT_NEAR(s.statistics[0].mean_coverage_deviation, 0.0, 1e-12);
  // Uniform ranks everywhere: the smallest p of 3 tests is not below alpha / 3.
  const m::SbcSummary ok = m::summarize_sbc({good, good, good}, {"x", "y"}, 99);
  EXPECT_FALSE(ok.rejected);
  EXPECT_NEAR(ok.max_joint_coverage_deviation, 0.0, 1e-12);
  // Bad sizes and too few tests are refused.
  EXPECT_THROW(m::summarize_sbc({good, good}, {"x", "y"}, 99), simbi::Error);
  EXPECT_THROW(m::summarize_sbc({{1}, {1}}, {"x"}, 99), simbi::Error);
  // Fewer than 10 tests: no chi-square test, coverage still computed.
  const m::SbcSummary few = m::summarize_sbc({{1, 2, 3}, {4, 5, 6}}, {"x"}, 9);
  EXPECT_FALSE(few.tested);
  EXPECT_FALSE(few.rejected);
  EXPECT_EQ(few.statistics[0].coverage.size(), 19u);
}

TEST(Sbc, PointErrorsOfPosteriorMeans) {
  // errors 0.5, -1, 0, 2 on truths 1, -2, 0, 4: the zero truth is left out of the percentage errors only.
  const m::PointErrors e = m::point_errors({1.0, -2.0, 0.0, 4.0}, {1.5, -3.0, 0.0, 6.0});
  EXPECT_EQ(e.tests, 4);
  EXPECT_EQ(e.ape_tests, 3);
  EXPECT_NEAR(e.mae, (0.5 + 1.0 + 0.0 + 2.0) / 4, 1e-15);
  EXPECT_NEAR(e.rmse, std::sqrt((0.25 + 1.0 + 0.0 + 4.0) / 4), 1e-15);
  EXPECT_NEAR(e.mape, (0.5 + 0.5 + 0.5) / 3, 1e-15);
  EXPECT_NEAR(e.median_ape, 0.5, 1e-15);
  // even count: the median is the mean of the middle two
  EXPECT_NEAR(m::point_errors({1, 1, 1, 1}, {1.1, 1.2, 1.4, 1.8}).median_ape, 0.3, 1e-12);
  EXPECT_TRUE(std::isnan(m::point_errors({0.0, 0.0}, {1.0, 2.0}).mape));
  EXPECT_THROW(m::point_errors({1.0}, {1.0, 2.0}), simbi::Error);
  EXPECT_THROW(m::point_errors({}, {}), simbi::Error);
}

}  // namespace
