// Unit tests of the sbibm tasks sir, lotka_volterra, bernoulli_glm and bernoulli_glm_raw: priors,
// simulators checked against the shipped observations at θ_true, batch independence, failure rows.
// Serial; fixed seeds; tolerances are multiples of the sampling error of each statistic.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../../src/sim/tasks/bernoulli_glm_common.hpp"
#include "simbi/core/matrix.hpp"
#include "simbi/core/random.hpp"
#include "simbi/sim/ode.hpp"
#include "simbi/sim/task.hpp"
#include "test_util.hpp"

namespace {

using simbi::Matrix;
using simbi::RandomStream;
using simbi::RowStreams;
using simbi::StreamPurpose;
using simbi::sim::Task;
using simbi::test::ks_pvalue;
using simbi::test::ks_statistic;
using simbi::test::normal_cdf;
using simbi::test::read_csv;
using simbi::test::read_csv_row;
using simbi::test::sbibm_obs_file;
using simbi::test::test_data_path;

constexpr int kNumObs = 5;

// M simulations at one θ (rows of the batch share θ, each with its own stream).
Matrix simulate_at(Task& task, const std::vector<double>& theta, int64_t m, uint64_t seed) {
  const int64_t d = task.theta_dim();
  Matrix th(m, d), x(m, task.x_dim());
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < d; ++j) th(i, j) = static_cast<float>(theta[j]);
  task.simulator->simulate(th, x, RowStreams{RandomStream(seed, StreamPurpose::test, 0), 0});
  return x;
}

Matrix sample_prior(const Task& task, int64_t m, uint64_t seed) {
  Matrix th(m, task.theta_dim());
  task.prior->sample(th, RowStreams{RandomStream(seed, StreamPurpose::test, 1), 0});
  return th;
}

// KS p-value of a sample against a continuous CDF.
template <class Cdf>
double ks_p(const std::vector<double>& v, Cdf cdf) {
  return ks_pvalue(ks_statistic(v, cdf), v.size());
}

double mean_of(const std::vector<double>& v) {
  double s = 0.0;
  for (double e : v) s += e;
  return s / v.size();
}
double std_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0.0;
  for (double e : v) s += (e - m) * (e - m);
  return std::sqrt(s / (v.size() - 1));
}

// ---------------------------------------------------------------------------------------------
// Log-normal priors (sir, lotka_volterra)

struct LogNormalCase {
  const char* task;
  std::vector<double> loc, scale;
};
void PrintTo(const LogNormalCase& c, std::ostream* os) { *os << c.task; }

class LogNormalPriorTest : public ::testing::TestWithParam<LogNormalCase> {};

