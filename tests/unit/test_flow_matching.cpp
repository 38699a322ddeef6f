// Flow matching: the batched ODE solvers against closed forms, the autograd divergence against the
// full Jacobian, FMPE's sampling and log_prob against exact answers (a linear field by construction;
// Gaussian posteriors after short training), its loss determinism, config round trip and config errors;
// NPSE's variance-preserving schedule, 1-D Gaussian posterior, determinism, round trip and config errors.
// One thread, fixed seeds.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "simbi/core/error.hpp"
#include "simbi/estimators/fmpe.hpp"
#include "simbi/estimators/npse.hpp"
#include "simbi/nn/ode_solvers.hpp"
#include "simbi/nn/vector_field.hpp"

namespace simbi {
namespace {

constexpr double kLog2Pi = 1.8378770664093454836;

class FlowMatching : public ::testing::Test {
 protected:
  void SetUp() override { torch::set_num_threads(1); }
};

// ---------------------------------------------------------------------------------------------------
// ODE solvers on dy/dt = A y: the exact solution of a row y0 is y0 · exp(A t)ᵀ.

torch::Tensor damped_rotation() {
  return torch::tensor({-0.3, 1.2, 0.0, -1.0, -0.2, 0.4, 0.1, -0.5, -0.6}, torch::kDouble).reshape({3, 3});
}

struct LinearOde {
  torch::Tensor a = damped_rotation();
  torch::Tensor y0 = torch::randn({6, 3}, at::make_generator<at::CPUGeneratorImpl>(7), torch::kDouble);
  nn::OdeFunction f() const {
    return [a = a](double, const torch::Tensor& y) { return y.matmul(a.t()); };
  }
  torch::Tensor exact(double t) const { return y0.matmul(torch::linalg_matrix_exp(a * t).t()); }
};

double max_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

TEST_F(FlowMatching, Rk4ErrorShrinksSixteenfoldPerHalvingOfTheStep) {
  const LinearOde ode;
  const double t1 = 2.0;
  double previous = 0.0;
  for (int64_t steps : {10, 20, 40}) {
    const double err = max_abs(nn::integrate_rk4(ode.f(), ode.y0, 0.0, t1, steps) - ode.exact(t1));
    // Global error C·h⁴: halving h divides it by 2⁴ = 16, up to the O(h⁵) term (12..20 at these h).
    if (previous > 0) {
      EXPECT_GT(previous / err, 12.0) << steps;
      EXPECT_LT(previous / err, 20.0) << steps;
    }
    previous = err;
  }
  EXPECT_LT(previous, 1e-5);
  // Backwards integration undoes the forward one (to the same order).
  const torch::Tensor back = nn::integrate_rk4(ode.f(), ode.exact(t1), t1, 0.0, 40);
  EXPECT_LT(max_abs(back - ode.y0), 1e-5);
}

TEST_F(FlowMatching, Dopri5MeetsItsToleranceForwardAndBackward) {
  const LinearOde ode;
  const double t1 = 2.0;
  int64_t previous_steps = 0;
  for (double tol : {1e-5, 1e-8, 1e-11}) {
    nn::OdeStats stats;
    const torch::Tensor y = nn::integrate_dopri5(ode.f(), ode.y0, 0.0, t1, tol, tol, 10000, &stats);
    // Per-step local error ≤ tol·(1 + |y|) with |y| ≲ 2 here; the global error of this contracting
    // system stays within a small multiple of that.
    EXPECT_LT(max_abs(y - ode.exact(t1)), 10 * tol) << tol;
    EXPECT_GT(stats.accepted, previous_steps) << "tighter tolerance, more steps";
    previous_steps = stats.accepted;
    const torch::Tensor back = nn::integrate_dopri5(ode.f(), ode.exact(t1), t1, 0.0, tol, tol, 10000);
    EXPECT_LT(max_abs(back - ode.y0), 10 * tol) << tol;
  }
}

TEST_F(FlowMatching, SolversPassTheStageTimesOfATimeDependentField) {
  // dy/dt = cos(t)·y → y0·exp(sin t); a solver that evaluated f at wrong stage times would miss it.
  const nn::OdeFunction f = [](double t, const torch::Tensor& y) { return std::cos(t) * y; };
  const torch::Tensor y0 = torch::tensor({1.0, -2.0}, torch::kDouble).reshape({2, 1});
  const torch::Tensor exact = y0 * std::exp(std::sin(3.0));
  EXPECT_LT(max_abs(nn::integrate_rk4(f, y0, 0.0, 3.0, 200) - exact), 1e-7);
  EXPECT_LT(max_abs(nn::integrate_dopri5(f, y0, 0.0, 3.0, 1e-9, 1e-9, 10000) - exact), 2e-8);
  nn::OdeSolverOptions o;
  o.solver = "dopri5";
  o.rtol = o.atol = 1e-9;
  EXPECT_LT(max_abs(nn::integrate(f, y0, 0.0, 3.0, o) - exact), 2e-8);
}

TEST_F(FlowMatching, Dopri5StopsWithAClearErrorAfterMaxSteps) {
  const LinearOde ode;
  try {
    nn::integrate_dopri5(ode.f(), ode.y0, 0.0, 50.0, 1e-12, 1e-12, 5);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::numeric);
    EXPECT_NE(std::string(e.what()).find("max_steps = 5"), std::string::npos) << e.what();
  }
}

TEST_F(FlowMatching, SolverOptionsNameTheBadField) {
  auto expect_error = [](const nlohmann::json& j, const std::string& field) {
    try {
      nn::OdeSolverOptions::from_json(j);
      FAIL() << "expected an Error for " << j.dump();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
      EXPECT_NE(std::string(e.what()).find("'" + field + "'"), std::string::npos) << e.what();
    }
  };
  expect_error({{"solver", "euler"}}, "solver");
  expect_error({{"steps", 0}}, "steps");
  expect_error({{"steps", -3}}, "steps");
  expect_error({{"rtol", 0.0}}, "rtol");
  expect_error({{"atol", -1e-5}}, "atol");
  expect_error({{"max_steps", 0}}, "max_steps");
  const nn::OdeSolverOptions ok = nn::OdeSolverOptions::from_json({{"solver", "dopri5"}, {"rtol", 1e-3}});
  EXPECT_EQ(ok.solver, "dopri5");
  EXPECT_EQ(ok.rtol, 1e-3);
}

// ---------------------------------------------------------------------------------------------------
// Divergence

TEST_F(FlowMatching, DivergenceIsTheTraceOfTheFullJacobian) {
  torch::manual_seed(11);
  torch::nn::Sequential net(torch::nn::Linear(3, 16), torch::nn::Tanh(), torch::nn::Linear(16, 3));
  net->to(torch::kDouble);
  const torch::Tensor y = torch::randn({5, 3}, torch::kDouble);
  const auto fd = nn::divergence([&](const torch::Tensor& z) { return net->forward(z); }, y);
  ASSERT_EQ(fd.divergence.sizes(), (std::vector<int64_t>{5}));
  EXPECT_TRUE(torch::allclose(fd.value, net->forward(y).detach()));
  for (int64_t b = 0; b < 5; ++b) {
    // The full 3×3 Jacobian of row b alone, one autograd pass per output.
    const torch::Tensor row = y.slice(0, b, b + 1).clone().requires_grad_(true);
    const torch::Tensor out = net->forward(row);
    double trace = 0.0;
    for (int64_t i = 0; i < 3; ++i) {
      const torch::Tensor jac_row = torch::autograd::grad({out[0][i]}, {row}, {}, true)[0];
      trace += jac_row[0][i].item<double>();
    }
    EXPECT_NEAR(fd.divergence[b].item<double>(), trace, 1e-12) << b;
  }
  // Under NoGradGuard (as in log_prob) it still works and leaves parameter gradients untouched.
  torch::NoGradGuard no_grad;
  const auto again = nn::divergence([&](const torch::Tensor& z) { return net->forward(z); }, y);
  EXPECT_TRUE(torch::allclose(again.divergence, fd.divergence));
  for (const auto& p : net->parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST_F(FlowMatching, VectorFieldShapesAndTimeFeatures) {
  torch::manual_seed(2);
  nn::VectorField v(2, 3, 16, 2, 4);
  const torch::Tensor t = torch::rand({5, 1});
  EXPECT_EQ(nn::time_features(t, 4).sizes(), (std::vector<int64_t>{5, 9}));
  EXPECT_EQ(v->forward(torch::randn({5, 2}), t, torch::randn({5, 3})).sizes(), (std::vector<int64_t>{5, 2}));
  // one time and one context row broadcast over the batch
  EXPECT_EQ(v->forward(torch::randn({5, 2}), torch::full({1}, 0.3), torch::randn({1, 3})).sizes(),
            (std::vector<int64_t>{5, 2}));
}

// ---------------------------------------------------------------------------------------------------
// FMPE with a field that is linear by construction: v(θ, t, x) = M θ in z-scored units, so the flow is
// θ₁ = exp(M) θ₀ and q(θ₁) = N(0, E Eᵀ) with E = exp(M), exactly; log_prob and sampling must match.

estimators::FmpeConfig small_config(int64_t theta_dim, int64_t x_dim) {
  estimators::FmpeConfig c;
  c.theta_dim = theta_dim;
  c.x_dim = x_dim;
  c.width = 64;
  c.blocks = 2;
  c.time_features = 4;
  return c;
}

void make_field_linear(estimators::Fmpe& model, const torch::Tensor& m) {
  torch::NoGradGuard no_grad;
  const int64_t d = m.size(0);
  for (auto& p : model.named_parameters()) p.value().zero_();
  auto params = model.named_parameters();
  params["field.net.input.weight"].slice(0, 0, d).slice(1, 0, d).copy_(torch::eye(d));
  params["field.net.output.weight"].slice(1, 0, d).copy_(m);
}

TEST_F(FlowMatching, FmpeLogProbAndSamplesOfALinearFieldAreExact) {
  const int64_t d = 2;
  estimators::Fmpe model(small_config(d, 1));
  // z-score with mean (1, −2) and std (2, 0.5): two rows ±std around the mean (unbiased std).
  const torch::Tensor mu = torch::tensor({1.0f, -2.0f}), sd = torch::tensor({2.0f, 0.5f});
  const float r = 1.0f / std::sqrt(2.0f);
  model.fit_standardization(torch::stack({mu + r * sd, mu - r * sd}), torch::tensor({0.0f, 1.0f}).reshape({2, 1}));
  const torch::Tensor m = torch::tensor({-0.3f, 0.5f, 0.2f, 0.1f}).reshape({2, 2});
  make_field_linear(model, m);
  const torch::Tensor e = torch::linalg_matrix_exp(m.to(torch::kDouble));
  const torch::Tensor cov = e.matmul(e.t());
  const torch::Tensor x_o = torch::tensor({0.5f});

  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  auto same = at::make_generator<at::CPUGeneratorImpl>(3);
  const torch::Tensor draws = model.sample_posterior(x_o, 50, gen);
  const torch::Tensor theta0 = torch::randn({50, d}, same, torch::kFloat).to(torch::kDouble);
  const torch::Tensor expected = theta0.matmul(e.t()) * sd.to(torch::kDouble) + mu.to(torch::kDouble);
  EXPECT_LT(max_abs(draws.to(torch::kDouble) - expected), 1e-4);  // RK4, 10 steps, ‖M‖ < 1: error ~1e-7

  const torch::Tensor theta = torch::tensor({1.0f, -2.0f, 3.0f, -1.5f, -2.0f, -2.5f}).reshape({3, 2});
  const torch::Tensor z = (theta.to(torch::kDouble) - mu.to(torch::kDouble)) / sd.to(torch::kDouble);
  const torch::Tensor quad = (z.matmul(torch::linalg_inv(cov)) * z).sum(1);
  const torch::Tensor exact =
      -0.5 * quad - 0.5 * torch::logdet(cov) - kLog2Pi - torch::log(sd.to(torch::kDouble)).sum();
  for (const std::string solver : {"rk4", "dopri5"}) {
    nn::OdeSolverOptions o;
    o.solver = solver;
    model.set_solver(o);
    EXPECT_LT(max_abs(model.log_prob(theta, x_o).to(torch::kDouble) - exact), 1e-4) << solver;
  }
}

// Through a box prior's bijection θ = lo + (hi − lo)·σ(u): with the linear field of the test above the
// density of u is a known Gaussian, so log q(θ) = log N_u(u(θ)) − log|dθ/du| by hand; every draw lies in
// the box and is T of the exact linear flow's end; −inf outside the box. One x per row (the trainer's
// held-out density) gives row i's log q at x_i. A config without a support prior keeps the keys it had.
TEST_F(FlowMatching, FmpeThroughABoxPriorIsADensityOnTheBox) {
  const int64_t d = 2;
  const std::vector<double> lo{0.0, -1.0}, hi{4.0, 3.0};
  estimators::FmpeConfig config = small_config(d, 1);
  EXPECT_FALSE(config.to_json().contains("support_prior"));
  config.support_prior = {{"type", "uniform"}, {"low", lo}, {"high", hi}};
  EXPECT_EQ(estimators::FmpeConfig::from_json(config.to_json()).support_prior, config.support_prior);
  estimators::Fmpe model(config);
  const torch::Tensor low = torch::tensor(lo, torch::kDouble), width = torch::tensor(hi, torch::kDouble) - low;
  auto to_theta = [&](const torch::Tensor& u) { return low + width * torch::sigmoid(u.to(torch::kDouble)); };
  // z-scoring fitted on u: mean (0.5, −1), std (1.5, 0.7), from two rows ±std around the mean.
  const torch::Tensor mu = torch::tensor({0.5, -1.0}, torch::kDouble), sd = torch::tensor({1.5, 0.7}, torch::kDouble);
  const double r = 1.0 / std::sqrt(2.0);
  model.fit_standardization(to_theta(torch::stack({mu + r * sd, mu - r * sd})).to(torch::kFloat),
                            torch::tensor({0.0f, 1.0f}).reshape({2, 1}));
  const torch::Tensor m = torch::tensor({-0.3f, 0.5f, 0.2f, 0.1f}).reshape({2, 2});
  make_field_linear(model, m);
  const torch::Tensor e = torch::linalg_matrix_exp(m.to(torch::kDouble));
  const torch::Tensor cov = e.matmul(e.t());
  const torch::Tensor x_o = torch::tensor({0.5f});

  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  auto same = at::make_generator<at::CPUGeneratorImpl>(3);
  const torch::Tensor draws = model.sample_posterior(x_o, 2000, gen).to(torch::kDouble);
  const torch::Tensor u_end = torch::randn({2000, d}, same, torch::kFloat).to(torch::kDouble).matmul(e.t()) * sd + mu;
  EXPECT_LT(max_abs(draws - to_theta(u_end)), 1e-4);
  EXPECT_TRUE((draws >= low).all().item<bool>() && (draws <= low + width).all().item<bool>());

  const torch::Tensor theta = torch::tensor({1.0, 0.5, 3.5, -0.8, 0.2, 2.9}, torch::kDouble).reshape({3, 2});
  const torch::Tensor p = (theta - low) / width;
  const torch::Tensor u = torch::log(p) - torch::log1p(-p);
  const torch::Tensor z = (u - mu) / sd;
  const torch::Tensor log_q_u =
      -0.5 * (z.matmul(torch::linalg_inv(cov)) * z).sum(1) - 0.5 * torch::logdet(cov) - kLog2Pi - torch::log(sd).sum();
  const torch::Tensor log_det = (torch::log(width) + torch::log(p) + torch::log1p(-p)).sum(1);
  EXPECT_LT(max_abs(model.log_prob(theta.to(torch::kFloat), x_o).to(torch::kDouble) - (log_q_u - log_det)), 1e-4);
  const torch::Tensor outside = model.log_prob(torch::tensor({-0.5f, 1.0f, 2.0f, 3.5f}).reshape({2, 2}), x_o);
  EXPECT_TRUE((torch::isinf(outside) & (outside < 0)).all().item<bool>()) << outside;

  torch::manual_seed(4);  // a field with random weights, so that x matters
  estimators::Fmpe random_field(config);
  random_field.fit_standardization(to_theta(torch::randn({50, d}, torch::kDouble)).to(torch::kFloat),
                                   torch::randn({50, 1}));
  const torch::Tensor xs = torch::tensor({-1.0f, 0.0f, 2.0f}).reshape({3, 1});
  const torch::Tensor per_row = random_field.log_prob(theta.to(torch::kFloat), xs);
  for (int64_t i = 0; i < 3; ++i) {
    const double alone = random_field.log_prob(theta.slice(0, i, i + 1).to(torch::kFloat), xs[i]).item<double>();
    EXPECT_NEAR(per_row[i].item<double>(), alone, 1e-4) << "row " << i;
  }
  EXPECT_GT(max_abs(per_row - random_field.log_prob(theta.to(torch::kFloat), xs[0])), 1e-3);  // x does matter
}

// ---------------------------------------------------------------------------------------------------
// FMPE trained on a Gaussian model with a closed-form posterior:
//   θ ~ N(m, τ² I), x = θ + N(0, s² I)  →  θ | x ~ N((m/τ² + x/s²)/P, 1/P · I),  P = 1/τ² + 1/s².
struct GaussianModel {
  double m = 1.0, tau = 2.0, s = 1.0;
  double precision() const { return 1 / (tau * tau) + 1 / (s * s); }
  double post_var() const { return 1 / precision(); }
  torch::Tensor post_mean(const torch::Tensor& x) const { return (m / (tau * tau) + x / (s * s)) / precision(); }
  void draw(int64_t n, int64_t d, at::Generator& gen, torch::Tensor& theta, torch::Tensor& x) const {
    theta = m + tau * torch::randn({n, d}, gen, torch::kFloat);
    x = theta + s * torch::randn({n, d}, gen, torch::kFloat);
  }
};

// Adam on fresh simulations every step (no overfitting to track), noise from a fixed-seed generator;
// 3000–4000 steps of 256 rows, 2–4 s on one core.
template <class Model>
void train(Model& model, const GaussianModel& g, int64_t d, int64_t steps, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  torch::Tensor theta, x;
  g.draw(20000, d, gen, theta, x);
  model.fit_standardization(theta, x);
  torch::optim::Adam opt(model.parameters(), torch::optim::AdamOptions(2e-3));
  const int64_t batch = 256;
  for (int64_t step = 0; step < steps; ++step) {
    // Linear decay to 0: the last steps average out Adam's gradient noise (it halves NPSE's errors).
    static_cast<torch::optim::AdamOptions&>(opt.param_groups()[0].options()).lr(2e-3 * (1.0 - double(step) / steps));
    g.draw(batch, d, gen, theta, x);
    const torch::Tensor noise = torch::randn({batch, model.noise_dim()}, gen, torch::kFloat);
    opt.zero_grad();
    model.loss_with_noise(theta, x, noise).mean().backward();
    opt.step();
  }
}

// Checks draws and log_prob at x_o against the exact posterior N(μ, v·I).
//  - Mean per dimension: standard error √(v/n); variance: standard error v·√(2/(n−1)). Tolerance = 4
//    standard errors (sampling) + the network's own error after a few seconds of training, which we
//    allow as 0.1·√v on the mean and 15% on the variance. With n = 4000: mean tolerance 0.163·√v,
//    variance 0.24·v; measured (printed): mean within 0.05·√v, variance within 3% (mostly sampling).
//  - log_prob at μ and μ ± 1.5·√v along each axis: within 0.15 nats of the exact log density (a 15%
//    density error; measured ≤ 0.06; dopri5 at rtol 1e-5 contributes < 1e-3 of it, cf. the linear-field
//    test above, which is exact to 1e-4).
template <class Model>
void check_posterior(Model& model, const GaussianModel& g, const torch::Tensor& x_o) {
  const int64_t d = x_o.size(0), n = 4000;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(99);
  const torch::Tensor draws = model.sample_posterior(x_o, n, gen).to(torch::kDouble);
  const torch::Tensor mu = g.post_mean(x_o.to(torch::kDouble));
  const double v = g.post_var();
  const torch::Tensor mean = draws.mean(0), var = draws.var(0);
  const double mean_tol = 4 * std::sqrt(v / n) + 0.1 * std::sqrt(v);
  const double var_tol = 4 * v * std::sqrt(2.0 / (n - 1)) + 0.15 * v;
  for (int64_t i = 0; i < d; ++i) {
    EXPECT_NEAR(mean[i].item<double>(), mu[i].item<double>(), mean_tol) << "dim " << i;
    EXPECT_NEAR(var[i].item<double>(), v, var_tol) << "dim " << i;
  }
  if (d > 1) {
    const torch::Tensor c = torch::cov(draws.t());
    EXPECT_NEAR(c[0][1].item<double>(), 0.0, 4 * v / std::sqrt(n) + 0.1 * v) << "covariance";
  }
  std::vector<torch::Tensor> points{mu};
  for (int64_t i = 0; i < d; ++i)
    for (double k : {-1.5, 1.5}) {
      torch::Tensor p = mu.clone();
      p[i] += k * std::sqrt(v);
      points.push_back(p);
    }
  const torch::Tensor theta = torch::stack(points).to(torch::kFloat);
  const torch::Tensor exact =
      -0.5 * ((theta.to(torch::kDouble) - mu).pow(2).sum(1) / v) - 0.5 * d * (kLog2Pi + std::log(v));
  nn::OdeSolverOptions o;
  o.solver = "dopri5";
  model.set_solver(o);
  const torch::Tensor lp = model.log_prob(theta, x_o).to(torch::kDouble);
  for (int64_t j = 0; j < theta.size(0); ++j)
    EXPECT_NEAR(lp[j].item<double>(), exact[j].item<double>(), 0.15) << "point " << j;
  std::printf("[ measured ] %s %lld-D: |mean − μ|/√v %.3f, |var/v − 1| %.3f, |log_prob − exact| max %.3f nats\n",
              model.method().c_str(), static_cast<long long>(d),
              ((mean - mu).abs().max() / std::sqrt(v)).item<double>(), ((var / v - 1).abs().max()).item<double>(),
              (lp - exact).abs().max().item<double>());
}

TEST_F(FlowMatching, FmpeLearnsAOneDimensionalGaussianPosterior) {
  const GaussianModel g;
  torch::manual_seed(1);  // the network's initial weights
  estimators::Fmpe model(small_config(1, 1));
  train(model, g, 1, 3000, 1);
  check_posterior(model, g, torch::tensor({2.5f}));
}

TEST_F(FlowMatching, FmpeLearnsATwoDimensionalGaussianPosterior) {
  const GaussianModel g;
  torch::manual_seed(2);
  estimators::Fmpe model(small_config(2, 2));
  train(model, g, 2, 3000, 2);
  check_posterior(model, g, torch::tensor({2.0f, -1.0f}));
}

// ---------------------------------------------------------------------------------------------------

TEST_F(FlowMatching, FmpeLossIsDeterministicGivenTheNoise) {
  torch::manual_seed(5);
  estimators::Fmpe model(small_config(2, 3));
  EXPECT_EQ(model.noise_dim(), 3);
  const torch::Tensor theta = torch::randn({8, 2}), x = torch::randn({8, 3}), noise = torch::randn({8, 3});
  model.fit_standardization(theta, x);
  const torch::Tensor a = model.loss_with_noise(theta, x, noise), b = model.loss_with_noise(theta, x, noise);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{8}));
  EXPECT_TRUE(torch::equal(a, b));
  // Per example: the rows' losses do not depend on which other rows share the batch (rank splits).
  const torch::Tensor half = model.loss_with_noise(theta.slice(0, 0, 4), x.slice(0, 0, 4), noise.slice(0, 0, 4));
  EXPECT_TRUE(torch::allclose(half, a.slice(0, 0, 4), 1e-6, 1e-6));
  EXPECT_FALSE(torch::allclose(model.loss_with_noise(theta, x, torch::randn({8, 3})), a));
}

TEST_F(FlowMatching, TimePriorMapsNormalDrawsToThePowerLaw) {
  // p(t) ∝ t^α has CDF t^(1+α); with α = 3 the median is 0.5^(1/4) and z = 0 is the median of Φ.
  EXPECT_NEAR(estimators::Fmpe::time_from_normal(torch::zeros({1}), 0.0).item<double>(), 0.5, 1e-7);
  EXPECT_NEAR(estimators::Fmpe::time_from_normal(torch::zeros({1}), 3.0).item<double>(), std::pow(0.5, 0.25), 1e-6);
  const torch::Tensor t = estimators::Fmpe::time_from_normal(torch::randn({100000}), 3.0);
  // mean of t under (1+α) t^α is (1+α)/(2+α) = 0.8; sd of t ≈ 0.163 → SE 5e-4
  EXPECT_NEAR(t.mean().item<double>(), 0.8, 3e-3);
  EXPECT_GE(t.min().item<double>(), 0.0);
  EXPECT_LE(t.max().item<double>(), 1.0);
}

TEST_F(FlowMatching, FmpeConfigRoundTripRebuildsTheSameParameters) {
  estimators::FmpeConfig c = small_config(2, 3);
  c.sigma_min = 1e-3;
  c.time_prior_exponent = 2.0;
  c.solver.solver = "dopri5";
  c.solver.rtol = 1e-4;
  estimators::Fmpe model(c);
  const nlohmann::json j = model.config();
  EXPECT_EQ(j["method"], "fmpe");
  const std::shared_ptr<estimators::Estimator> rebuilt = estimators::make_estimator(j);
  EXPECT_EQ(rebuilt->method(), "fmpe");
  EXPECT_EQ(rebuilt->config(), j);
  const auto a = model.named_parameters(), b = rebuilt->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& p : a) {
    ASSERT_NE(b.find(p.key()), nullptr) << p.key();
    EXPECT_EQ(p.value().sizes(), b[p.key()].sizes()) << p.key();
  }
  EXPECT_EQ(model.named_buffers().size(), rebuilt->named_buffers().size());
  const auto methods = estimators::known_methods();
  EXPECT_NE(std::find(methods.begin(), methods.end(), "fmpe"), methods.end());
}

