// Tests of the ACE (GBI) tasks gbi_uniform_1d, gbi_linear_gaussian, gbi_gaussian_mixture and hh_ace
// (docs/tasks_gbi.md): shapes, supports and moments against the spec, the exact costs against
// Monte-Carlo estimates of E d(x, x_o), and the observations of `simbi observe`.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "../../src/sim/tasks/gbi_tasks.hpp"
#include "../../src/sim/tasks/hh_ace.hpp"
#include "simbi/core/error.hpp"
#include "simbi/sim/distance.hpp"
#include "simbi/sim/exact_cost.hpp"
#include "simbi/sim/observations.hpp"
#include "simbi/sim/task.hpp"

namespace {

using simbi::Error;
using simbi::ErrorKind;
using simbi::Matrix;
using simbi::RandomStream;
using simbi::RowStreams;
using simbi::StreamPurpose;
using simbi::sim::make_task;
using simbi::sim::Task;
namespace tasks = simbi::sim::tasks;

RowStreams streams(uint64_t seed, int64_t first_row = 0) {
  return RowStreams{RandomStream(seed, StreamPurpose::test, 0), first_row};
}

// n draws of a simulator, every row at the same θ.
Matrix simulate_at(simbi::sim::Simulator& sim, const std::vector<double>& theta, int64_t n, uint64_t seed) {
  Matrix th(n, sim.theta_dim()), x(n, sim.x_dim());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < th.cols(); ++j) th(i, j) = static_cast<float>(theta[j]);
  sim.simulate(th, x, streams(seed));
  return x;
}

struct Moments {
  double mean = 0, var = 0;
  int64_t n = 0;
};
Moments moments(const std::vector<double>& v) {
  Moments m;
  m.n = static_cast<int64_t>(v.size());
  for (double e : v) m.mean += e;
  m.mean /= m.n;
  for (double e : v) m.var += (e - m.mean) * (e - m.mean);
  m.var /= (m.n - 1);
  return m;
}

// ================================================================ registry

TEST(GbiTasks, RegisteredWithDimensionsPriorsAndDistances) {
  struct Expect {
    const char* name;
    int64_t dtheta, dx;
    const char* distance;
  };
  for (const Expect& e : {Expect{"gbi_uniform_1d", 1, 1, "mse"}, Expect{"gbi_linear_gaussian", 10, 10, "mse"},
                          Expect{"gbi_gaussian_mixture", 2, 10, "mmd2"}, Expect{"hh_ace", 8, 7, "zmae"}}) {
    SCOPED_TRACE(e.name);
    EXPECT_TRUE(simbi::sim::is_builtin_task(e.name));
    Task t = make_task(e.name);
    EXPECT_EQ(t.name, e.name);
    EXPECT_EQ(t.theta_dim(), e.dtheta);
    EXPECT_EQ(t.simulator->theta_dim(), e.dtheta);
    EXPECT_EQ(t.x_dim(), e.dx);
    EXPECT_EQ(static_cast<int64_t>(t.theta_labels.size()), e.dtheta);
    EXPECT_EQ(t.distance, e.distance);
    EXPECT_EQ(simbi::sim::make_distance(t)->dim(), e.dx);
    // The prior has its unconstrained bijection (the MCMC engine needs it).
    std::vector<float> theta(static_cast<size_t>(e.dtheta)), back(theta.size());
    std::vector<double> u(theta.size());
    RandomStream rng(1, StreamPurpose::test, 0);
    t.prior->sample_one(theta.data(), rng);
    t.prior->to_unconstrained(theta.data(), u.data());
    t.prior->from_unconstrained(u.data(), back.data());
    for (size_t k = 0; k < theta.size(); ++k) EXPECT_NEAR(back[k], theta[k], 1e-4 * (1 + std::fabs(theta[k])));
  }
  // Priors per docs/tasks_gbi.md.
  EXPECT_EQ(make_task("gbi_uniform_1d").prior->describe(), "U[-1.5,1.5]^1");
  EXPECT_EQ(make_task("gbi_gaussian_mixture").prior->describe(), "U[-10,10]^2");
  const Task lg = make_task("gbi_linear_gaussian");
  for (double m : lg.prior->mean()) EXPECT_EQ(m, 0.0);
  for (double s : lg.prior->stddev()) EXPECT_NEAR(s, 1.0, 1e-12);
  const Task hh = make_task("hh_ace");
  const auto spec = hh.prior->to_json();
  EXPECT_EQ(spec["type"], "uniform");
  EXPECT_EQ(spec["low"].get<std::vector<double>>(),
            (std::vector<double>{0.5, 1e-4, 1e-4, 1e-4, 50.0, 40.0, 1e-4, 35.0}));
  EXPECT_EQ(spec["high"].get<std::vector<double>>(),
            (std::vector<double>{80.0, 15.0, 0.6, 0.6, 3000.0, 90.0, 0.15, 100.0}));
  std::vector<float> out = {40.0f, 7.0f, 0.3f, 0.3f, 3001.0f, 60.0f, 0.1f, 70.0f};
  EXPECT_FALSE(hh.prior->in_support(out.data()));
}