TEST_P(LogNormalPriorTest, MarginalsSupportAndBijection) {
  const LogNormalCase& c = GetParam();
  Task task = simbi::sim::make_task(c.task);
  const int64_t d = task.theta_dim();
  ASSERT_EQ(d, static_cast<int64_t>(c.loc.size()));
  const int64_t m = 20000;
  const Matrix th = sample_prior(task, m, 11);
  for (int64_t j = 0; j < d; ++j) {
    std::vector<double> logs(m);
    for (int64_t i = 0; i < m; ++i) {
      ASSERT_TRUE(std::isfinite(th(i, j)) && th(i, j) > 0.0f) << "sample left the support";
      logs[i] = std::log(static_cast<double>(th(i, j)));
    }
    EXPECT_GT(ks_p(logs, [&](double v) { return normal_cdf((v - c.loc[j]) / c.scale[j]); }), 1e-3)
        << c.task << " log-marginal " << j;
    // A wrong scale (e.g. a variance taken for a std) moves these by far more than 5 standard errors.
    EXPECT_NEAR(mean_of(logs), c.loc[j], 5 * c.scale[j] / std::sqrt(m));
    EXPECT_NEAR(std_of(logs), c.scale[j], 5 * c.scale[j] / std::sqrt(2.0 * m));
  }
  // log_prob at a point, against the closed form.
  std::vector<float> t0(d);
  double expected = 0.0;
  for (int64_t j = 0; j < d; ++j) {
    t0[j] = static_cast<float>(std::exp(c.loc[j] + 0.3 * c.scale[j]));
    const double lx = std::log(static_cast<double>(t0[j]));
    const double z = (lx - c.loc[j]) / c.scale[j];
    expected += -lx - std::log(c.scale[j]) - 0.5 * std::log(2 * M_PI) - 0.5 * z * z;
  }
  EXPECT_NEAR(task.prior->log_prob_one(t0.data()), expected, 1e-9 * std::fabs(expected));
  std::vector<float> bad = t0;
  bad[0] = -1.0f;
  EXPECT_FALSE(task.prior->in_support(bad.data()));
  EXPECT_EQ(task.prior->log_prob_one(bad.data()), -std::numeric_limits<double>::infinity());

  // Bijection: round trip, log-Jacobian against central finite differences, and the support is never
  // left for any u (the transform is diagonal, so log|det J| is the sum of the log-derivatives).
  RandomStream rng(5, StreamPurpose::test, 2);
  for (int rep = 0; rep < 50; ++rep) {
    std::vector<double> u(d), u2(d);
    std::vector<float> th1(d), th2(d);
    for (int64_t j = 0; j < d; ++j) u[j] = rng.uniform(-20.0, 20.0);
    const double log_det = task.prior->from_unconstrained(u.data(), th1.data());
    ASSERT_TRUE(task.prior->in_support(th1.data()));
    task.prior->to_unconstrained(th1.data(), u2.data());
    double fd_log_det = 0.0;
    for (int64_t j = 0; j < d; ++j) {
      EXPECT_NEAR(u2[j], u[j], 1e-6 * std::max(1.0, std::fabs(u[j])));
      const double h = 1e-3;
      std::vector<double> up = u, dn = u;
      up[j] += h;
      dn[j] -= h;
      task.prior->from_unconstrained(up.data(), th2.data());
      const double hi = th2[j];
      task.prior->from_unconstrained(dn.data(), th2.data());
      const double lo = th2[j];
      fd_log_det += std::log((hi - lo) / (2 * h));
    }
    EXPECT_NEAR(log_det, fd_log_det, 1e-3 * d);
  }
  for (double extreme : {-80.0, 80.0}) {
    std::vector<double> u(d, extreme);
    std::vector<float> th1(d);
    task.prior->from_unconstrained(u.data(), th1.data());
    for (int64_t j = 0; j < d; ++j) EXPECT_TRUE(std::isfinite(th1[j]) && th1[j] > 0.0f) << "u = " << extreme;
  }
}

INSTANTIATE_TEST_SUITE_P(
    TasksOdeGlm, LogNormalPriorTest,
    ::testing::Values(LogNormalCase{"sir", {std::log(0.4), std::log(0.125)}, {0.5, 0.2}},
                      LogNormalCase{"lotka_volterra", {-0.125, -3.0, -0.125, -3.0}, {0.5, 0.5, 0.5, 0.5}}),
    [](const ::testing::TestParamInfo<LogNormalCase>& info) { return std::string(info.param.task); });

// ---------------------------------------------------------------------------------------------
// sir

// I(t)/N at days 0, 17, ..., 153, solved here with the test's own right-hand side.
std::array<double, 10> sir_infected_fraction(double beta, double gamma) {
  const double n = 1e6;
  const auto rhs = [=](double, const std::array<double, 3>& u, std::array<double, 3>& du) {
    du[0] = -beta * u[0] * u[1] / n;
    du[1] = beta * u[0] * u[1] / n - gamma * u[1];
    du[2] = gamma * u[1];
  };
  std::array<double, 10> t;
  for (int i = 0; i < 10; ++i) t[i] = 17.0 * i;
  std::array<std::array<double, 3>, 10> u{};
  const auto res = simbi::sim::solve_ode(rhs, std::array<double, 3>{n - 1, 1, 0}, 0.0, 160.0, t, u);
  EXPECT_TRUE(res.ok());
  std::array<double, 10> p;
  for (int i = 0; i < 10; ++i) p[i] = std::min(1.0, std::max(0.0, u[i][1] / n));
  return p;
}

double binomial_log_pmf(double k, double n, double p) {
  double lp = std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1);
  if (k > 0) lp += k * std::log(p);
  if (n - k > 0) lp += (n - k) * std::log1p(-p);
  return lp;
}