TEST_F(FlowMatching, FmpeConfigErrorsNameTheField) {
  auto expect_error = [](nlohmann::json patch, const std::string& field) {
    nlohmann::json j = {{"method", "fmpe"}, {"theta_dim", 2}, {"x_dim", 3}};
    j.update(patch);
    try {
      estimators::FmpeConfig::from_json(j);
      FAIL() << "expected an Error for " << patch.dump();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
      EXPECT_NE(std::string(e.what()).find("'" + field + "'"), std::string::npos) << e.what();
    }
  };
  expect_error({{"solver", "heun"}}, "solver");
  expect_error({{"steps", 0}}, "steps");
  expect_error({{"rtol", -1.0}}, "rtol");
  expect_error({{"atol", 0.0}}, "atol");
  expect_error({{"sigma_min", 0.0}}, "sigma_min");
  expect_error({{"sigma_min", 1.0}}, "sigma_min");
  expect_error({{"sigma_min", -0.1}}, "sigma_min");
  expect_error({{"time_prior_exponent", -1.0}}, "time_prior_exponent");
  expect_error({{"width", 0}}, "width");
  EXPECT_NO_THROW(estimators::FmpeConfig::from_json({{"theta_dim", 2}, {"x_dim", 3}}));
}

TEST_F(FlowMatching, TenThousandTwoDimensionalDrawsAtTheDefaultsAreFast) {
  // Speed at the default architecture and solver (RK4), untrained weights: the cost does not depend
  // on the weights' values. Printed for the record; the bound is loose for a shared machine.
  torch::manual_seed(8);
  estimators::FmpeConfig c;
  c.theta_dim = 2;
  c.x_dim = 2;
  estimators::Fmpe model(c);
  model.fit_standardization(torch::randn({100, 2}), torch::randn({100, 2}));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  const auto start = std::chrono::steady_clock::now();
  const torch::Tensor draws = model.sample_posterior(torch::zeros({2}), 10000, gen);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(draws.sizes(), (std::vector<int64_t>{10000, 2}));
  std::printf("[ timing   ] 10k 2-D FMPE draws, %s %lld steps, width %lld x %lld blocks: %.3f s\n",
              c.solver.solver.c_str(), static_cast<long long>(c.solver.steps), static_cast<long long>(c.width),
              static_cast<long long>(c.blocks), seconds);
  EXPECT_LT(seconds, 6.0);
}