TEST(GbiTasks, RowsDependOnSeedAndRowOnly) {
  for (const char* name : {"gbi_uniform_1d", "gbi_linear_gaussian", "gbi_gaussian_mixture", "hh_ace"}) {
    SCOPED_TRACE(name);
    Task t = make_task(name);
    const int64_t n = 6;
    Matrix th(n, t.theta_dim()), x(n, t.x_dim());
    t.prior->sample(th, streams(5));
    t.simulator->simulate(th, x, streams(6));
    for (int64_t i = 0; i < n; ++i) {  // one row at a time, at its global index
      Matrix x1(1, t.x_dim());
      Matrix th1(1, t.theta_dim());
      std::copy(th.row(i), th.row(i) + t.theta_dim(), th1.data());
      t.simulator->simulate(th1, x1, streams(6, i));
      for (int64_t k = 0; k < t.x_dim(); ++k) EXPECT_EQ(x1(0, k), x(i, k));
    }
  }
}

// ================================================================ gbi_uniform_1d

TEST(GbiUniform1d, NoiseIsUniformAroundThePolynomial) {
  Task t = make_task("gbi_uniform_1d");
  const int64_t n = 20000;
  const double w = 0.25, noise_sd = w / std::sqrt(3.0);
  for (double theta : {-1.5, -0.7, 0.0, 0.6, 1.5}) {
    SCOPED_TRACE(theta);
    const Matrix x = simulate_at(*t.simulator, {theta}, n, 100);
    // The polynomial, written out from docs/methods.md §7.
    const double z = 0.8 * (theta + 0.25);
    const double f = 0.1627 + 0.9073 * z - 1.2197 * z * z - 1.4639 * z * z * z + 1.4381 * z * z * z * z;
    std::vector<double> eps;
    for (int64_t i = 0; i < n; ++i) eps.push_back(x(i, 0) - static_cast<float>(f));
    const auto [lo, hi] = std::minmax_element(eps.begin(), eps.end());
    EXPECT_GE(*lo, -w - 1e-6);
    EXPECT_LE(*hi, w + 1e-6);
    EXPECT_LT(*lo, -w + 0.01);  // the whole window is used
    EXPECT_GT(*hi, w - 0.01);
    const Moments m = moments(eps);
    EXPECT_NEAR(m.mean, 0.0, 4 * noise_sd / std::sqrt(n));
    // Var of the sample variance of U[−w, w]: (μ4 − σ⁴)/n with μ4 = w⁴/5.
    EXPECT_NEAR(m.var, w * w / 3.0, 4 * std::sqrt((std::pow(w, 4) / 5 - std::pow(w * w / 3, 2)) / n));
  }
}

// ================================================================ gbi_linear_gaussian