TEST(TasksOdeGlm, SirShapesLabelsAndCounts) {
  Task task = simbi::sim::make_task("sir");
  EXPECT_EQ(task.theta_dim(), 2);
  EXPECT_EQ(task.x_dim(), 10);
  EXPECT_EQ(task.theta_labels, (std::vector<std::string>{"beta", "gamma"}));
  const Matrix th = sample_prior(task, 500, 3);
  Matrix x(500, 10);
  task.simulator->simulate(th, x, RowStreams{RandomStream(3, StreamPurpose::test, 3), 0});
  for (int64_t i = 0; i < x.rows(); ++i)
    for (int64_t j = 0; j < 10; ++j) {
      ASSERT_TRUE(std::isfinite(x(i, j))) << "prior draw " << i << " failed";
      EXPECT_EQ(x(i, j), std::round(x(i, j)));
      EXPECT_GE(x(i, j), 0.0f);
      EXPECT_LE(x(i, j), 1000.0f);
    }
}

TEST(TasksOdeGlm, SirObservationsAreConsistentWithTheSimulatorAtTrueTheta) {
  Task task = simbi::sim::make_task("sir");
  const int64_t m = 2000;
  std::vector<double> z_scores;
  for (int k = 1; k <= kNumObs; ++k) {
    const std::vector<double> theta = read_csv_row(sbibm_obs_file("sir", k, "true_parameters.csv"));
    const std::vector<double> x_o = read_csv_row(sbibm_obs_file("sir", k, "observation.csv"));
    ASSERT_EQ(theta.size(), 2u);
    ASSERT_EQ(x_o.size(), 10u);
    const std::array<double, 10> p = sir_infected_fraction(theta[0], theta[1]);
    const Matrix x = simulate_at(task, theta, m, 100 + k);

    // The simulator's mean count per day equals 1000·I(t)/N (ties the simulator's times and layout to
    // the ODE), within 5 standard errors of the mean.
    for (int i = 0; i < 10; ++i) {
      double s = 0.0;
      for (int64_t r = 0; r < m; ++r) s += x(r, i);
      const double var = 1000 * p[i] * (1 - p[i]);
      EXPECT_NEAR(s / m, 1000 * p[i], 5 * std::sqrt(var / m) + 1e-3) << "obs " << k << " day " << 17 * i;
    }
    // Rank of the observation's binomial log-likelihood among simulated ones: the observation is not an
    // outlier of simbi's simulator (p-value > 1e-3). One-sided, so it cannot catch a simulator that is
    // wrong (its draws would look unlikely, the observation typical): the mean check above does that.
    const auto log_lik = [&](const double* xr) {
      double s = 0.0;
      for (int i = 0; i < 10; ++i) s += binomial_log_pmf(xr[i], 1000, p[i]);
      return s;
    };
    const double ll_o = log_lik(x_o.data());
    int64_t below = 0;
    std::vector<double> xr(10);
    for (int64_t r = 0; r < m; ++r) {
      for (int i = 0; i < 10; ++i) xr[i] = x(r, i);
      if (log_lik(xr.data()) <= ll_o) ++below;
    }
    EXPECT_GT((below + 1.0) / (m + 1.0), 1e-3) << "obs " << k;
    // z-scores of the observed counts; cells with less than one expected count carry no information.
    for (int i = 0; i < 10; ++i) {
      const double var = 1000 * p[i] * (1 - p[i]);
      if (var >= 1.0) z_scores.push_back((x_o[i] - 1000 * p[i]) / std::sqrt(var));
    }
  }
  // Pooled z-scores: mean 0 and std ≈ 1 (sbibm: 1.19 over ten observations with DOP853; the solver
  // differences make the observed counts slightly overdispersed). With n ≈ 30 cells, the standard
  // error of the mean is ≈ 0.2; a wrong day or a wrong population moves the z-scores by tens.
  const double n = static_cast<double>(z_scores.size());
  ASSERT_GE(n, 20);
  EXPECT_NEAR(mean_of(z_scores), 0.0, 4 * 1.3 / std::sqrt(n));
  EXPECT_GT(std_of(z_scores), 0.6);
  EXPECT_LT(std_of(z_scores), 1.8);
}

TEST(TasksOdeGlm, SirBatchesAreIndependentOfHowRowsAreGrouped) {
  Task task = simbi::sim::make_task("sir");
  const int64_t n = 64, split = 23;
  const Matrix th = sample_prior(task, n, 9);
  const RandomStream base(77, StreamPurpose::simulation, 4);
  Matrix whole(n, 10), parts(n, 10);
  task.simulator->simulate(th, whole, RowStreams{base, 1000});
  const simbi::ConstMatrixView tv = th;
  const simbi::MatrixView pv = parts;
  task.simulator->simulate({tv.data, split, 2}, pv.rows_range(0, split), RowStreams{base, 1000});
  task.simulator->simulate({tv.row(split), n - split, 2}, pv.rows_range(split, n - split),
                           RowStreams{base, 1000 + split});
  EXPECT_EQ(whole.storage(), parts.storage());
  // Different rows really draw different numbers (the streams are not all the same).
  Matrix shifted(n, 10);
  task.simulator->simulate(th, shifted, RowStreams{base, 0});
  EXPECT_NE(whole.storage(), shifted.storage());
}

