// Unit tests of the Lorenz 96 tasks (lorenz96, lorenz96_x, lorenz96_stats; docs/lorenz96.md): the
// right-hand side against the equations, RK4's order, the (h, b, Y) symmetry, the energy budget, the
// one-scale limit, determinism, the failure rules and the summary statistics. Serial; fixed seeds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "../../src/sim/tasks/lorenz96.hpp"
#include "simbi/core/matrix.hpp"
#include "simbi/core/random.hpp"
#include "simbi/sim/task.hpp"

namespace {

namespace l96 = simbi::sim::tasks::l96;
using simbi::Matrix;
using simbi::RandomStream;
using simbi::RowStreams;
using simbi::StreamPurpose;
using simbi::sim::make_task;
using simbi::sim::Task;

const l96::Params kReference{10.0, 1.0, 10.0, 10.0};  // the paper's φ

l96::State random_state(uint64_t seed) {
  RandomStream rng(seed, StreamPurpose::test, 0);
  l96::State s;
  l96::initial_state(rng, s);
  return s;
}

// A state on the attractor at p: a random start run for `time` units at a small fixed step.
l96::State settled_state(const l96::Params& p, uint64_t seed, double time = 5.0) {
  l96::State s = random_state(seed);
  l96::Rk4Work w;
  l96::rk4_steps(p, s, 5e-4, static_cast<int64_t>(std::llround(time / 5e-4)), w);
  return s;
}

double sum_sq(const l96::State& s, int from, int to) {
  double e = 0.0;
  for (int i = from; i < to; ++i) e += s[i] * s[i];
  return e;
}

// ---------------------------------------------------------------------------------------------
// Tasks

TEST(Lorenz96Tasks, RegisteredWithTheBoxPriorLabelsAndRowShapes) {
  struct Expected {
    const char* name;
    std::vector<int64_t> shape;
    int64_t x_dim;
  };
  for (const Expected& e :
       {Expected{"lorenz96", {396, 1000}, 396000}, Expected{"lorenz96_x", {36, 100}, 3600},
        Expected{"lorenz96_short", {396, 100}, 39600}, Expected{"lorenz96_stats", {}, l96::kNumStats}}) {
    SCOPED_TRACE(e.name);
    const Task t = make_task(e.name);
    EXPECT_EQ(t.theta_dim(), 4);
    EXPECT_EQ(t.x_dim(), e.x_dim);
    EXPECT_EQ(t.x_shape, e.shape);
    EXPECT_EQ(t.theta_labels, (std::vector<std::string>{"F", "h", "c", "b"}));
    const std::vector<double> lo = {-2.0, -3.0, 0.1, 0.0}, hi = {20.0, 3.0, 20.0, 20.0};
    const std::vector<double> mean = t.prior->mean();
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(mean[i], 0.5 * (lo[i] + hi[i]), 1e-9);
    // A point just inside every bound is in the support; one just outside any bound is not.
    for (int i = 0; i < 4; ++i) {
      float th[4] = {10.0f, 1.0f, 10.0f, 10.0f};
      th[i] = static_cast<float>(lo[i] + 1e-3);
      EXPECT_TRUE(t.prior->in_support(th));
      th[i] = static_cast<float>(lo[i] - 1e-3);
      EXPECT_FALSE(t.prior->in_support(th));
      th[i] = static_cast<float>(hi[i] + 1e-3);
      EXPECT_FALSE(t.prior->in_support(th));
    }
  }
  EXPECT_EQ(static_cast<int>(l96::stat_names().size()), l96::kNumStats);
}

// ---------------------------------------------------------------------------------------------
// Right-hand side and integrator

// The equations of docs/lorenz96.md with modular indices and Ȳ as a mean, term by term.
void reference_rhs(const l96::Params& p, const l96::State& s, l96::State& ds) {
  const int K = l96::kK, J = l96::kJ, N = l96::kNy;
  auto X = [&](int k) { return s[((k % K) + K) % K]; };
  auto Y = [&](int n) { return s[K + ((n % N) + N) % N]; };
  for (int k = 0; k < K; ++k) {
    double ybar = 0.0;
    for (int j = 0; j < J; ++j) ybar += Y(k * J + j);
    ybar /= J;
    ds[k] = -X(k - 1) * (X(k - 2) - X(k + 1)) - X(k) + p.F - p.h * p.c * ybar;
  }
  for (int n = 0; n < N; ++n) ds[K + n] = p.c * (-p.b * Y(n + 1) * (Y(n + 2) - Y(n - 1)) - Y(n) + p.h / J * X(n / J));
}

TEST(Lorenz96Rhs, MatchesTheEquationsWrittenWithModularIndices) {
  RandomStream rng(7, StreamPurpose::test, 3);
  for (int trial = 0; trial < 5; ++trial) {
    const l96::Params p{rng.uniform(-2, 20), rng.uniform(-3, 3), rng.uniform(0.1, 20), rng.uniform(-20, 20)};
    l96::State s;
    for (double& v : s) v = rng.normal(0.0, 3.0);
    l96::State got, want;
    l96::rhs(p, s.data(), got.data());
    reference_rhs(p, s, want);
    for (int i = 0; i < l96::kState; ++i) EXPECT_NEAR(got[i], want[i], 1e-11 * (1.0 + std::fabs(want[i]))) << i;
  }
}

TEST(Lorenz96Rk4, ErrorShrinksSixteenfoldWhenTheStepHalves) {
  const l96::State s0 = settled_state(kReference, 11);
  auto solve = [&](double dt) {
    l96::State s = s0;
    l96::Rk4Work w;
    l96::rk4_steps(kReference, s, dt, static_cast<int64_t>(std::llround(0.2 / dt)), w);
    return s;
  };
  const l96::State exact = solve(0.2 / 16384);
  auto error = [&](const l96::State& s) {
    double e = 0.0;
    for (int i = 0; i < l96::kState; ++i) e = std::max(e, std::fabs(s[i] - exact[i]));
    return e;
  };
  const double e1 = error(solve(0.2 / 256)), e2 = error(solve(0.2 / 512)), e3 = error(solve(0.2 / 1024));
  EXPECT_GT(e1 / e2, 12.0) << e1 << " " << e2;
  EXPECT_LT(e1 / e2, 20.0) << e1 << " " << e2;
  EXPECT_GT(e2 / e3, 13.0) << e2 << " " << e3;
  EXPECT_LT(e2 / e3, 19.0) << e2 << " " << e3;
}

TEST(Lorenz96Symmetry, NegatingHBAndYLeavesXBitIdentical) {
  const l96::Params p{12.0, 1.5, 8.0, 7.0}, q{12.0, -1.5, 8.0, -7.0};
  l96::State s = random_state(5), t = s;
  for (int i = l96::kK; i < l96::kState; ++i) t[i] = -t[i];
  const int64_t n = 40;
  std::vector<float> a(l96::kState * n), b(l96::kState * n);
  ASSERT_EQ(l96::trajectory(p, s, 2.0, n, l96::Record::all, a.data()), l96::Outcome::ok);
  ASSERT_EQ(l96::trajectory(q, t, 2.0, n, l96::Record::all, b.data()), l96::Outcome::ok);
  for (int64_t i = 0; i < l96::kK * n; ++i) ASSERT_EQ(a[i], b[i]) << i;                 // X: the same bits
  for (int64_t i = l96::kK * n; i < l96::kState * n; ++i) ASSERT_EQ(a[i], -b[i]) << i;  // Y: negated
  // Not trivially so: the fast variables moved, and they are not zero.
  double y_abs = 0.0;
  for (int64_t i = l96::kK * n; i < l96::kState * n; ++i) y_abs += std::fabs(a[i]);
  EXPECT_GT(y_abs / (l96::kNy * n), 1e-3);
}

TEST(Lorenz96Energy, UnforcedWithUnitTimeScaleDecaysExactlyAsExpMinusTwoT) {
  // dE/dt = −ΣX² + F·ΣX − c·ΣY² = −2E when F = 0 and c = 1, whatever h and b (the coupling and the
  // advection terms cancel in E): a check of every coupling term's sign and scale.
  for (const l96::Params& p : {l96::Params{0.0, 2.5, 1.0, 13.0}, l96::Params{0.0, -1.0, 1.0, -4.0}}) {
    l96::State s = random_state(9);
    for (double& v : s) v *= 4.0;
    const double e0 = l96::energy(s);
    l96::Rk4Work w;
    l96::rk4_steps(p, s, 1e-3, 1000, w);  // t = 1
    EXPECT_NEAR(l96::energy(s) / e0, std::exp(-2.0), 1e-9 * std::exp(-2.0));
  }
}

TEST(Lorenz96OneScale, WithoutCouplingTheSlowSystemIsOneScaleL96) {
  // h = 0: X does not see Y at all (bit-identical for any fast state or fast parameters, at one fixed
  // step: the step rule would otherwise pick steps from the fast variables) ...
  const l96::Params p{8.0, 0.0, 10.0, 10.0}, q{8.0, 0.0, 3.0, -5.0};
  l96::Controls fixed;
  fixed.kappa = 1e9;
  fixed.dt_max = 0.005;
  l96::State s = random_state(21), t = random_state(22);
  std::copy(s.begin(), s.begin() + l96::kK, t.begin());
  const int64_t n = 1000;
  std::vector<float> a(l96::kState * n), b(l96::kState * n);
  ASSERT_EQ(l96::trajectory(p, s, 10.0, n, l96::Record::all, a.data(), fixed), l96::Outcome::ok);
  ASSERT_EQ(l96::trajectory(q, t, 10.0, n, l96::Record::all, b.data(), fixed), l96::Outcome::ok);
  for (int64_t i = 0; i < l96::kK * n; ++i) ASSERT_EQ(a[i], b[i]) << i;
  // ... and has one-scale L96's climate at F = 8 (Lorenz & Emanuel 1998: mean ≈ 2.3, std ≈ 3.6).
  double m = 0.0, v = 0.0;
  for (int64_t i = 0; i < l96::kK * n; ++i) m += a[i];
  m /= l96::kK * n;
  for (int64_t i = 0; i < l96::kK * n; ++i) v += (a[i] - m) * (a[i] - m);
  const double sd = std::sqrt(v / (l96::kK * n));
  EXPECT_NEAR(m, 2.3, 0.25);
  EXPECT_NEAR(sd, 3.6, 0.3);
}

TEST(Lorenz96OneScale, UnforcedUncoupledScalesDecayAtRatesTwoAndTwoC) {
  // h = 0, F = 0: advection conserves ΣX² and ΣY², so ΣX² ∝ e^{−2t} and ΣY² ∝ e^{−2ct}.
  const l96::Params p{0.0, 0.0, 3.0, 10.0};
  l96::State s = random_state(4);
  for (double& v : s) v *= 5.0;
  const double x0 = sum_sq(s, 0, l96::kK), y0 = sum_sq(s, l96::kK, l96::kState);
  l96::Rk4Work w;
  l96::rk4_steps(p, s, 5e-4, 1000, w);  // t = 0.5
  EXPECT_NEAR(sum_sq(s, 0, l96::kK) / x0, std::exp(-1.0), 1e-9);
  EXPECT_NEAR(sum_sq(s, l96::kK, l96::kState) / y0, std::exp(-3.0), 1e-9);
}

TEST(Lorenz96Steps, StepRuleFollowsTheJacobianBound) {
  const l96::State s = settled_state(kReference, 3);
  const l96::Controls ctl;
  const double bound = l96::jacobian_bound(kReference, s);
  const int64_t n = l96::substeps(kReference, s, ctl);
  EXPECT_LE(l96::kSampleEvery / n * bound, ctl.kappa);
  EXPECT_GT(l96::kSampleEvery / (n - 1) * bound, ctl.kappa);  // the fewest steps that satisfy it
  // A slow state gets the accuracy cap; an absurdly stiff one is refused.
  const l96::State zero{};
  EXPECT_EQ(l96::substeps(l96::Params{1.0, 0.0, 0.5, 0.0}, zero, ctl), 10);
  EXPECT_EQ(l96::substeps(l96::Params{1.0, 0.0, 1e7, 1.0}, s, ctl), -1);
}

// ---------------------------------------------------------------------------------------------
// Simulators: determinism, configurations, failures

// Index of a statistic by name.
int stat(const std::string& name) {
  const auto& names = l96::stat_names();
  const auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) throw std::runtime_error("no statistic named " + name);
  return static_cast<int>(it - names.begin());
}

