// Tests of the sbibm tasks gaussian_linear, gaussian_linear_uniform, slcp, slcp_distractors and
// gaussian_mixture: agreement with the shipped observations, analytic moments, priors, batch independence.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "../../src/sim/tasks/embedded_data.hpp"
#include "../../src/sim/tasks/slcp_distractors_data.hpp"
#include "simbi/core/error.hpp"
#include "simbi/sim/task.hpp"
#include "test_util.hpp"

namespace {

using simbi::Matrix;
using simbi::RandomStream;
using simbi::RowStreams;
using simbi::StreamPurpose;
using simbi::sim::make_task;
using simbi::sim::Task;
using simbi::sim::tasks::SlcpDistractorsData;
namespace st = simbi::test;

constexpr double kLog2Pi = 1.8378770664093454836;
constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr int kNumObs = 5;
// Where y index i (the 8 SLCP values) lands in slcp_distractors' x (docs/methods.md §7).
const std::vector<int> kSlcpPositions = {22, 33, 23, 67, 42, 21, 16, 90};

RowStreams streams(uint64_t seed, int64_t first_row = 0) {
  return RowStreams{RandomStream(seed, StreamPurpose::test, 0), first_row};
}

// n draws of the task's simulator, every row at the same θ.
Matrix simulate_at(Task& task, const std::vector<double>& theta, int64_t n, uint64_t seed) {
  Matrix th(n, task.theta_dim()), x(n, task.x_dim());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < th.cols(); ++j) th(i, j) = static_cast<float>(theta[j]);
  task.simulator->simulate(th, x, streams(seed));
  return x;
}

double log_sum_exp(const std::vector<double>& v) {
  const double m = *std::max_element(v.begin(), v.end());
  double s = 0.0;
  for (double e : v) s += std::exp(e - m);
  return m + std::log(s);
}

// ---- analytic log-likelihoods, written independently of the simulators (docs/methods.md §7) ----

double gaussian_linear_loglik(const std::vector<double>& th, const float* x) {
  double q = 0.0;
  for (size_t i = 0; i < th.size(); ++i) q += (x[i] - th[i]) * (x[i] - th[i]) / 0.1;
  return -0.5 * q - 0.5 * th.size() * (kLog2Pi + std::log(0.1));
}

double gaussian_mixture_loglik(const std::vector<double>& th, const float* x) {
  const double r2 = (x[0] - th[0]) * (x[0] - th[0]) + (x[1] - th[1]) * (x[1] - th[1]);
  std::vector<double> terms;
  for (double var : {1.0, 0.01}) terms.push_back(std::log(0.5) - kLog2Pi - std::log(var) - 0.5 * r2 / var);
  return log_sum_exp(terms);
}

struct SlcpGaussian {  // N₂(m, Σ(θ)) of one SLCP point
  double m0, m1, s00, s01, s11;
  explicit SlcpGaussian(const std::vector<double>& th) {
    const double sa = th[2] * th[2], sb = th[3] * th[3], rho = std::tanh(th[4]);
    m0 = th[0];
    m1 = th[1];
    s00 = sa * sa + 1e-6;
    s11 = sb * sb + 1e-6;
    s01 = rho * sa * sb;
  }
  double det() const { return s00 * s11 - s01 * s01; }
  double mahalanobis2(double a, double b) const {
    const double da = a - m0, db = b - m1;
    return (s11 * da * da - 2.0 * s01 * da * db + s00 * db * db) / det();
  }
  double logpdf(double a, double b) const { return -kLog2Pi - 0.5 * std::log(det()) - 0.5 * mahalanobis2(a, b); }
};

// x8 = (pt1_a, pt1_b, pt2_a, ...), or the values read from slcp_distractors' positions.
double slcp_loglik(const std::vector<double>& th, const std::vector<double>& x8) {
  const SlcpGaussian g(th);
  double lp = 0.0;
  for (int p = 0; p < 4; ++p) lp += g.logpdf(x8[2 * p], x8[2 * p + 1]);
  return lp;
}

// The distractors n under the mixture of 20 multivariate Student-t (df 2, pyro's form n = loc_c +
// L_c·z·sqrt(df/w)). The full 92×92 scale_tril are numerically singular (condition numbers 1e12..1e19),
// so nothing here inverts them: the tests use (a) the leading kLead coordinates, whose marginal is the
// kLead-D Student-t with the leading block of L_c (well conditioned: cond < 1e6), and (b) the exact
// per-coordinate marginals, mixtures of loc_cr + |row r of L_c|·t₂.
constexpr int64_t kLead = 10;

// (a): the most probable component c from the leading block, u = L_c[:k,:k]⁻¹(n − loc_c)[:k], which is
// z[:k]·sqrt(df/w) under the model: |u|²/k ~ F(k, df) and u/|u| is uniform on the sphere.
struct LeadingFit {
  int64_t component = -1;
  double scale2 = 0.0;      // |u|² / kLead
  std::vector<double> dir;  // u/|u|
};