TEST(GbiLinearGaussian, TaskConstantsAreFixedByTheTaskSeed) {
  // Drawn once from RandomStream(20230501, task_definition, 0); pinned so that a change of the task
  // definition cannot pass unnoticed (docs/tasks_gbi.md lists them).
  const std::vector<double> shift = {
      -0.71758621946922863, -0.060660100856617959, -0.41118911039997452, -0.13959816325765348, -1.1270134970857364,
      -0.14472397172302356, 1.2042613819729797,    0.59798976204472809,  1.230779136806857,    -0.25541954424913466};
  const std::vector<double> variance = {
      0.85782288390341843, 0.03245456537551495, 0.62908657307403848, 0.9173192397318265,  1.2783645001358932,
      0.64194595032175328, 1.2400000990856601,  0.90649930629413411, 0.68562704435231114, 0.37802148856332018};
  EXPECT_EQ(tasks::kLinearGaussianTaskSeed, 20230501u);
  const auto& c = tasks::linear_gaussian_constants();
  ASSERT_EQ(c.shift.size(), 10u);
  ASSERT_EQ(c.variance.size(), 10u);
  for (size_t k = 0; k < 10; ++k) {
    EXPECT_DOUBLE_EQ(c.shift[k], shift[k]);
    EXPECT_DOUBLE_EQ(c.variance[k], variance[k]);
  }
}

TEST(GbiLinearGaussian, MeanIsThetaPlusShiftAndVarianceSigma) {
  Task t = make_task("gbi_linear_gaussian");
  const auto& c = tasks::linear_gaussian_constants();
  const int64_t n = 20000;
  const std::vector<double> theta = {0.5, -1.0, 0.0, 2.0, -0.3, 1.1, -2.2, 0.7, 0.05, -0.6};
  const Matrix x = simulate_at(*t.simulator, theta, n, 200);
  for (int64_t k = 0; k < 10; ++k) {
    SCOPED_TRACE(k);
    std::vector<double> col;
    for (int64_t i = 0; i < n; ++i) col.push_back(x(i, k));
    const Moments m = moments(col);
    const double var = c.variance[static_cast<size_t>(k)];
    EXPECT_NEAR(m.mean, theta[k] + c.shift[static_cast<size_t>(k)], 4 * std::sqrt(var / n));
    EXPECT_NEAR(m.var, var, 4 * var * std::sqrt(2.0 / (n - 1)));  // Gaussian: Var(s²) = 2σ⁴/(n−1)
  }
}

// ================================================================ gbi_gaussian_mixture

TEST(GbiGaussianMixture, FiveTrialsWithPerTrialComponents) {
  Task t = make_task("gbi_gaussian_mixture");
  const int64_t n = 20000;
  const std::vector<double> theta = {1.5, -2.0};
  const Matrix x = simulate_at(*t.simulator, theta, n, 300);
  // Per coordinate around θ: variance 0.5·1 + 0.5·0.01 = 0.505 (mean 0); μ4 = 0.5·3 + 0.5·3·1e-4.
  const double var = 0.505, mu4 = 1.5 + 1.5e-4;
  for (int64_t c = 0; c < 2; ++c) {
    std::vector<double> e;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < tasks::kMixtureTrials; ++j) e.push_back(x(i, 2 * j + c) - theta[c]);
    const double m = std::accumulate(e.begin(), e.end(), 0.0) / e.size();
    double s2 = 0;
    for (double v : e) s2 += v * v;
    s2 /= e.size();
    EXPECT_NEAR(m, 0.0, 4 * std::sqrt(var / e.size()));
    EXPECT_NEAR(s2, var, 4 * std::sqrt((mu4 - var * var) / e.size()));
  }
  // The component is drawn per trial: the number of "narrow" trials (both coordinates within 0.4 of θ)
  // in a row is Binomial(5, q), q = 0.5·P(narrow within 0.4) + 0.5·P(wide within 0.4) — not all-or-none
  // as with one component per simulation.
  const double q =
      0.5 * std::pow(std::erf(0.4 / 0.1 / std::sqrt(2.0)), 2) + 0.5 * std::pow(std::erf(0.4 / std::sqrt(2.0)), 2);
  std::vector<int64_t> hist(6, 0);
  for (int64_t i = 0; i < n; ++i) {
    int k = 0;
    for (int64_t j = 0; j < 5; ++j)
      k += std::fabs(x(i, 2 * j) - theta[0]) < 0.4 && std::fabs(x(i, 2 * j + 1) - theta[1]) < 0.4;
    ++hist[k];
  }
  for (int k = 0; k <= 5; ++k) {
    const double binom =
        std::tgamma(6) / (std::tgamma(k + 1) * std::tgamma(6 - k)) * std::pow(q, k) * std::pow(1 - q, 5 - k);
    EXPECT_NEAR(hist[k] / static_cast<double>(n), binom, 4 * std::sqrt(binom * (1 - binom) / n) + 1e-4) << "k=" << k;
  }
}