Matrix theta_rows(const std::vector<std::vector<float>>& rows) {
  Matrix th(static_cast<int64_t>(rows.size()), 4);
  for (size_t i = 0; i < rows.size(); ++i)
    for (int j = 0; j < 4; ++j) th(static_cast<int64_t>(i), j) = rows[i][j];
  return th;
}

Matrix simulate(Task& task, const Matrix& th, uint64_t seed, int64_t first_row = 0) {
  Matrix x(th.rows(), task.x_dim());
  task.simulator->simulate(th, x, RowStreams{RandomStream(seed, StreamPurpose::simulation, 0), first_row});
  return x;
}

bool rows_equal(const Matrix& a, int64_t ra, const Matrix& b, int64_t rb) {
  return std::equal(a.row(ra), a.row(ra) + a.cols(), b.row(rb));
}

TEST(Lorenz96Simulator, RowsDependOnTheSeedAndRowIndexOnly) {
  Task task = make_task("lorenz96_x");
  const Matrix th = theta_rows({{10, 1, 10, 10}, {15, -0.5, 4, 12}, {12, -2, 6, 15}});  // chaotic: no failure
  const Matrix a = simulate(task, th, 1), b = simulate(task, th, 1), c = simulate(task, th, 2);
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(rows_equal(a, i, b, i));   // the same seed: the same bits
    EXPECT_FALSE(rows_equal(a, i, c, i));  // another seed: another initial state
    for (int64_t j = 0; j < a.cols(); ++j) ASSERT_TRUE(std::isfinite(a(i, j)));
    // One row simulated alone, as row i of the batch, is the batch's row i.
    const Matrix one = simulate(task, theta_rows({{th(i, 0), th(i, 1), th(i, 2), th(i, 3)}}), 1, i);
    EXPECT_TRUE(rows_equal(one, 0, a, i));
  }
}