// ---------------------------------------------------------------------------------------------
// lotka_volterra

// (prey, predator) at t = 0, 2.1, ..., 18.9, with the test's own right-hand side.
std::array<std::array<double, 2>, 10> lv_solution(const std::vector<double>& th) {
  const double a = th[0], b = th[1], g = th[2], d = th[3];
  const auto rhs = [=](double, const std::array<double, 2>& u, std::array<double, 2>& du) {
    du[0] = a * u[0] - b * u[0] * u[1];
    du[1] = -g * u[1] + d * u[0] * u[1];
  };
  std::array<double, 10> t;
  for (int i = 0; i < 10; ++i) t[i] = 21.0 * i / 10.0;
  std::array<std::array<double, 2>, 10> u{};
  EXPECT_TRUE(simbi::sim::solve_ode(rhs, std::array<double, 2>{30, 1}, 0.0, 20.0, t, u).ok());
  return u;
}

TEST(TasksOdeGlm, LotkaVolterraObservationsMatchTheSimulatorAtTrueTheta) {
  Task task = simbi::sim::make_task("lotka_volterra");
  ASSERT_EQ(task.x_dim(), 20);
  EXPECT_EQ(task.theta_labels, (std::vector<std::string>{"alpha", "beta", "gamma", "delta"}));
  const int64_t m = 400;
  std::vector<double> resid, resid_interleaved;
  for (int k = 1; k <= kNumObs; ++k) {
    const std::vector<double> theta = read_csv_row(sbibm_obs_file("lotka_volterra", k, "true_parameters.csv"));
    const std::vector<double> x_o = read_csv_row(sbibm_obs_file("lotka_volterra", k, "observation.csv"));
    ASSERT_EQ(x_o.size(), 20u);
    const auto u = lv_solution(theta);
    const Matrix x = simulate_at(task, theta, m, 200 + k);
    for (int j = 0; j < 20; ++j) {
      double mean_log = 0.0;
      for (int64_t r = 0; r < m; ++r) {
        ASSERT_GT(x(r, j), 0.0f);
        mean_log += std::log(static_cast<double>(x(r, j)));
      }
      mean_log /= m;
      // The simulator's log-mean is log(ODE) with prey first, then predator (noise std 0.1).
      const double level = std::min(1e4, std::max(1e-10, u[j % 10][j / 10]));
      EXPECT_NEAR(mean_log, std::log(level), 5 * 0.1 / std::sqrt(m)) << "obs " << k << " entry " << j;
      resid.push_back(std::log(x_o[j]) - mean_log);
      // What an interleaved (prey, predator, prey, ...) layout of the observation would give.
      const double level_il = std::min(1e4, std::max(1e-10, u[j / 2][j % 2]));
      resid_interleaved.push_back(std::log(x_o[j]) - std::log(level_il));
    }
  }
  // 100 residuals of N(0, 0.1²) (plus the 0.1/sqrt(m) error of the simulated log-mean): the mean is
  // within 4 standard errors (0.04) of 0 and the std within 4 standard errors (±0.03) of 0.1.
  const double n = static_cast<double>(resid.size());
  const double sd = 0.1 * std::sqrt(1.0 + 1.0 / m);
  EXPECT_NEAR(mean_of(resid), 0.0, 4 * sd / std::sqrt(n));
  EXPECT_NEAR(std_of(resid), sd, 4 * sd / std::sqrt(2 * (n - 1)));
  EXPECT_GT(std_of(resid_interleaved), 1.0);  // the check above does tell the layouts apart
}