// ---------------------------------------------------------------------------------------------------
// NPSE (score matching, VP SDE, probability-flow ODE with the same solvers)

estimators::NpseConfig small_npse_config(int64_t theta_dim, int64_t x_dim) {
  estimators::NpseConfig c;
  c.theta_dim = theta_dim;
  c.x_dim = x_dim;
  c.width = 64;
  c.blocks = 2;
  c.time_features = 4;
  return c;
}

// The predictor–corrector sampler (default corrector: 1 step at snr 0.05) at enough steps for
// Euler–Maruyama's bias to stay below the tolerances of check_posterior (its error is O(h): 200 steps).
nn::OdeSolverOptions pc_solver() {
  nn::OdeSolverOptions o;
  o.solver = "pc";
  o.steps = 200;
  return o;
}

TEST_F(FlowMatching, NpseScheduleIsVariancePreserving) {
  const estimators::Npse model(small_npse_config(1, 1));
  EXPECT_DOUBLE_EQ(model.alpha(0.0), 1.0);
  EXPECT_DOUBLE_EQ(model.sigma(0.0), 0.0);
  for (double t : {1e-3, 0.1, 0.5, 1.0})
    EXPECT_NEAR(std::pow(model.alpha(t), 2) + std::pow(model.sigma(t), 2), 1.0, 1e-12);
  // α(1)² = exp(−∫₀¹β) = exp(−(β_min + β_max)/2)
  EXPECT_NEAR(std::pow(model.alpha(1.0), 2), std::exp(-(0.1 + 20.0) / 2), 1e-12);
  // σ(t)² = 1 − exp(−B) ≈ B − B²/2 with B = ∫₀ᵗβ = β_min·t + ½(β_max − β_min)·t² = 1.0995e-4 at
  // t = 1e-3 (B²/2 ≈ 6e-9): expm1 keeps it accurate where 1 − α² would cancel.
  EXPECT_NEAR(std::pow(model.sigma(1e-3), 2), 1.0995e-4, 1e-8);
}