TEST(Lorenz96Simulator, XOnlyAndStatsAreViewsOfTheFullTrajectory) {
  Task full = make_task("lorenz96"), xonly = make_task("lorenz96_x"), stats = make_task("lorenz96_stats");
  Task short_run = make_task("lorenz96_short");
  const Matrix th = theta_rows({{10, 1, 10, 10}});
  const Matrix f = simulate(full, th, 3), x = simulate(xonly, th, 3), s = simulate(stats, th, 3);
  const Matrix sh = simulate(short_run, th, 3);
  const int64_t T = full.x_shape[1], Tx = xonly.x_shape[1], Ts = short_run.x_shape[1];
  // lorenz96_x: the X channels' first 100 samples of the same trajectory.
  for (int64_t k = 0; k < l96::kK; ++k)
    for (int64_t t = 0; t < Tx; ++t) ASSERT_EQ(x(0, k * Tx + t), f(0, k * T + t)) << k << "," << t;
  // lorenz96_short: every channel's first 100 samples.
  for (int64_t k = 0; k < l96::kState; ++k)
    for (int64_t t = 0; t < Ts; ++t) ASSERT_EQ(sh(0, k * Ts + t), f(0, k * T + t)) << k << "," << t;
  // lorenz96_stats: the statistics of the full row.
  double want[l96::kNumStats];
  l96::summary_stats(f.row(0), T, want);
  for (int i = 0; i < l96::kNumStats; ++i) EXPECT_EQ(s(0, i), static_cast<float>(want[i])) << l96::stat_names()[i];
  // At the paper's φ the system is chaotic: spread in X, and the fast variables are not dead.
  EXPECT_GT(want[stat("X_var")], 1.0);
  EXPECT_GT(want[stat("Y_var")], 1e-4);
}