TEST(GbiGaussianMixture, MisspecifiedSimulatorPutsHalfTheTrialsAtSignTimes12Point5) {
  Task t = make_task("gbi_gaussian_mixture");
  ASSERT_EQ(t.misspecification, simbi::sim::Misspecification::simulator);
  ASSERT_NE(t.misspecified_simulator, nullptr);
  EXPECT_EQ(t.misspecified_simulator->x_dim(), 10);
  const int64_t n = 10000;
  const std::vector<double> theta = {3.0, -4.0};
  const Matrix x = simulate_at(*t.misspecified_simulator, theta, n, 400);
  std::vector<double> far0, far1, near0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < 5; ++j) {
      const double a = x(i, 2 * j), b = x(i, 2 * j + 1);
      if (std::hypot(a - 12.5, b + 12.5) < 4.0) {  // the N((12.5, −12.5), 0.25·I) component
        far0.push_back(a);
        far1.push_back(b);
      } else {
        near0.push_back(a - theta[0]);
      }
    }
  const double total = 5.0 * n, frac = far0.size() / total;
  EXPECT_NEAR(frac, 0.5, 4 * std::sqrt(0.25 / total));
  const Moments m0 = moments(far0), m1 = moments(far1), w = moments(near0);
  EXPECT_NEAR(m0.mean, 12.5, 4 * 0.5 / std::sqrt(m0.n));
  EXPECT_NEAR(m1.mean, -12.5, 4 * 0.5 / std::sqrt(m1.n));
  EXPECT_NEAR(m0.var, 0.25, 4 * 0.25 * std::sqrt(2.0 / m0.n));
  EXPECT_NEAR(w.mean, 0.0, 4 / std::sqrt(w.n));
  EXPECT_NEAR(w.var, 1.0, 4 * std::sqrt(2.0 / w.n));
}

// ================================================================ exact costs vs Monte Carlo

// |C(θ, x_o) − mean_i d(x_i, x_o)| < 4 standard errors, x_i ~ p(x | θ), for several θ and x_o.
void expect_exact_cost_matches_monte_carlo(const std::string& name, const std::vector<std::vector<float>>& x_os) {
  SCOPED_TRACE(name);
  Task t = make_task(name);
  ASSERT_TRUE(simbi::sim::has_exact_cost(name));
  auto cost = simbi::sim::make_exact_cost(name);
  EXPECT_EQ(cost->task(), name);
  EXPECT_EQ(cost->theta_dim(), t.theta_dim());
  EXPECT_EQ(cost->x_dim(), t.x_dim());
  auto d = simbi::sim::make_distance(t);
  const int64_t n_theta = 5, n = 20000;
  Matrix thetas(n_theta, t.theta_dim());
  t.prior->sample(thetas, streams(500));
  std::vector<double> exact(static_cast<size_t>(n_theta));
  for (size_t o = 0; o < x_os.size(); ++o) {
    const float* x_o = x_os[o].data();
    cost->cost(thetas, x_o, exact.data());
    for (int64_t i = 0; i < n_theta; ++i) {
      SCOPED_TRACE("x_o " + std::to_string(o) + ", θ row " + std::to_string(i));
      const std::vector<double> th(thetas.row(i), thetas.row(i) + t.theta_dim());
      const Matrix x = simulate_at(*t.simulator, th, n, 600 + o * 10 + i);
      std::vector<double> dist(static_cast<size_t>(n));
      d->to_one(x.data(), n, x_o, dist.data());
      const Moments m = moments(dist);
      EXPECT_NEAR(exact[static_cast<size_t>(i)], m.mean, 4 * std::sqrt(m.var / n));
      EXPECT_DOUBLE_EQ((*cost)(thetas.row(i), x_o), exact[static_cast<size_t>(i)]);
    }
  }
}