TEST_F(FlowMatching, NpseLearnsAOneDimensionalGaussianPosterior) {
  const GaussianModel g;
  torch::manual_seed(3);
  estimators::Npse model(small_npse_config(1, 1));
  train(model, g, 1, 4000, 3);  // the DSM loss is noisier than flow matching's
  check_posterior(model, g, torch::tensor({2.5f}));
  // The same network sampled by the predictor–corrector SDE sampler (log_prob: the ODE, as above).
  model.set_solver(pc_solver());
  check_posterior(model, g, torch::tensor({2.5f}));
}

TEST_F(FlowMatching, NpseVeScheduleGrowsGeometrically) {
  estimators::NpseConfig c = small_npse_config(1, 1);
  c.sde = "ve";
  c.sigma_min = 0.02;
  c.sigma_max = 8.0;
  const estimators::Npse model(c);
  EXPECT_DOUBLE_EQ(model.alpha(0.3), 1.0);
  EXPECT_NEAR(model.sigma(0.0), 0.02, 1e-15);
  EXPECT_NEAR(model.sigma(1.0), 8.0, 1e-12);
  EXPECT_NEAR(model.sigma(0.5), std::sqrt(0.02 * 8.0), 1e-12);  // geometric mean
}

TEST_F(FlowMatching, NpseVeLearnsATwoDimensionalGaussianPosterior) {
  const GaussianModel g;
  torch::manual_seed(4);
  estimators::NpseConfig c = small_npse_config(2, 2);
  c.sde = "ve";  // the default σ_max = 50
  estimators::Npse model(c);
  train(model, g, 2, 4000, 4);
  check_posterior(model, g, torch::tensor({2.0f, -1.0f}));
  model.set_solver(pc_solver());
  check_posterior(model, g, torch::tensor({2.0f, -1.0f}));
}