TEST(Lorenz96Failures, FrozenBlownUpStiffAndBadThetaAreFailedRows) {
  // F < 8/9 and no coupling: X settles on the fixed point X_k = F, Y decays to 0 — frozen.
  {
    l96::State s = random_state(1);
    std::vector<float> out(l96::kState * 200);
    EXPECT_EQ(l96::trajectory(l96::Params{0.5, 0.0, 1.0, 1.0}, s, 20.0, 200, l96::Record::all, out.data()),
              l96::Outcome::frozen);
  }
  // A step far beyond RK4's stability (kappa = 40): the energy leaves the exact solution's bound.
  {
    l96::State s = random_state(2);
    l96::Controls ctl;
    ctl.kappa = 40.0;
    ctl.dt_max = 1.0;
    std::vector<float> out(l96::kK * 100);
    const l96::Outcome o = l96::trajectory(kReference, s, 5.0, 100, l96::Record::x_only, out.data(), ctl);
    EXPECT_TRUE(o == l96::Outcome::blow_up || o == l96::Outcome::non_finite) << l96::to_string(o);
  }
  // Through the simulators: every failure is a row of NaN, never an exception, and a good row next to
  // them is unaffected.
  for (const char* name : {"lorenz96_x", "lorenz96_stats"}) {
    SCOPED_TRACE(name);
    Task task = make_task(name);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const Matrix th = theta_rows({{0.3f, 0.0f, 1.0f, 1.0f},  // frozen
                                  {10, 1, 1e7f, 10},         // too stiff for any step
                                  {10, nan, 10, 10},         // non-finite θ
                                  {10, 1, -1, 10},           // c <= 0: not a time scale
                                  {10, 1, 10, 10}});         // fine
    const Matrix x = simulate(task, th, 4);
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t j = 0; j < x.cols(); ++j) ASSERT_TRUE(std::isnan(x(i, j))) << i << "," << j;
    for (int64_t j = 0; j < x.cols(); ++j) ASSERT_TRUE(std::isfinite(x(4, j))) << j;
  }
}