TEST(TasksOdeGlm, LotkaVolterraFailedSolveGivesNanRowWithoutThrowing) {
  Task task = simbi::sim::make_task("lotka_volterra");
  // Row 0: a typical θ. Row 1: α = γ = 1e4 oscillates ~30,000 times over [0, 20], past the solver's
  // 1e5-step limit. Row 2: a NaN parameter. Row 3: no predation (β = δ = 0, outside the prior's
  // support), so the prey grows as 30·exp(800 t) and overflows.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<std::array<float, 4>> rows = {
      {0.7f, 0.05f, 0.9f, 0.05f}, {1e4f, 1.0f, 1e4f, 1.0f}, {0.7f, nan, 0.9f, 0.05f}, {800.0f, 0.0f, 1.0f, 0.0f}};
  const int64_t n = static_cast<int64_t>(rows.size());
  Matrix th(n, 4);
  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < 4; ++j) th(i, j) = rows[i][j];
  Matrix x(n, 20);
  EXPECT_NO_THROW(task.simulator->simulate(th, x, RowStreams{RandomStream(1, StreamPurpose::test, 5), 0}));
  for (int j = 0; j < 20; ++j) {
    EXPECT_TRUE(std::isfinite(x(0, j)));
    for (int64_t i = 1; i < n; ++i) EXPECT_TRUE(std::isnan(x(i, j))) << "row " << i << " entry " << j;
  }
}

// ---------------------------------------------------------------------------------------------
// bernoulli_glm, bernoulli_glm_raw

namespace glm = simbi::sim::tasks;

TEST(TasksOdeGlm, GlmStimulusAndDesignMatrixEqualTheBenchmarkFiles) {
  const auto stim = read_csv(test_data_path("sbibm/bernoulli_glm/stimulus_I.csv")).flat();
  ASSERT_EQ(stim.size(), 100u);
  for (int t = 0; t < 100; ++t) EXPECT_EQ(glm::glm_stimulus()[t], static_cast<float>(stim[t])) << "t = " << t;
  const auto design = read_csv(test_data_path("sbibm/bernoulli_glm/design_matrix.csv"));
  ASSERT_EQ(design.rows.size(), 100u);
  for (int t = 0; t < 100; ++t) {
    ASSERT_EQ(design.rows[t].size(), 10u);
    for (int j = 0; j < 10; ++j)
      EXPECT_EQ(glm::glm_design_matrix()[t * 10 + j], static_cast<float>(design.rows[t][j])) << t << "," << j;
  }
}

TEST(TasksOdeGlm, GlmPriorPrecisionAndCovariance) {
  const std::vector<double> b = glm::glm_prior_precision();
  const std::vector<double> cov = glm::glm_prior_covariance();
  EXPECT_DOUBLE_EQ(b[0], 0.5);
  for (int j = 1; j < 10; ++j) EXPECT_EQ(b[j], 0.0);
  // sbibm: the filter block starts [[6, -4.6667, 1.4714, ...]] and is pentadiagonal.
  EXPECT_NEAR(b[11], 6.0, 1e-12);
  EXPECT_NEAR(b[12], -14.0 / 3.0, 1e-12);
  EXPECT_NEAR(b[13], 1.0 + std::sqrt(2.0) / 3.0, 1e-12);  // F[2,0]·F[2,2] = 1·(1 + √(2/9))
  EXPECT_NEAR(b[13], 1.4714, 1e-4);
  for (int i = 1; i < 10; ++i)
    for (int j = 1; j < 10; ++j) {
      EXPECT_EQ(b[i * 10 + j], b[j * 10 + i]);
      if (std::abs(i - j) > 2) {
        EXPECT_NEAR(b[i * 10 + j], 0.0, 1e-12);
      }
    }
  for (int i = 0; i < 10; ++i)
    for (int j = 0; j < 10; ++j) {
      double s = 0.0;
      for (int k = 0; k < 10; ++k) s += b[i * 10 + k] * cov[k * 10 + j];
      EXPECT_NEAR(s, i == j ? 1.0 : 0.0, 1e-10);
    }
  Task task = simbi::sim::make_task("bernoulli_glm");
  const std::vector<double> sd = task.prior->stddev();
  EXPECT_NEAR(sd[0], std::sqrt(2.0), 1e-12);  // 1.414
  for (int j = 1; j < 10; ++j) {              // sbibm: "roughly 1.0–1.8"; the last filter tap has 0.88
    EXPECT_GT(sd[j], 0.85);
    EXPECT_LT(sd[j], 1.9);
  }
}