LeadingFit fit_leading(const SlcpDistractorsData& d, const std::vector<double>& loc, const double* n) {
  constexpr int64_t p = SlcpDistractorsData::kDim;
  LeadingFit best;
  double best_lp = -std::numeric_limits<double>::infinity();
  double u[kLead];
  for (int64_t c = 0; c < SlcpDistractorsData::kComponents; ++c) {
    double maha = 0.0, log_det = 0.0;
    for (int64_t r = 0; r < kLead; ++r) {  // forward substitution L u = n - loc
      const double* l = d.tril_row(c, r);
      double s = n[r] - loc[c * p + r];
      for (int64_t k = 0; k < r; ++k) s -= l[k] * u[k];
      u[r] = s / l[r];
      maha += u[r] * u[r];
      log_det += std::log(std::fabs(l[r]));
    }
    const double lp = -log_det - 0.5 * (d.df + kLead) * std::log1p(maha / d.df);  // up to a constant
    if (lp > best_lp) {
      best_lp = lp;
      best.component = c;
      best.scale2 = maha / kLead;
      best.dir.assign(u, u + kLead);
      for (double& e : best.dir) e /= std::sqrt(maha);
    }
  }
  return best;
}

// (b): the marginal CDF of distractor coordinate r (df = 2: T₂(t) = 1/2 + t / (2·sqrt(2 + t²))).
struct DistractorMarginals {
  std::vector<double> loc, sd;  // [component][coordinate]: loc_cr and |row r of L_c|
  explicit DistractorMarginals(const SlcpDistractorsData& d, const std::vector<double>& loc_in) : loc(loc_in) {
    constexpr int64_t p = SlcpDistractorsData::kDim;
    for (int64_t c = 0; c < SlcpDistractorsData::kComponents; ++c)
      for (int64_t r = 0; r < p; ++r) {
        double s2 = 0.0;
        for (int64_t k = 0; k <= r; ++k) s2 += d.tril_row(c, r)[k] * d.tril_row(c, r)[k];
        sd.push_back(std::sqrt(s2));
      }
  }
  double cdf(int64_t r, double v) const {
    constexpr int64_t p = SlcpDistractorsData::kDim;
    double f = 0.0;
    for (int64_t c = 0; c < SlcpDistractorsData::kComponents; ++c) {
      const double t = (v - loc[c * p + r]) / sd[c * p + r];
      f += 0.5 + t / (2.0 * std::sqrt(2.0 + t * t));
    }
    return f / SlcpDistractorsData::kComponents;
  }
  // Σ_r −log(two-sided tail probability of n_r): large when some coordinates sit in their tails.
  double tail_score(const double* n) const {
    double score = 0.0;
    for (int64_t r = 0; r < SlcpDistractorsData::kDim; ++r) {
      const double f = cdf(r, n[r]);
      score -= std::log(std::max(2.0 * std::min(f, 1.0 - f), 1e-300));
    }
    return score;
  }
};

// Two-sided Monte Carlo p-value of the observed discrepancy among simulated ones (rank test).
double rank_pvalue(double observed, const std::vector<double>& simulated) {
  double ge = 0, le = 0;
  for (double s : simulated) {
    ge += s >= observed;
    le += s <= observed;
  }
  const double m = static_cast<double>(simulated.size());
  return std::min(1.0, 2.0 * std::min((ge + 1) / (m + 1), (le + 1) / (m + 1)));
}

std::vector<double> to_doubles(const float* v, int64_t n) { return std::vector<double>(v, v + n); }

// ================================================================ tasks and their dimensions

TEST(LinSlcpMixTasks, RegistryDimensionsAndLabels) {
  struct Expect {
    const char* name;
    int64_t dtheta, dx;
  };
  for (const Expect& e : {Expect{"gaussian_linear", 10, 10}, Expect{"gaussian_linear_uniform", 10, 10},
                          Expect{"slcp", 5, 8}, Expect{"slcp_distractors", 5, 100}, Expect{"gaussian_mixture", 2, 2}}) {
    SCOPED_TRACE(e.name);
    Task t = make_task(e.name);
    EXPECT_EQ(t.name, e.name);
    EXPECT_EQ(t.theta_dim(), e.dtheta);
    EXPECT_EQ(t.simulator->theta_dim(), e.dtheta);
    EXPECT_EQ(t.x_dim(), e.dx);
    EXPECT_EQ(t.theta_labels, simbi::sim::default_theta_labels(e.dtheta));
    EXPECT_FALSE(t.description.empty());
  }
}

// ================================================================ shipped observations

// For each shipped observation: the rank of x_o's exact negative log-likelihood among M simulated draws
// at θ_true. A simulator with the wrong noise scale, layout or mixture makes x_o an outlier (p ≲ 1/M).
class LinSlcpMixObservations : public ::testing::TestWithParam<std::string> {};