// ---------------------------------------------------------------------------------------------
// Summary statistics

using Block = std::vector<float>;  // [396, T]

std::vector<double> stats_of(const Block& b, int64_t T) {
  std::vector<double> out(l96::kNumStats);
  l96::summary_stats(b.data(), T, out.data());
  return out;
}

TEST(Lorenz96Stats, ConstantSeriesHaveTheirValueAsMeanAndNoSpread) {
  const int64_t T = 20;
  Block b(l96::kState * T);
  for (int64_t i = 0; i < l96::kK * T; ++i) b[i] = 3.5f;
  for (int64_t i = l96::kK * T; i < l96::kState * T; ++i) b[i] = -0.25f;
  const std::vector<double> s = stats_of(b, T);
  EXPECT_DOUBLE_EQ(s[stat("X_mean")], 3.5);
  EXPECT_DOUBLE_EQ(s[stat("Y_mean")], -0.25);
  for (const char* zero : {"X_var", "X_skew", "X_kurt", "X_acf_1", "X_space_1", "Ybar_var", "Y_var", "Y_acf_1",
                           "Y_ring_1", "XYbar_corr", "XYbar_corr_lead"})
    EXPECT_EQ(s[stat(zero)], 0.0) << zero;
}

TEST(Lorenz96Stats, AlternatingPatternsGiveCorrelationsOfPlusMinusOne) {
  // X_k(t) = 2 + (−1)^t, and Y_n(t) = (−1)^n: the time lags of X and the ring lags of Y alternate in
  // sign with magnitude 1; Ȳ is 0 (J even), so its statistics vanish.
  const int64_t T = 40;
  Block b(l96::kState * T);
  for (int64_t k = 0; k < l96::kK; ++k)
    for (int64_t t = 0; t < T; ++t) b[k * T + t] = t % 2 ? 1.0f : 3.0f;
  for (int64_t n = 0; n < l96::kNy; ++n)
    for (int64_t t = 0; t < T; ++t) b[(l96::kK + n) * T + t] = n % 2 ? -1.0f : 1.0f;
  const std::vector<double> s = stats_of(b, T);
  EXPECT_DOUBLE_EQ(s[stat("X_mean")], 2.0);
  EXPECT_DOUBLE_EQ(s[stat("X_var")], 1.0);
  EXPECT_DOUBLE_EQ(s[stat("X_kurt")], 1.0);
  EXPECT_DOUBLE_EQ(s[stat("X_acf_1")], -1.0);
  EXPECT_DOUBLE_EQ(s[stat("X_acf_2")], 1.0);
  EXPECT_DOUBLE_EQ(s[stat("X_acf_5")], -1.0);
  EXPECT_DOUBLE_EQ(s[stat("X_acf_10")], 1.0);
  EXPECT_DOUBLE_EQ(s[stat("X_space_1")], 1.0);  // all k move together
  EXPECT_DOUBLE_EQ(s[stat("Y_var")], 1.0);
  EXPECT_DOUBLE_EQ(s[stat("Y_ring_1")], -1.0);
  EXPECT_DOUBLE_EQ(s[stat("Y_ring_2")], 1.0);
  EXPECT_DOUBLE_EQ(s[stat("Y_acf_1")], 1.0);  // constant in time
  EXPECT_EQ(s[stat("Ybar_var")], 0.0);
  EXPECT_EQ(s[stat("XYbar_corr")], 0.0);
}