TEST_F(FlowMatching, NpseLossIsDeterministicAndItsConfigRoundTrips) {
  torch::manual_seed(6);
  estimators::NpseConfig c = small_npse_config(2, 3);
  c.beta_max = 10.0;
  c.solver.solver = "dopri5";
  estimators::Npse model(c);
  EXPECT_EQ(model.noise_dim(), 3);
  const torch::Tensor theta = torch::randn({8, 2}), x = torch::randn({8, 3}), noise = torch::randn({8, 3});
  model.fit_standardization(theta, x);
  EXPECT_TRUE(torch::equal(model.loss_with_noise(theta, x, noise), model.loss_with_noise(theta, x, noise)));
  const nlohmann::json j = model.config();
  const auto rebuilt = estimators::make_estimator(j);
  EXPECT_EQ(rebuilt->config(), j);
  const auto a = model.named_parameters(), b = rebuilt->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& p : a) {
    ASSERT_NE(b.find(p.key()), nullptr) << p.key();
    EXPECT_EQ(p.value().sizes(), b[p.key()].sizes()) << p.key();
  }
}

TEST_F(FlowMatching, NpseConfigErrorsNameTheField) {
  auto expect_error = [](nlohmann::json patch, const std::string& field) {
    nlohmann::json j = {{"method", "npse"}, {"theta_dim", 1}, {"x_dim", 1}};
    j.update(patch);
    try {
      estimators::NpseConfig::from_json(j);
      FAIL() << "expected an Error for " << patch.dump();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
      EXPECT_NE(std::string(e.what()).find("'" + field + "'"), std::string::npos) << e.what();
    }
  };
  expect_error({{"beta_min", 0.0}}, "beta_min");
  expect_error({{"beta_max", 0.05}}, "beta_max");
  expect_error({{"t_min", 0.0}}, "t_min");
  expect_error({{"t_min", 1.0}}, "t_min");
  expect_error({{"solver", "euler"}}, "solver");
  expect_error({{"steps", 0}}, "steps");
  expect_error({{"sde", "subvp"}}, "sde");
  expect_error({{"sde", "ve"}, {"sigma_min", 0.0}}, "sigma_min");
  expect_error({{"sde", "ve"}, {"sigma_min", 0.5}, {"sigma_max", 0.5}}, "sigma_max");
  expect_error({{"sde", "ve"}, {"sigma_max", 0.001}}, "sigma_max");
  expect_error({{"sde", "ve"}, {"beta_max", 10.0}}, "beta_max");  // the VP schedule's key
  expect_error({{"sigma_max", 10.0}}, "sigma_max");               // the VE schedule's key, default sde vp
  expect_error({{"time_prior_exponent", 1.0}}, "time_prior_exponent");
  expect_error({{"solver", "pc"}, {"snr", 0.0}}, "snr");
  expect_error({{"solver", "pc"}, {"corrector_steps", -1}}, "corrector_steps");
}