TEST(TasksOdeGlm, GlmPriorSamplesHaveTheRightDistribution) {
  Task task = simbi::sim::make_task("bernoulli_glm");
  const std::vector<double> cov = glm::glm_prior_covariance();
  const int64_t m = 100000;
  const Matrix th = sample_prior(task, m, 21);
  // Covariance of the samples ≈ B⁻¹; SE of a sample covariance ≈ sqrt((Σii Σjj + Σij²)/m).
  std::vector<double> mean(10, 0.0), c(100, 0.0);
  for (int64_t r = 0; r < m; ++r)
    for (int i = 0; i < 10; ++i) mean[i] += th(r, i) / static_cast<double>(m);
  for (int64_t r = 0; r < m; ++r)
    for (int i = 0; i < 10; ++i)
      for (int j = 0; j < 10; ++j) c[i * 10 + j] += (th(r, i) - mean[i]) * (th(r, j) - mean[j]) / (m - 1.0);
  for (int i = 0; i < 10; ++i) {
    EXPECT_NEAR(mean[i], 0.0, 5 * std::sqrt(cov[i * 11] / m));
    for (int j = 0; j < 10; ++j) {
      const double se = std::sqrt((cov[i * 11] * cov[j * 11] + cov[i * 10 + j] * cov[i * 10 + j]) / m);
      EXPECT_NEAR(c[i * 10 + j], cov[i * 10 + j], 5 * se) << i << "," << j;
    }
  }
  // Marginals: KS against N(0, Σii).
  for (int j = 0; j < 10; ++j) {
    std::vector<double> v(m);
    for (int64_t r = 0; r < m; ++r) v[r] = th(r, j);
    const double s = std::sqrt(cov[j * 11]);
    EXPECT_GT(ks_p(v, [s](double e) { return normal_cdf(e / s); }), 1e-3) << "marginal " << j;
  }
  // E[log p(θ)] = −entropy = −(d/2)(1 + log 2π) + (1/2) log det B; log p = const − χ²_d/2 has variance d/2.
  double log_det_b = 0.0;
  {
    std::vector<double> b = glm::glm_prior_precision();  // log det via Cholesky
    for (int i = 0; i < 10; ++i)
      for (int j = 0; j <= i; ++j) {
        double s = b[i * 10 + j];
        for (int k = 0; k < j; ++k) s -= b[i * 10 + k] * b[j * 10 + k];
        if (i == j) {
          b[i * 10 + i] = std::sqrt(s);
          log_det_b += 2 * std::log(b[i * 10 + i]);
        } else {
          b[i * 10 + j] = s / b[j * 10 + j];
        }
      }
  }
  std::vector<double> lp(m);
  task.prior->log_prob(th, lp.data());
  const double neg_entropy = -5.0 * (1.0 + std::log(2 * M_PI)) + 0.5 * log_det_b;
  EXPECT_NEAR(mean_of(lp), neg_entropy, 5 * std::sqrt(5.0 / m));
}

TEST(TasksOdeGlm, GlmObservationIsTheSufficientStatisticOfTheRawSpikes) {
  const auto& x_design = glm::glm_design_matrix();
  for (int k = 1; k <= kNumObs; ++k) {
    const std::vector<double> y = read_csv_row(sbibm_obs_file("bernoulli_glm_raw", k, "observation.csv"));
    const std::vector<double> x_o = read_csv_row(sbibm_obs_file("bernoulli_glm", k, "observation.csv"));
    ASSERT_EQ(y.size(), 100u);
    ASSERT_EQ(x_o.size(), 10u);
    for (int j = 0; j < 10; ++j) {
      double s = 0.0;
      for (int t = 0; t < 100; ++t) s += x_design[t * 10 + j] * y[t];
      EXPECT_NEAR(s, x_o[j], 1e-4) << "obs " << k << " component " << j;
    }
  }
}