// The documented definitions, written out plainly: pooled moments over (series, time), and lagged /
// shifted correlations averaged over the available pairs.
struct Series {
  std::vector<std::vector<double>> v;  // [series][time]
  double mean() const {
    double s = 0.0, n = 0.0;
    for (const auto& r : v)
      for (double e : r) s += e, n += 1;
    return s / n;
  }
  double central(int power) const {
    const double m = mean();
    double s = 0.0, n = 0.0;
    for (const auto& r : v)
      for (double e : r) s += std::pow(e - m, power), n += 1;
    return s / n;
  }
};

double corr(const Series& a, const Series& b, int shift, int lag) {
  const double ma = a.mean(), mb = b.mean();
  const size_t rows = a.v.size(), T = a.v[0].size();
  double s = 0.0, n = 0.0;
  for (size_t r = 0; r < rows; ++r)
    for (size_t t = 0; t + lag < T; ++t) s += (a.v[r][t] - ma) * (b.v[(r + shift) % rows][t + lag] - mb), n += 1;
  return s / n / std::sqrt(a.central(2) * b.central(2));
}

TEST(Lorenz96Stats, RandomSeriesMatchTheDefinitions) {
  const int64_t T = 30;
  RandomStream rng(12, StreamPurpose::test, 0);
  Block b(l96::kState * T);
  for (float& v : b) v = static_cast<float>(rng.normal(0.3, 1.7) + 0.2 * rng.uniform() * rng.uniform());
  Series X, Y, Ybar;
  for (int k = 0; k < l96::kK; ++k) X.v.emplace_back(b.begin() + k * T, b.begin() + (k + 1) * T);
  for (int n = 0; n < l96::kNy; ++n) Y.v.emplace_back(b.begin() + (l96::kK + n) * T, b.begin() + (l96::kK + n + 1) * T);
  for (int k = 0; k < l96::kK; ++k) {
    std::vector<double> m(T, 0.0);
    for (int j = 0; j < l96::kJ; ++j)
      for (int64_t t = 0; t < T; ++t) m[t] += Y.v[k * l96::kJ + j][t] / l96::kJ;
    Ybar.v.push_back(m);
  }
  const std::vector<double> s = stats_of(b, T);
  const std::vector<std::pair<std::string, double>> want = {
      {"X_mean", X.mean()},
      {"X_var", X.central(2)},
      {"X_skew", X.central(3) / std::pow(X.central(2), 1.5)},
      {"X_kurt", X.central(4) / std::pow(X.central(2), 2)},
      {"X_acf_1", corr(X, X, 0, 1)},
      {"X_acf_3", corr(X, X, 0, 3)},
      {"X_acf_10", corr(X, X, 0, 10)},
      {"X_space_1", corr(X, X, 1, 0)},
      {"X_space_3", corr(X, X, 3, 0)},
      {"Ybar_space_1", corr(Ybar, Ybar, 1, 0)},
      {"Ybar_var", Ybar.central(2)},
      {"Ybar_acf_2", corr(Ybar, Ybar, 0, 2)},
      {"Ybar_acf_5", corr(Ybar, Ybar, 0, 5)},
      {"Y_mean", Y.mean()},
      {"Y_var", Y.central(2)},
      {"Y_skew", Y.central(3) / std::pow(Y.central(2), 1.5)},
      {"Y_acf_1", corr(Y, Y, 0, 1)},
      {"Y_ring_1", corr(Y, Y, 1, 0)},
      {"Y_ring_2", corr(Y, Y, 2, 0)},
      {"XYbar_corr", corr(X, Ybar, 0, 0)},
      {"XYbar_corr_lead", corr(X, Ybar, 0, 1)},
      {"XYbar_corr_lag", corr(Ybar, X, 0, 1)},
  };
  for (const auto& [name, value] : want) EXPECT_NEAR(s[stat(name)], value, 1e-10 * (1.0 + std::fabs(value))) << name;
}

}  // namespace