TEST(ExactCost, Uniform1dClosedFormMatchesMonteCarlo) {
  expect_exact_cost_matches_monte_carlo("gbi_uniform_1d", {{0.3f}, {-1.2f}, {2.5f}});
}

TEST(ExactCost, TwoMoonsMatchesMonteCarlo) {
  // A typical x (near the crescents), one at the crescent's tip, and a far (misspecified-like) one.
  expect_exact_cost_matches_monte_carlo("two_moons", {{0.05f, 0.1f}, {0.3f, -0.05f}, {0.9f, -1.4f}});
}

TEST(ExactCost, LinearGaussianMatchesMonteCarloAndTheFormula) {
  const std::vector<float> a = {0.1f, -0.5f, 1.0f, 0.3f, -2.0f, 0.0f, 1.5f, 0.7f, 1.1f, -0.4f};
  std::vector<float> far(10);
  for (size_t k = 0; k < 10; ++k) far[k] = 4.0f + a[k];
  expect_exact_cost_matches_monte_carlo("gbi_linear_gaussian", {a, far});
  // mean_k [Σ_kk + (s_k + θ_k − x_ok)²] at θ = 0, x_o = s: the mean of Σ_kk.
  const auto& c = tasks::linear_gaussian_constants();
  std::vector<float> theta(10, 0.0f), x_o(10);
  double mean_var = 0;
  for (size_t k = 0; k < 10; ++k) {
    x_o[k] = static_cast<float>(c.shift[k]);
    mean_var += c.variance[k] / 10;
  }
  EXPECT_NEAR((*simbi::sim::make_exact_cost("gbi_linear_gaussian"))(theta.data(), x_o.data()), mean_var, 1e-6);
}

TEST(ExactCost, OnlyForTasksWithAClosedForm) {
  EXPECT_FALSE(simbi::sim::has_exact_cost("gbi_gaussian_mixture"));
  EXPECT_FALSE(simbi::sim::has_exact_cost("hh_ace"));
  try {
    simbi::sim::make_exact_cost("hh_ace");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("task 'hh_ace' has no exact cost (tasks with one: gbi_uniform_1d, two_moons, "
                                         "gbi_linear_gaussian)"),
              std::string::npos)
        << e.what();
  }
  Matrix wrong(2, 3);
  const float x_o[] = {0.0f, 0.0f};
  double out[2];
  EXPECT_THROW(simbi::sim::make_exact_cost("two_moons")->cost(wrong, x_o, out), Error);
}

// ================================================================ hh_ace

