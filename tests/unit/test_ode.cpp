// Unit tests of the adaptive Dormand–Prince solver (include/simbi/sim/ode.hpp): closed-form solutions,
// a conserved quantity, output-time handling, and failure reporting. Serial.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cmath>
#include <vector>

#include "simbi/core/error.hpp"
#include "simbi/sim/ode.hpp"

namespace {

using simbi::sim::OdeOptions;
using simbi::sim::OdeResult;
using simbi::sim::OdeStatus;
using simbi::sim::solve_ode;

constexpr double kPi = 3.14159265358979323846;

std::vector<double> linspace(double a, double b, int n) {
  std::vector<double> t(n);
  for (int i = 0; i < n; ++i) t[i] = a + (b - a) * i / (n - 1);
  return t;
}

TEST(OdeSolver, ExponentialDecayMatchesClosedForm) {
  const double k = 0.5;
  const auto rhs = [k](double, const std::array<double, 1>& y, std::array<double, 1>& dy) { dy[0] = -k * y[0]; };
  const std::vector<double> t = linspace(0.0, 5.0, 51);
  std::vector<std::array<double, 1>> y(t.size());
  const OdeResult res = solve_ode<1>(rhs, {1.0}, 0.0, 5.0, t.data(), t.size(), y.data());
  ASSERT_TRUE(res.ok()) << to_string(res.status);
  double worst = 0.0;
  for (size_t i = 0; i < t.size(); ++i) {
    const double exact = std::exp(-k * t[i]);
    worst = std::max(worst, std::fabs(y[i][0] - exact) / exact);
  }
  EXPECT_LT(worst, 1e-7);
  EXPECT_EQ(y[0][0], 1.0);  // t0 itself is returned unchanged
  // A 5th-order method needs few steps at 1e-8 on this problem; a low-order or mis-coded tableau
  // (which error control would still drive to the tolerance) needs many more.
  EXPECT_LT(res.accepted, 200);
}

TEST(OdeSolver, HarmonicOscillatorMatchesClosedForm) {
  const double w = 2.0;
  const auto rhs = [w](double, const std::array<double, 2>& y, std::array<double, 2>& dy) {
    dy[0] = y[1];
    dy[1] = -w * w * y[0];
  };
  const double t_end = 5 * kPi;  // five periods
  const std::vector<double> t = linspace(0.0, t_end, 101);
  std::vector<std::array<double, 2>> y(t.size());
  const OdeResult res = solve_ode<2>(rhs, {1.0, 0.0}, 0.0, t_end, t.data(), t.size(), y.data());
  ASSERT_TRUE(res.ok()) << to_string(res.status);
  double worst = 0.0;
  for (size_t i = 0; i < t.size(); ++i) {
    // Relative to the amplitude of each component (1 and w), which the zeros of cos/sin do not have.
    worst = std::max(worst, std::fabs(y[i][0] - std::cos(w * t[i])));
    worst = std::max(worst, std::fabs(y[i][1] + w * std::sin(w * t[i])) / w);
  }
  // The global error grows over the five periods to about 8e-8 at rtol = atol = 1e-8.
  EXPECT_LT(worst, 2e-7);
  EXPECT_LT(res.accepted, 2000);

  // Tightening the tolerances must tighten the error (convergence, not just a lucky constant).
  OdeOptions tight;
  tight.rtol = tight.atol = 1e-12;
  std::vector<std::array<double, 2>> y2(t.size());
  ASSERT_TRUE(solve_ode<2>(rhs, {1.0, 0.0}, 0.0, t_end, t.data(), t.size(), y2.data(), tight).ok());
  double worst2 = 0.0;
  for (size_t i = 0; i < t.size(); ++i) worst2 = std::max(worst2, std::fabs(y2[i][0] - std::cos(w * t[i])));
  EXPECT_LT(worst2, 1e-10);
}

TEST(OdeSolver, LotkaVolterraConservesItsInvariant) {
  const double a = 0.7, b = 0.1, g = 0.9, d = 0.12;
  const auto rhs = [=](double, const std::array<double, 2>& u, std::array<double, 2>& du) {
    du[0] = a * u[0] - b * u[0] * u[1];
    du[1] = -g * u[1] + d * u[0] * u[1];
  };
  const auto invariant = [=](const std::array<double, 2>& u) {
    return d * u[0] - g * std::log(u[0]) + b * u[1] - a * std::log(u[1]);
  };
  const std::vector<double> t = linspace(0.0, 20.0, 201);
  std::vector<std::array<double, 2>> u(t.size());
  const OdeResult res = solve_ode<2>(rhs, {30.0, 1.0}, 0.0, 20.0, t.data(), t.size(), u.data());
  ASSERT_TRUE(res.ok()) << to_string(res.status);
  const double v0 = invariant(u[0]);
  double worst = 0.0, range_prey = 0.0;
  for (size_t i = 0; i < t.size(); ++i) {
    worst = std::max(worst, std::fabs(invariant(u[i]) - v0));
    range_prey = std::max(range_prey, u[i][0]);
  }
  EXPECT_LT(worst, 1e-6 * std::fabs(v0));
  EXPECT_GT(range_prey, 30.0);  // the solution really oscillates (not stuck at the start)
}

TEST(OdeSolver, SparseAndDenseOutputTimesAgree) {
  // Stepping onto output times must not change the solution beyond the tolerance.
  const auto rhs = [](double t, const std::array<double, 2>& y, std::array<double, 2>& dy) {
    dy[0] = y[1];
    dy[1] = -std::sin(y[0]) + 0.1 * std::cos(t);
  };
  const std::array<double, 3> sparse_t = {0.0, 7.3, 19.0};
  std::array<std::array<double, 2>, 3> sparse{};
  ASSERT_TRUE(solve_ode(rhs, std::array<double, 2>{1.0, 0.0}, 0.0, 20.0, sparse_t, sparse).ok());
  std::vector<double> dense_t = linspace(0.0, 20.0, 2001);  // includes 7.3 and 19.0 up to rounding
  dense_t[730] = 7.3;
  dense_t[1900] = 19.0;
  std::vector<std::array<double, 2>> dense(dense_t.size());
  ASSERT_TRUE(solve_ode<2>(rhs, {1.0, 0.0}, 0.0, 20.0, dense_t.data(), dense_t.size(), dense.data()).ok());
  EXPECT_NEAR(sparse[1][0], dense[730][0], 1e-6);
  EXPECT_NEAR(sparse[2][0], dense[1900][0], 1e-6);
  EXPECT_NEAR(sparse[2][1], dense[1900][1], 1e-6);
}

TEST(OdeSolver, RepeatedAndBoundaryOutputTimes) {
  const auto rhs = [](double, const std::array<double, 1>& y, std::array<double, 1>& dy) { dy[0] = y[0]; };
  const std::array<double, 5> t = {0.0, 0.0, 1.0, 1.0, 2.0};
  std::array<std::array<double, 1>, 5> y{};
  ASSERT_TRUE(solve_ode(rhs, std::array<double, 1>{1.0}, 0.0, 2.0, t, y).ok());
  EXPECT_EQ(y[0][0], 1.0);
  EXPECT_EQ(y[1][0], 1.0);
  EXPECT_NEAR(y[2][0], std::exp(1.0), 1e-7 * std::exp(1.0));
  EXPECT_EQ(y[2][0], y[3][0]);
  EXPECT_NEAR(y[4][0], std::exp(2.0), 1e-7 * std::exp(2.0));
}

TEST(OdeSolver, MalformedOutputTimesThrow) {
  const auto rhs = [](double, const std::array<double, 1>& y, std::array<double, 1>& dy) { dy[0] = -y[0]; };
  std::array<std::array<double, 1>, 2> y{};
  EXPECT_THROW(solve_ode(rhs, std::array<double, 1>{1.0}, 0.0, 1.0, std::array<double, 2>{0.5, 0.2}, y), simbi::Error);
  EXPECT_THROW(solve_ode(rhs, std::array<double, 1>{1.0}, 0.0, 1.0, std::array<double, 2>{0.5, 1.5}, y), simbi::Error);
  EXPECT_THROW(solve_ode(rhs, std::array<double, 1>{1.0}, 1.0, 0.0, std::array<double, 2>{0.5, 0.6}, y), simbi::Error);
}

TEST(OdeSolver, BlowUpReportsFailureQuickly) {
  // y' = y², y(0) = 1 has the solution 1/(1 - t), which leaves every bound at t = 1.
  const auto rhs = [](double, const std::array<double, 1>& y, std::array<double, 1>& dy) { dy[0] = y[0] * y[0]; };
  const std::array<double, 2> t = {0.5, 2.0};
  std::array<std::array<double, 1>, 2> y{};
  const auto start = std::chrono::steady_clock::now();
  OdeResult res;
  EXPECT_NO_THROW(res = solve_ode(rhs, std::array<double, 1>{1.0}, 0.0, 2.0, t, y));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_FALSE(res.ok());
  EXPECT_NEAR(res.t_reached, 1.0, 1e-3);  // it fails at the pole, not before and not far after
  EXPECT_LT(seconds, 1.0);
  // The output before the blow-up was still computed correctly.
  EXPECT_NEAR(y[0][0], 2.0, 1e-7 * 2.0);
}

TEST(OdeSolver, StepLimitAndNonFiniteStartAreFailures) {
  const auto rhs = [](double, const std::array<double, 2>& y, std::array<double, 2>& dy) {
    dy[0] = y[1];
    dy[1] = -y[0];
  };
  const std::array<double, 1> t = {1000.0};
  std::array<std::array<double, 2>, 1> y{};
  OdeOptions few;
  few.max_steps = 50;
  const OdeResult res = solve_ode(rhs, std::array<double, 2>{1.0, 0.0}, 0.0, 1000.0, t, y, few);
  EXPECT_EQ(res.status, OdeStatus::max_steps);
  EXPECT_LE(res.accepted + res.rejected, 50);

  const OdeResult nan_start =
      solve_ode(rhs, std::array<double, 2>{std::nan(""), 0.0}, 0.0, 1.0, std::array<double, 1>{1.0}, y);
  EXPECT_EQ(nan_start.status, OdeStatus::non_finite);

  // A right-hand side that turns NaN mid-way (e.g. a NaN parameter) fails without hanging.
  const auto nan_rhs = [](double t, const std::array<double, 1>& y, std::array<double, 1>& dy) {
    dy[0] = t > 0.5 ? std::nan("") : -y[0];
  };
  std::array<std::array<double, 1>, 1> y1{};
  const OdeResult nan_mid = solve_ode(nan_rhs, std::array<double, 1>{1.0}, 0.0, 1.0, std::array<double, 1>{1.0}, y1);
  EXPECT_FALSE(nan_mid.ok());
  EXPECT_LE(nan_mid.t_reached, 0.5);
}

}  // namespace