TEST_P(LinSlcpMixObservations, ConsistentWithSimulatorAtTrueParameters) {
  const std::string name = GetParam();
  Task task = make_task(name);
  const bool distractors = name == "slcp_distractors";
  const int64_t m = distractors ? 3000 : 4000;
  const SlcpDistractorsData* gmm = distractors ? &simbi::sim::tasks::slcp_distractors_data() : nullptr;
  std::vector<double> loc_csv, perm_csv;
  std::unique_ptr<DistractorMarginals> marginals;
  if (distractors) {
    for (const auto& r : st::read_csv(st::test_data_path("sbibm/slcp_distractors/gmm_loc.csv")).rows)
      loc_csv.insert(loc_csv.end(), r.begin(), r.end());
    perm_csv = st::read_csv_column(st::test_data_path("sbibm/slcp_distractors/permutation_idx.csv"));
    marginals = std::make_unique<DistractorMarginals>(*gmm, loc_csv);
  }
  // The discrepancies: the exact -log p(x|θ) for all but slcp_distractors, which has three: -log p of
  // the SLCP values read back through the (CSV) permutation, and for the distractors log |u|² of the
  // leading block (fit_leading) and the marginal tail score (DistractorMarginals).
  auto discrepancies = [&](const std::vector<double>& th, const float* x) -> std::vector<double> {
    if (name == "gaussian_linear" || name == "gaussian_linear_uniform") return {-gaussian_linear_loglik(th, x)};
    if (name == "gaussian_mixture") return {-gaussian_mixture_loglik(th, x)};
    if (name == "slcp") return {-slcp_loglik(th, to_doubles(x, 8))};
    std::vector<double> y(100);
    for (int j = 0; j < 100; ++j) y[static_cast<int>(perm_csv[j])] = x[j];  // x[j] = y[perm[j]]
    return {-slcp_loglik(th, std::vector<double>(y.begin(), y.begin() + 8)),
            std::log(fit_leading(*gmm, loc_csv, y.data() + 8).scale2), marginals->tail_score(y.data() + 8)};
  };
  for (int k = 1; k <= kNumObs; ++k) {
    SCOPED_TRACE("obs" + std::to_string(k));
    const std::vector<double> th = st::read_csv_row(st::sbibm_obs_file(name, k, "true_parameters.csv"));
    const std::vector<double> xo_d = st::read_csv_row(st::sbibm_obs_file(name, k, "observation.csv"));
    ASSERT_EQ(static_cast<int64_t>(th.size()), task.theta_dim());
    ASSERT_EQ(static_cast<int64_t>(xo_d.size()), task.x_dim());
    const std::vector<float> xo(xo_d.begin(), xo_d.end());
    const std::vector<double> d_obs = discrepancies(th, xo.data());
    const Matrix xs = simulate_at(task, th, m, 1000 + k);
    std::vector<std::vector<double>> d_sim(d_obs.size());
    for (int64_t i = 0; i < m; ++i) {
      const std::vector<double> d = discrepancies(th, xs.row(i));
      for (size_t c = 0; c < d.size(); ++c) d_sim[c].push_back(d[c]);
    }
    for (size_t c = 0; c < d_obs.size(); ++c) {
      const double p = rank_pvalue(d_obs[c], d_sim[c]);
      EXPECT_GT(p, 1e-3) << name << " obs" << k << " discrepancy " << c << ": x_o is an outlier";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tasks, LinSlcpMixObservations,
                         ::testing::Values("gaussian_linear", "gaussian_linear_uniform", "slcp", "slcp_distractors",
                                           "gaussian_mixture"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// ================================================================ slcp

// sbibm (checked against its observations): the observed points are interleaved by point, so their squared Mahalanobis
// distances under θ_true are χ²(2), mean 2 (the grouped-by-coordinate reading gives ~1461).
TEST(LinSlcpMixSlcp, ObservedPointsMahalanobisUnderTrueParameters) {
  double sum = 0.0;
  int count = 0;
  for (int k = 1; k <= kNumObs; ++k) {
    const std::vector<double> th = st::read_csv_row(st::sbibm_obs_file("slcp", k, "true_parameters.csv"));
    const std::vector<double> x = st::read_csv_row(st::sbibm_obs_file("slcp", k, "observation.csv"));
    const SlcpGaussian g(th);
    for (int p = 0; p < 4; ++p, ++count) sum += g.mahalanobis2(x[2 * p], x[2 * p + 1]);
  }
  const double mean = sum / count, se = std::sqrt(4.0 / count);  // Var χ²(2) = 4
  EXPECT_NEAR(mean, 2.0, 5.0 * se);
}

// simbi's simulated points follow the same interleaved law: mean squared Mahalanobis 2 and the
// fraction beyond the χ²(2) median, at each observation's θ_true (spiky and round covariances).
TEST(LinSlcpMixSlcp, SimulatedPointsAreInterleavedGaussians) {
  Task task = make_task("slcp");
  const int64_t n = 5000;
  for (int k = 1; k <= kNumObs; ++k) {
    SCOPED_TRACE("obs" + std::to_string(k));
    const std::vector<double> th = st::read_csv_row(st::sbibm_obs_file("slcp", k, "true_parameters.csv"));
    const SlcpGaussian g(th);
    const Matrix xs = simulate_at(task, th, n, 2000 + k);
    double sum = 0.0, beyond_median = 0.0;
    for (int64_t i = 0; i < n; ++i)
      for (int p = 0; p < 4; ++p) {
        const double d2 = g.mahalanobis2(xs(i, 2 * p), xs(i, 2 * p + 1));
        sum += d2;
        beyond_median += d2 > 2.0 * std::log(2.0);
      }
    const double cnt = 4.0 * n;
    EXPECT_NEAR(sum / cnt, 2.0, 5.0 * std::sqrt(4.0 / cnt));
    EXPECT_NEAR(beyond_median / cnt, 0.5, 5.0 * std::sqrt(0.25 / cnt));
  }
}

// ================================================================ slcp_distractors

TEST(LinSlcpMixDistractors, EmbeddedDataMatchesCsv) {
  const SlcpDistractorsData& d = simbi::sim::tasks::slcp_distractors_data();
  EXPECT_EQ(d.df, 2.0);
  const std::vector<double> perm =
      st::read_csv_column(st::test_data_path("sbibm/slcp_distractors/permutation_idx.csv"));
  ASSERT_EQ(perm.size(), d.perm.size());
  for (size_t j = 0; j < perm.size(); ++j) EXPECT_EQ(d.perm[j], static_cast<int32_t>(perm[j])) << "j=" << j;
  const st::CsvTable loc = st::read_csv(st::test_data_path("sbibm/slcp_distractors/gmm_loc.csv"));
  ASSERT_EQ(static_cast<int64_t>(loc.rows.size()), SlcpDistractorsData::kComponents);
  for (int64_t c = 0; c < SlcpDistractorsData::kComponents; ++c) {
    ASSERT_EQ(static_cast<int64_t>(loc.rows[c].size()), SlcpDistractorsData::kDim);
    for (int64_t i = 0; i < SlcpDistractorsData::kDim; ++i)
      EXPECT_EQ(d.loc_of(c)[i], loc.rows[c][i]) << "component " << c << " dim " << i;  // bit-exact float64
  }
  // scale_tril is packed row by row: spot values from ../sbibm/slcp_distractors/gmm_scale_tril.csv
  // (not shipped with the tests: 1.7 MB), as (component, row, column, value).
  struct Spot {
    int64_t c, r, k;
    double v;
  };
  for (const Spot& e : {Spot{0, 0, 0, 3.423324718497607}, Spot{3, 10, 7, -1.8325226680688482},
                        Spot{7, 60, 30, -1.765128930390928}, Spot{12, 45, 45, -4.579753599607249},
                        Spot{19, 91, 0, 0.07580650836815866}, Spot{19, 91, 91, 2.196350891048934}})
    EXPECT_EQ(d.tril_row(e.c, e.r)[e.k], e.v) << "component " << e.c << " row " << e.r << " col " << e.k;
  // The scale as stored by sbibm: 342 of the 1840 diagonal entries are negative, none zero.
  int negative = 0;
  for (int64_t c = 0; c < SlcpDistractorsData::kComponents; ++c)
    for (int64_t r = 0; r < SlcpDistractorsData::kDim; ++r) {
      EXPECT_NE(d.tril_row(c, r)[r], 0.0);
      negative += d.tril_row(c, r)[r] < 0.0;
    }
  EXPECT_EQ(negative, 342);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(d.perm[kSlcpPositions[i]], i);
}

TEST(LinSlcpMixDistractors, ParserRejectsCorruptData) {
  const simbi::sim::tasks::ByteSpan bytes = simbi::sim::tasks::slcp_distractors_gmm_bytes();
  EXPECT_LT(bytes.size, size_t{1} << 20);  // the embedded file stays under 1 MB
  const std::vector<unsigned char> good(bytes.data, bytes.data + bytes.size);
  EXPECT_NO_THROW(simbi::sim::tasks::parse_slcp_distractors_data(good.data(), good.size()));
  auto expect_internal = [](std::vector<unsigned char> b, const std::string& field) {
    try {
      simbi::sim::tasks::parse_slcp_distractors_data(b.data(), b.size());
      ADD_FAILURE() << "no error for a corrupt '" << field << "'";
    } catch (const simbi::Error& e) {
      EXPECT_EQ(e.kind(), simbi::ErrorKind::internal);
      EXPECT_NE(std::string(e.what()).find("'" + field + "'"), std::string::npos) << e.what();
    }
  };
  std::vector<unsigned char> b = good;
  b[0] = 'X';
  expect_internal(b, "magic");
  b = good;
  b[12] = 19;  // n_components
  expect_internal(b, "n_components");
  b = good;
  b.pop_back();
  expect_internal(b, "size");
  b = good;  // the last two permutation entries made equal: no longer a permutation
  std::memcpy(b.data() + b.size() - 4, b.data() + b.size() - 8, 4);
  expect_internal(b, "perm");
  expect_internal(std::vector<unsigned char>(good.begin(), good.begin() + 10), "header");
}

// The shipped 100-D observations hold the slcp observations at [22,33,23,67,42,21,16,90], exactly.
TEST(LinSlcpMixDistractors, ObservationsEmbedSlcpObservations) {
  for (int k = 1; k <= kNumObs; ++k) {
    SCOPED_TRACE("obs" + std::to_string(k));
    const std::vector<double> xs = st::read_csv_row(st::sbibm_obs_file("slcp", k, "observation.csv"));
    const std::vector<double> xd = st::read_csv_row(st::sbibm_obs_file("slcp_distractors", k, "observation.csv"));
    ASSERT_EQ(xd.size(), 100u);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(static_cast<float>(xd[kSlcpPositions[i]]), static_cast<float>(xs[i]));
  }
}

// With the same random streams, slcp_distractors puts exactly slcp's output at those positions, and its
// 92 distractor values do not change with θ (they are drawn after the SLCP core's fixed 8 normals).
TEST(LinSlcpMixDistractors, SlcpValuesPlacedAndDistractorsIndependentOfTheta) {
  Task slcp = make_task("slcp"), dist = make_task("slcp_distractors");
  const std::vector<double> th_a = {-2.5, 1.0, 0.7, -1.3, 0.4}, th_b = {2.0, -0.5, -2.2, 0.3, -1.9};
  const int64_t n = 200;
  const Matrix s_a = simulate_at(slcp, th_a, n, 77), d_a = simulate_at(dist, th_a, n, 77),
               d_b = simulate_at(dist, th_b, n, 77);
  std::vector<bool> is_slcp(100, false);
  for (int p : kSlcpPositions) is_slcp[p] = true;
  int64_t slcp_differs = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int c = 0; c < 8; ++c) ASSERT_EQ(d_a(i, kSlcpPositions[c]), s_a(i, c)) << "row " << i << " slcp " << c;
    for (int j = 0; j < 100; ++j) {
      if (is_slcp[j])
        slcp_differs += d_a(i, j) != d_b(i, j);
      else
        ASSERT_EQ(d_a(i, j), d_b(i, j)) << "row " << i << " distractor position " << j << " depends on θ";
    }
  }
  EXPECT_EQ(slcp_differs, 8 * n);  // ... while the SLCP values do depend on θ
}

// Independent streams at two θs: each distractor coordinate has the same distribution (two-sample KS,
// Bonferroni over the 92 coordinates, family-wise level 1e-3).
TEST(LinSlcpMixDistractors, DistractorDistributionSameAtTwoThetas) {
  Task dist = make_task("slcp_distractors");
  const int64_t n = 3000;
  const Matrix a = simulate_at(dist, {-2.5, 1.0, 0.7, -1.3, 0.4}, n, 101),
               b = simulate_at(dist, {2.0, -0.5, -2.2, 0.3, -1.9}, n, 202);
  std::vector<bool> is_slcp(100, false);
  for (int p : kSlcpPositions) is_slcp[p] = true;
  for (int j = 0; j < 100; ++j) {
    if (is_slcp[j]) continue;
    std::vector<double> va(n), vb(n);
    for (int64_t i = 0; i < n; ++i) {
      va[i] = a(i, j);
      vb[i] = b(i, j);
    }
    std::sort(va.begin(), va.end());
    std::sort(vb.begin(), vb.end());
    double dmax = 0.0;
    size_t ia = 0, ib = 0;
    while (ia < va.size() && ib < vb.size()) {
      const double v = std::min(va[ia], vb[ib]);
      while (ia < va.size() && va[ia] == v) ++ia;
      while (ib < vb.size() && vb[ib] == v) ++ib;
      dmax = std::max(dmax, std::fabs(static_cast<double>(ia) / n - static_cast<double>(ib) / n));
    }
    EXPECT_GT(st::ks_pvalue(dmax, n / 2), 1e-3 / 92) << "position " << j;  // effective n = n·n/(n+n)
  }
}

// The distractors follow the Student-t mixture (see fit_leading and DistractorMarginals): every component
// is used (≈ 1/20 each); on the leading block |u|²/k has the F(k, 2) law, P(F ≤ s) = (1 + 2/(k s))^(-k/2)
// (χ²(2)/2 is exponential), and u/|u| is uniform on the sphere (k·E[d_i²] = 1); and each of the 92
// coordinates has its analytic marginal (KS, Bonferroni over the coordinates, family-wise level 1e-3).
TEST(LinSlcpMixDistractors, DistractorsFollowStudentTMixture) {
  Task dist = make_task("slcp_distractors");
  const SlcpDistractorsData& d = simbi::sim::tasks::slcp_distractors_data();
  const DistractorMarginals marginals(d, d.loc);
  const int64_t n = 4000, p = SlcpDistractorsData::kDim, nc = SlcpDistractorsData::kComponents;
  const Matrix xs = simulate_at(dist, {0.5, -1.0, 1.5, 2.0, -0.3}, n, 303);
  std::vector<double> counts(nc, 0.0), scale2(n), dir2(kLead, 0.0);
  std::vector<std::vector<double>> coords(p, std::vector<double>(n));
  std::vector<double> y(100);
  for (int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < 100; ++j) y[d.perm[j]] = xs(i, j);
    const LeadingFit fit = fit_leading(d, d.loc, y.data() + 8);
    counts[fit.component] += 1;
    scale2[i] = fit.scale2;
    for (int64_t r = 0; r < kLead; ++r) dir2[r] += kLead * fit.dir[r] * fit.dir[r] / n;
    for (int64_t r = 0; r < p; ++r) coords[r][i] = y[8 + r];
  }
  for (int64_t c = 0; c < nc; ++c)
    EXPECT_NEAR(counts[c] / n, 1.0 / nc, 5.0 * std::sqrt((1.0 / nc) * (1 - 1.0 / nc) / n)) << "component " << c;
  const double k = kLead;
  const double ks =
      st::ks_statistic(scale2, [&](double s) { return s > 0 ? std::pow(1.0 + 2.0 / (k * s), -0.5 * k) : 0.0; });
  EXPECT_GT(st::ks_pvalue(ks, n), 1e-3) << "|u|²/k is not F(k, 2)";
  // d_i² ~ Beta(a, b) with a = 1/2, b = (k-1)/2: Var(k·d_i²) = k²·ab/((a+b)²(a+b+1)).
  const double a = 0.5, b = 0.5 * (k - 1);
  const double se = std::sqrt(k * k * a * b / ((a + b) * (a + b) * (a + b + 1)) / n);
  for (int64_t r = 0; r < kLead; ++r) EXPECT_NEAR(dir2[r], 1.0, 5.0 * se) << "coordinate " << r;
  for (int64_t r = 0; r < p; ++r) {
    const double dr = st::ks_statistic(coords[r], [&](double v) { return marginals.cdf(r, v); });
    EXPECT_GT(st::ks_pvalue(dr, n), 1e-3 / p) << "distractor coordinate " << r;
  }
}

// ================================================================ moments of the simulators

void expect_gaussian_linear_moments(const std::string& name) {
  Task task = make_task(name);
  std::vector<double> th(10);
  for (int i = 0; i < 10; ++i) th[i] = -0.8 + 0.17 * i;
  const int64_t n = 20000;
  const Matrix xs = simulate_at(task, th, n, 31);
  std::vector<double> mean(10, 0.0), cov(100, 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (int i = 0; i < 10; ++i) mean[i] += xs(r, i) / static_cast<double>(n);
  for (int64_t r = 0; r < n; ++r)
    for (int i = 0; i < 10; ++i)
      for (int j = 0; j < 10; ++j) cov[i * 10 + j] += (xs(r, i) - mean[i]) * (xs(r, j) - mean[j]) / (n - 1.0);
  const double var = 0.1;  // sbibm's "scale 0.1" is a variance (std 0.316)
  for (int i = 0; i < 10; ++i) {
    EXPECT_NEAR(mean[i], th[i], 5.0 * std::sqrt(var / n)) << "dim " << i;
    EXPECT_NEAR(cov[i * 10 + i], var, 5.0 * var * std::sqrt(2.0 / (n - 1))) << "dim " << i;
    for (int j = 0; j < i; ++j) EXPECT_NEAR(cov[i * 10 + j], 0.0, 5.0 * var / std::sqrt(n)) << i << "," << j;
  }
}

TEST(LinSlcpMixMoments, GaussianLinearMeanThetaVariancePointOne) { expect_gaussian_linear_moments("gaussian_linear"); }

TEST(LinSlcpMixMoments, GaussianLinearUniformMeanThetaVariancePointOne) {
  expect_gaussian_linear_moments("gaussian_linear_uniform");
}

// 0.5·N(θ, I) + 0.5·N(θ, 0.01·I) per simulation: mean θ, variance 0.505, and, within one batch, the
// fraction of draws within r = 0.2 of θ is the mixture's 0.442 (a batch-shared component gives 0.02 or 0.86).
TEST(LinSlcpMixMoments, GaussianMixtureMomentsAndPerSampleComponent) {
  Task task = make_task("gaussian_mixture");
  const std::vector<double> th = {3.5, -7.25};
  const int64_t n = 40000;
  const Matrix xs = simulate_at(task, th, n, 41);  // one batch
  const double var = 0.5 * 1.0 + 0.5 * 0.01, mu4 = 0.5 * 3.0 * 1.0 + 0.5 * 3.0 * 1e-4;
  const double r = 0.2;
  const double p_in = 0.5 * (1 - std::exp(-0.5 * r * r)) + 0.5 * (1 - std::exp(-0.5 * r * r / 0.01));
  double inside = 0.0;
  for (int i = 0; i < 2; ++i) {
    double mean = 0.0, m2 = 0.0;
    for (int64_t k = 0; k < n; ++k) mean += xs(k, i) / static_cast<double>(n);
    for (int64_t k = 0; k < n; ++k) m2 += (xs(k, i) - mean) * (xs(k, i) - mean) / (n - 1.0);
    EXPECT_NEAR(mean, th[i], 5.0 * std::sqrt(var / n)) << "dim " << i;
    EXPECT_NEAR(m2, var, 5.0 * std::sqrt((mu4 - var * var) / n)) << "dim " << i;
  }
  for (int64_t k = 0; k < n; ++k) inside += std::hypot(xs(k, 0) - th[0], xs(k, 1) - th[1]) < r;
  EXPECT_NEAR(inside / n, p_in, 5.0 * std::sqrt(p_in * (1 - p_in) / n));
  // Small batches too: the narrow component is used in about half the rows of every 100-row block.
  Matrix th_small(100, 2, 0.0f), x_small(100, 2);
  int mixed_blocks = 0;
  for (int b = 0; b < 20; ++b) {
    task.simulator->simulate(th_small, x_small, streams(500 + b));
    int in = 0;
    for (int64_t k = 0; k < 100; ++k) in += std::hypot(x_small(k, 0), x_small(k, 1)) < r;
    mixed_blocks += in > 15 && in < 75;  // p_in·100 = 44 ± 5; a shared component gives 2 or 86
  }
  EXPECT_EQ(mixed_blocks, 20);
}

// ================================================================ priors

struct PriorCase {
  std::string task;
  bool gaussian;  // N(0, var·I) when true, U[lo, hi]^d otherwise
  double a, b;    // (var, unused) or (lo, hi)
};

void PrintTo(const PriorCase& pc, std::ostream* os) { *os << pc.task; }

class LinSlcpMixPriors : public ::testing::TestWithParam<PriorCase> {};

double log_abs_det(std::vector<double> m, int d) {  // LU with partial pivoting
  double s = 0.0;
  for (int c = 0; c < d; ++c) {
    int piv = c;
    for (int r = c + 1; r < d; ++r)
      if (std::fabs(m[r * d + c]) > std::fabs(m[piv * d + c])) piv = r;
    if (piv != c)
      for (int k = 0; k < d; ++k) std::swap(m[c * d + k], m[piv * d + k]);
    const double p = m[c * d + c];
    if (p == 0.0) return kNegInf;
    s += std::log(std::fabs(p));
    for (int r = c + 1; r < d; ++r) {
      const double f = m[r * d + c] / p;
      for (int k = c; k < d; ++k) m[r * d + k] -= f * m[c * d + k];
    }
  }
  return s;
}

TEST_P(LinSlcpMixPriors, SamplingLogProbAndBijection) {
  const PriorCase pc = GetParam();
  Task task = make_task(pc.task);
  const simbi::sim::Prior& prior = *task.prior;
  const int d = static_cast<int>(prior.dim());
  const int64_t n = 20000;
  Matrix th(n, d);
  prior.sample(th, streams(61));

  // Marginals: KS against the analytic CDF (family-wise level 1e-3); the box is never left.
  const double sd = pc.gaussian ? std::sqrt(pc.a) : (pc.b - pc.a) / std::sqrt(12.0);
  const double mu = pc.gaussian ? 0.0 : 0.5 * (pc.a + pc.b);
  auto cdf = [&](double v) {
    if (pc.gaussian) return st::normal_cdf(v / sd);
    return std::min(std::max((v - pc.a) / (pc.b - pc.a), 0.0), 1.0);
  };
  for (int j = 0; j < d; ++j) {
    std::vector<double> col(n);
    for (int64_t i = 0; i < n; ++i) col[i] = th(i, j);
    EXPECT_GT(st::ks_pvalue(st::ks_statistic(col, cdf), n), 1e-3 / d) << "dim " << j;  // Bonferroni over dims
    if (!pc.gaussian) {
      EXPECT_GE(*std::min_element(col.begin(), col.end()), pc.a) << "dim " << j;
      EXPECT_LE(*std::max_element(col.begin(), col.end()), pc.b) << "dim " << j;
    }
  }
  // Covariance against the analytic one (5 standard errors; excess kurtosis -1.2 for the uniform).
  const double var = sd * sd, mu4 = pc.gaussian ? 3.0 * var * var : 1.8 * var * var;
  for (int i = 0; i < d; ++i)
    for (int j = 0; j <= i; ++j) {
      double c = 0.0;
      for (int64_t k = 0; k < n; ++k) c += (th(k, i) - mu) * (th(k, j) - mu) / n;
      const double se = i == j ? std::sqrt((mu4 - var * var) / n) : var / std::sqrt(n);
      EXPECT_NEAR(c, i == j ? var : 0.0, 5.0 * se) << i << "," << j;
    }
  for (int j = 0; j < d; ++j) {
    EXPECT_NEAR(prior.mean()[j], mu, 1e-12);
    EXPECT_NEAR(prior.stddev()[j], sd, 1e-12);
  }

  // Mean log_prob over samples = -entropy.
  std::vector<double> lp(n);
  prior.log_prob(th, lp.data());
  double mean_lp = 0.0, m2 = 0.0;
  for (double v : lp) mean_lp += v / n;
  for (double v : lp) m2 += (v - mean_lp) * (v - mean_lp) / (n - 1.0);
  const double neg_entropy = pc.gaussian ? -0.5 * d * (1.0 + kLog2Pi + std::log(var)) : -d * std::log(pc.b - pc.a);
  if (pc.gaussian) {
    // log p = const - χ²_d / 2: variance d/2, and Var(sample variance) ≈ (μ4 - σ⁴)/n = (d²/2 + 3d)/n.
    EXPECT_NEAR(m2, 0.5 * d, 5.0 * std::sqrt((0.5 * d * d + 3.0 * d) / n));
    EXPECT_NEAR(mean_lp, neg_entropy, 5.0 * std::sqrt(0.5 * d / n));
  } else {
    for (double v : lp) ASSERT_DOUBLE_EQ(v, neg_entropy);  // constant inside the box
    std::vector<float> out(d, 0.0f);
    out[d - 1] = static_cast<float>(pc.b + 0.01);
    EXPECT_EQ(prior.log_prob_one(out.data()), kNegInf);
    EXPECT_FALSE(prior.in_support(out.data()));
  }

  // Bijection: θ → u → θ, and log|det ∂θ/∂u| against a central finite-difference Jacobian.
  int checked = 0;
  for (int64_t k = 0; k < n && checked < 20; ++k) {
    std::vector<double> u(d);
    prior.to_unconstrained(th.row(k), u.data());
    if (!pc.gaussian && std::any_of(u.begin(), u.end(), [](double v) { return std::fabs(v) > 3.0; })) continue;
    ++checked;
    std::vector<float> back(d);
    const double log_det = prior.from_unconstrained(u.data(), back.data());
    for (int j = 0; j < d; ++j) EXPECT_NEAR(back[j], th(k, j), 1e-5 * (1.0 + std::fabs(th(k, j))));
    const double h = 1e-2;
    std::vector<double> jac(d * d);
    std::vector<float> plus(d), minus(d);
    for (int j = 0; j < d; ++j) {
      std::vector<double> up = u, um = u;
      up[j] += h;
      um[j] -= h;
      prior.from_unconstrained(up.data(), plus.data());
      prior.from_unconstrained(um.data(), minus.data());
      for (int i = 0; i < d; ++i) jac[i * d + j] = (static_cast<double>(plus[i]) - minus[i]) / (2 * h);
    }
    EXPECT_NEAR(log_abs_det(jac, d), log_det, 1e-2) << "sample " << k;
  }
  EXPECT_EQ(checked, 20);
}

INSTANTIATE_TEST_SUITE_P(Tasks, LinSlcpMixPriors,
                         ::testing::Values(PriorCase{"gaussian_linear", true, 0.1, 0.0},
                                           PriorCase{"gaussian_linear_uniform", false, -1, 1},
                                           PriorCase{"slcp", false, -3, 3}, PriorCase{"slcp_distractors", false, -3, 3},
                                           PriorCase{"gaussian_mixture", false, -10, 10}),
                         [](const ::testing::TestParamInfo<PriorCase>& info) { return info.param.task; });

// ================================================================ batch independence

// Rows [0, n) in one call equal the same rows simulated in two calls with RowStreams offsets.
class LinSlcpMixBatches : public ::testing::TestWithParam<std::string> {};

TEST_P(LinSlcpMixBatches, RowDependsOnlyOnGlobalIndex) {
  Task task = make_task(GetParam());
  const int64_t n = 50, split = 17;
  Matrix th(n, task.theta_dim());
  task.prior->sample(th, streams(71));
  Matrix whole(n, task.x_dim()), parts(n, task.x_dim()), unshifted(n - split, task.x_dim());
  task.simulator->simulate(th, whole, streams(72, 0));
  const simbi::MatrixView tv = th.view(), pv = parts.view();
  task.simulator->simulate(tv.rows_range(0, split), pv.rows_range(0, split), streams(72, 0));
  task.simulator->simulate(tv.rows_range(split, n - split), pv.rows_range(split, n - split), streams(72, split));
  EXPECT_EQ(whole.storage(), parts.storage());
  // The offset matters: the same rows simulated as rows 0.. differ.
  task.simulator->simulate(tv.rows_range(split, n - split), unshifted, streams(72, 0));
  EXPECT_NE(std::vector<float>(whole.row(split), whole.row(n)), unshifted.storage());
  for (float v : whole.storage()) ASSERT_TRUE(std::isfinite(v));
}

INSTANTIATE_TEST_SUITE_P(Tasks, LinSlcpMixBatches,
                         ::testing::Values("gaussian_linear", "gaussian_linear_uniform", "slcp", "slcp_distractors",
                                           "gaussian_mixture"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