TEST(HhAce, ADefaultishThetaSpikesWithFiniteFeatures) {
  Task t = make_task("hh_ace");
  // g_Na, g_K, g_leak, g_M, τ_max, −V_T, σ, −E_leak
  const std::vector<double> theta = {50.0, 5.0, 0.1, 0.07, 600.0, 60.0, 0.1, 70.0};
  const Matrix x = simulate_at(*t.simulator, theta, 4, 700);
  for (int64_t i = 0; i < 4; ++i) {
    for (int64_t k = 0; k < 7; ++k) EXPECT_TRUE(std::isfinite(x(i, k))) << "feature " << k;
    EXPECT_GT(x(i, 0), 0.0f);                 // spikes during the step
    EXPECT_EQ(x(i, 0), std::round(x(i, 0)));  // a count
    EXPECT_NEAR(x(i, 1), -70.0, 3.0);         // resting potential near E_leak = −70 mV
    EXPECT_GT(x(i, 2), 0.0f);                 // noise: the resting std is positive
    EXPECT_GT(x(i, 3), x(i, 1));              // depolarised during the step
    EXPECT_GT(x(i, 4), 0.0f);                 // variance
    EXPECT_GT(x(i, 6), 1.0f);                 // kurtosis (not excess) of a spiking trace
  }
  // The trace: steady at −70 mV before the step (gates start at steady state), above 0 mV at spikes.
  std::vector<double> v;
  RandomStream rng(701, StreamPurpose::test, 0);
  std::vector<float> th(theta.begin(), theta.end());
  ASSERT_TRUE(tasks::hh_ace_trace(th.data(), rng, v));
  ASSERT_EQ(static_cast<int64_t>(v.size()), tasks::kHhSteps + 1);
  EXPECT_EQ(v[0], -70.0);
  EXPECT_GT(*std::max_element(v.begin(), v.end()), 0.0);
}

TEST(HhAce, SpikeCountAndMomentsOfASyntheticTrace) {
  // A flat trace at −65 mV with triangular "spikes" (peaks above −10 mV) at chosen times: two in the
  // step, one of them doubled (a second peak 0.3 ms later: merged), one before the step, one below
  // the threshold (not a spike).
  std::vector<double> v(static_cast<size_t>(tasks::kHhSteps + 1), -65.0);
  auto bump = [&](double t_ms, double peak) {
    const int64_t c = static_cast<int64_t>(std::lround(t_ms / tasks::kHhDt));
    for (int64_t k = -20; k <= 20; ++k)
      v[static_cast<size_t>(c + k)] =
          std::max(v[static_cast<size_t>(c + k)], peak - std::abs(k) * (peak + 65.0) / 21.0);
  };
  bump(5.0, 20.0);    // before t_on: not counted
  bump(30.0, 30.0);   // counted
  bump(30.3, 25.0);   // 0.3 ms after the last: merged
  bump(60.0, 10.0);   // counted
  bump(80.0, -20.0);  // below −10 mV: not a spike
  double f[7];
  ASSERT_TRUE(tasks::hh_ace_features(v, f));
  EXPECT_EQ(f[0], 2.0);
  // Moments over 10 < t < 110 ms, by a direct two-pass computation.
  double mean = 0, m2 = 0, m3 = 0, m4 = 0;
  const int64_t a = 1001, b = 11000;
  for (int64_t i = a; i < b; ++i) mean += v[i];
  mean /= (b - a);
  for (int64_t i = a; i < b; ++i) {
    const double e = v[i] - mean;
    m2 += e * e;
    m3 += e * e * e;
    m4 += e * e * e * e;
  }
  m2 /= (b - a);
  m3 /= (b - a);
  m4 /= (b - a);
  double rest = 0;
  for (int64_t i = 0; i < 1000; ++i) rest += v[i];
  EXPECT_NEAR(f[1], rest / 1000.0, 1e-12);
  EXPECT_NEAR(f[3], mean, 1e-9);
  EXPECT_NEAR(f[4], m2, 1e-9);
  EXPECT_NEAR(f[5], m3 / std::pow(m2, 1.5), 1e-9);
  EXPECT_NEAR(f[6], m4 / (m2 * m2), 1e-9);
  EXPECT_GT(f[1], -65.0);  // the pre-step bump raises the resting mean
  EXPECT_EQ(f[2], 0.0);    // flat over [9, 10) ms
  // A flat trace has no skewness: the features fail (a failed simulation), not an exception.
  std::vector<double> flat(static_cast<size_t>(tasks::kHhSteps + 1), -70.0);
  EXPECT_FALSE(tasks::hh_ace_features(flat, f));
}