TEST_F(FlowMatching, PredictorCorrectorIsForScoreModelsOnly) {
  nlohmann::json j = {{"method", "fmpe"}, {"theta_dim", 1}, {"x_dim", 1}, {"solver", "pc"}};
  try {
    estimators::make_estimator(j);
    FAIL() << "fmpe accepted solver pc";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fmpe: solver 'pc' (predictor–corrector) samples a score model's"),
              std::string::npos)
        << e.what();
  }
  estimators::Fmpe fmpe(small_config(1, 1));
  EXPECT_THROW(fmpe.set_solver(pc_solver()), Error);
  j = {{"method", "fmpe"}, {"theta_dim", 1}, {"x_dim", 1}, {"sde", "ve"}};
  EXPECT_THROW(estimators::make_estimator(j), Error);  // an NPSE key given to FMPE
  // nn::integrate itself refuses pc: it is not an ODE solver.
  EXPECT_THROW(
      nn::integrate([](double, const torch::Tensor& y) { return y; }, torch::ones({1, 1}), 0.0, 1.0, pc_solver()),
      Error);
}

TEST_F(FlowMatching, NpseVeConfigRoundTripsWithItsOwnKeys) {
  estimators::NpseConfig c = small_npse_config(2, 3);
  c.sde = "ve";
  c.sigma_max = 5.0;
  c.solver = pc_solver();
  estimators::Npse model(c);
  const nlohmann::json j = model.config();
  EXPECT_EQ(j.at("sde"), "ve");
  EXPECT_FALSE(j.contains("beta_min"));
  EXPECT_EQ(j.at("corrector_steps"), 1);
  EXPECT_EQ(estimators::make_estimator(j)->config(), j);
  // A VP model's config is what it was before the VE SDE existed (models written then still load).
  const nlohmann::json vp = estimators::Npse(small_npse_config(2, 3)).config();
  EXPECT_FALSE(vp.contains("sde"));
  EXPECT_FALSE(vp.contains("snr"));
}

}  // namespace
}  // namespace simbi