TEST(TasksOdeGlm, GlmSimulatorIsConsistentWithObservationsAtTrueTheta) {
  Task task = simbi::sim::make_task("bernoulli_glm");
  ASSERT_EQ(task.x_dim(), 10);
  const auto& xd = glm::glm_design_matrix();
  const int64_t m = 4000;
  for (int k = 1; k <= kNumObs; ++k) {
    const std::vector<double> theta = read_csv_row(sbibm_obs_file("bernoulli_glm", k, "true_parameters.csv"));
    const std::vector<double> x_o = read_csv_row(sbibm_obs_file("bernoulli_glm", k, "observation.csv"));
    // Closed form: E[Xᵀy] = Xᵀz and Var[(Xᵀy)_j] = Σ_t X_tj² z_t (1 − z_t), z = sigmoid(Xθ).
    std::array<double, 10> mean{}, var{};
    for (int t = 0; t < 100; ++t) {
      double psi = 0.0;
      for (int j = 0; j < 10; ++j) psi += xd[t * 10 + j] * theta[j];
      const double z = 1.0 / (1.0 + std::exp(-psi));
      for (int j = 0; j < 10; ++j) {
        mean[j] += xd[t * 10 + j] * z;
        var[j] += xd[t * 10 + j] * xd[t * 10 + j] * z * (1 - z);
      }
    }
    const Matrix x = simulate_at(task, theta, m, 300 + k);
    int64_t below = 0, above = 0;
    for (int j = 0; j < 10; ++j) {
      double s = 0.0;
      for (int64_t r = 0; r < m; ++r) s += x(r, j);
      EXPECT_NEAR(s / m, mean[j], 5 * std::sqrt(var[j] / m)) << "obs " << k << " component " << j;
    }
    for (int64_t r = 0; r < m; ++r) {
      ASSERT_EQ(x(r, 0), std::round(x(r, 0)));  // an integer spike count
      below += x(r, 0) <= x_o[0];
      above += x(r, 0) >= x_o[0];
    }
    // The observed spike count is not in a tail of the simulated ones (two-sided rank p-value > 1e-3).
    EXPECT_GT(std::min(1.0, 2.0 * std::min(below + 1.0, above + 1.0) / (m + 1.0)), 1e-3)
        << "obs " << k << ": " << x_o[0];
  }
}

TEST(TasksOdeGlm, GlmRawIsBinaryAndSummarisesLikeGlm) {
  Task raw = simbi::sim::make_task("bernoulli_glm_raw");
  Task summ = simbi::sim::make_task("bernoulli_glm");
  ASSERT_EQ(raw.x_dim(), 100);
  ASSERT_EQ(raw.theta_dim(), 10);
  EXPECT_EQ(raw.prior->to_json(), summ.prior->to_json());
  const auto design = read_csv(test_data_path("sbibm/bernoulli_glm/design_matrix.csv"));
  const int64_t m = 4000;
  for (int k : {1, 3}) {
    const std::vector<double> theta = read_csv_row(sbibm_obs_file("bernoulli_glm_raw", k, "true_parameters.csv"));
    const Matrix y = simulate_at(raw, theta, m, 400 + k);
    const Matrix x = simulate_at(summ, theta, m, 500 + k);  // independent streams
    std::array<double, 10> mean_raw{}, mean_glm{}, sq_raw{}, sq_glm{};
    for (int64_t r = 0; r < m; ++r) {
      for (int j = 0; j < 10; ++j) {
        double s = 0.0;
        for (int t = 0; t < 100; ++t) {
          if (j == 0) {
            ASSERT_TRUE(y(r, t) == 0.0f || y(r, t) == 1.0f) << y(r, t);
          }
          s += design.rows[t][j] * y(r, t);
        }
        mean_raw[j] += s / m;
        sq_raw[j] += s * s / m;
        mean_glm[j] += x(r, j) / static_cast<double>(m);
        sq_glm[j] += static_cast<double>(x(r, j)) * x(r, j) / m;
      }
    }
    for (int j = 0; j < 10; ++j) {
      const double var = (sq_raw[j] - mean_raw[j] * mean_raw[j]) + (sq_glm[j] - mean_glm[j] * mean_glm[j]);
      EXPECT_NEAR(mean_raw[j], mean_glm[j], 5 * std::sqrt(var / m)) << "obs " << k << " component " << j;
    }
  }
}

TEST(TasksOdeGlm, GlmNonFiniteThetaGivesNanRow) {
  for (const char* name : {"bernoulli_glm", "bernoulli_glm_raw"}) {
    Task task = simbi::sim::make_task(name);
    Matrix th(2, 10, 0.1f), x(2, task.x_dim());
    th(1, 4) = std::numeric_limits<float>::infinity();
    EXPECT_NO_THROW(task.simulator->simulate(th, x, RowStreams{RandomStream(2, StreamPurpose::test, 6), 0}));
    for (int64_t j = 0; j < task.x_dim(); ++j) {
      EXPECT_TRUE(std::isfinite(x(0, j)));
      EXPECT_TRUE(std::isnan(x(1, j)));
    }
  }
}

}  // namespace