TEST(HhAce, NumericallyFailedRunsAreNaNRowsNotErrors) {
  Task t = make_task("hh_ace");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<std::vector<double>> bad = {
      {50.0, 5.0, 0.1, 0.07, 600.0, 60.0, 0.1, nan},    // NaN parameter
      {0.0, 0.0, -5.0, 0.0, 600.0, 60.0, 0.1, 70.0},    // negative total conductance: runaway
      {50.0, 5.0, 0.1, 0.07, 0.0, 60.0, 0.1, 70.0},     // τ_max = 0
      {50.0, 5.0, 0.1, 0.07, 600.0, 60.0, 1e30, 70.0},  // absurd noise
      {50.0, 5.0, 0.1, 0.07, 600.0, 1e35, 0.1, 70.0},   // absurd threshold
  };
  Matrix th(static_cast<int64_t>(bad.size()) + 1, 8), x(th.rows(), 7);
  for (size_t i = 0; i < bad.size(); ++i)
    for (int64_t k = 0; k < 8; ++k) th(static_cast<int64_t>(i), k) = static_cast<float>(bad[i][k]);
  const std::vector<double> good = {50.0, 5.0, 0.1, 0.07, 600.0, 60.0, 0.1, 70.0};
  for (int64_t k = 0; k < 8; ++k) th(th.rows() - 1, k) = static_cast<float>(good[k]);
  ASSERT_NO_THROW(t.simulator->simulate(th, x, streams(800)));
  for (int64_t i = 0; i + 1 < th.rows(); ++i)
    for (int64_t k = 0; k < 7; ++k) EXPECT_TRUE(std::isnan(x(i, k))) << "row " << i << " feature " << k;
  for (int64_t k = 0; k < 7; ++k) EXPECT_TRUE(std::isfinite(x(th.rows() - 1, k)));
}

TEST(HhAce, PriorDrawsSimulateMostlyFinitely) {
  Task t = make_task("hh_ace");
  const int64_t n = 100;
  Matrix th(n, 8), x(n, 7);
  t.prior->sample(th, streams(900));
  t.simulator->simulate(th, x, streams(901));
  int64_t ok = 0, spiking = 0;
  for (int64_t i = 0; i < n; ++i) {
    bool finite = true, any_nan = false;
    for (int64_t k = 0; k < 7; ++k) {
      finite = finite && std::isfinite(x(i, k));
      any_nan = any_nan || std::isnan(x(i, k));
    }
    EXPECT_TRUE(finite || any_nan);  // a row is either fine or failed
    ok += finite;
    spiking += finite && x(i, 0) > 0;
  }
  EXPECT_GE(ok, 95);
  EXPECT_GE(spiking, 20);  // about half of the prior draws spike
}

// ================================================================ observations (`simbi observe`)

TEST(Observe, SpecifiedAreReproduciblePriorPredictiveDrawsWithTheta) {
  Task t = make_task("gbi_linear_gaussian");
  simbi::sim::ObserveOptions o;
  o.count = 7;
  o.seed = 42;
  const auto a = simbi::sim::make_observations(t, simbi::sim::ObservationKind::specified, o);
  const auto b = simbi::sim::make_observations(t, simbi::sim::ObservationKind::specified, o);
  ASSERT_EQ(a.x.rows(), 7);
  ASSERT_EQ(a.x.cols(), 10);
  ASSERT_EQ(a.theta.rows(), 7);
  EXPECT_EQ(a.x.storage(), b.x.storage());
  EXPECT_EQ(a.theta.storage(), b.theta.storage());
  // x − θ − s is the noise: |·| < 6 sd.
  const auto& c = tasks::linear_gaussian_constants();
  for (int64_t i = 0; i < 7; ++i)
    for (int64_t k = 0; k < 10; ++k)
      EXPECT_LT(std::fabs(a.x(i, k) - a.theta(i, k) - c.shift[k]), 6 * std::sqrt(c.variance[k]));
  o.seed = 43;
  const auto d = simbi::sim::make_observations(t, simbi::sim::ObservationKind::specified, o);
  EXPECT_NE(a.x.storage(), d.x.storage());
}

TEST(Observe, MisspecifiedPointsEachHaveACoordinateOutsideThePriorPredictiveBox) {
  for (const char* name : {"gbi_uniform_1d", "two_moons", "gbi_linear_gaussian"}) {
    SCOPED_TRACE(name);
    Task t = make_task(name);
    simbi::sim::ObserveOptions o;
    o.count = 10;
    o.seed = 7;
    const auto obs = simbi::sim::make_observations(t, simbi::sim::ObservationKind::misspecified, o);
    ASSERT_EQ(obs.x.rows(), 10);
    EXPECT_EQ(obs.box_rows, 100000);
    ASSERT_EQ(static_cast<int64_t>(obs.box_min.size()), t.x_dim());
    EXPECT_GT(obs.max_walk_steps, 0);
    // Recompute the box independently from 100,000 prior-predictive draws of the same streams.
    Matrix th(100000, t.theta_dim()), x(100000, t.x_dim());
    t.prior->sample(th, RowStreams{RandomStream(7, StreamPurpose::observation, 2), 0});
    t.simulator->simulate(th, x, RowStreams{RandomStream(7, StreamPurpose::observation, 3), 0});
    for (int64_t k = 0; k < t.x_dim(); ++k) {
      float lo = INFINITY, hi = -INFINITY;
      for (int64_t i = 0; i < x.rows(); ++i) {
        lo = std::min(lo, x(i, k));
        hi = std::max(hi, x(i, k));
      }
      EXPECT_EQ(obs.box_min[k], lo);
      EXPECT_EQ(obs.box_max[k], hi);
    }
    for (int64_t i = 0; i < obs.x.rows(); ++i) {
      bool outside = false;
      for (int64_t k = 0; k < t.x_dim(); ++k)
        outside = outside || obs.x(i, k) < obs.box_min[k] || obs.x(i, k) > obs.box_max[k];
      EXPECT_TRUE(outside) << "observation " << i;
      EXPECT_FALSE(simbi::sim::inside_box(obs.x.row(i), obs.box_min, obs.box_max));
      EXPECT_TRUE(t.prior->in_support(obs.theta.row(i)));
    }
  }
}

TEST(Observe, MisspecifiedGaussianMixtureUsesItsMisspecifiedSimulator) {
  Task t = make_task("gbi_gaussian_mixture");
  simbi::sim::ObserveOptions o;
  o.count = 20;
  const auto obs = simbi::sim::make_observations(t, simbi::sim::ObservationKind::misspecified, o);
  ASSERT_EQ(obs.x.rows(), 20);
  EXPECT_EQ(obs.box_rows, 0);  // no box walk
  // About half of the 100 points sit near (±12.5, ±12.5), outside the prior's [−10, 10]² square.
  int far = 0;
  for (int64_t i = 0; i < 20; ++i)
    for (int64_t j = 0; j < 5; ++j)
      far +=
          std::fabs(std::fabs(obs.x(i, 2 * j)) - 12.5) < 2.5 && std::fabs(std::fabs(obs.x(i, 2 * j + 1)) - 12.5) < 2.5;
  EXPECT_GT(far, 25);
  EXPECT_LT(far, 75);
}

TEST(Observe, BadRequestsAreClearErrors) {
  Task hh = make_task("hh_ace");
  simbi::sim::ObserveOptions o;
  try {
    simbi::sim::make_observations(hh, simbi::sim::ObservationKind::misspecified, o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("task 'hh_ace' has no recipe for misspecified observations (tasks with one: "
                                         "two_moons, gbi_uniform_1d, gbi_linear_gaussian, gbi_gaussian_mixture)"),
              std::string::npos)
        << e.what();
  }
  Task t = make_task("two_moons");
  o.count = 0;
  EXPECT_THROW(simbi::sim::make_observations(t, simbi::sim::ObservationKind::specified, o), Error);
  EXPECT_THROW(simbi::sim::parse_observation_kind("wrong"), Error);
  EXPECT_EQ(simbi::sim::parse_observation_kind("misspecified"), simbi::sim::ObservationKind::misspecified);
}

}  // namespace
