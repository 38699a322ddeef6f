// Neural likelihood estimation on a Gaussian model with a closed-form likelihood and posterior:
// log q(x | θ) against the exact log-likelihood, the MCMC posterior of the posterior module (one and
// several i.i.d. observations) against the exact posterior, config round trip and errors. Serial (MPI
// not started: the engine runs as one rank of one), one thread, fixed seeds.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>

#include "simbi/core/error.hpp"
#include "simbi/estimators/nle.hpp"
#include "simbi/metrics/c2st.hpp"
#include "simbi/posterior/posterior.hpp"
#include "simbi/sim/prior.hpp"

namespace simbi {
namespace {

constexpr double kLog2Pi = 1.8378770664093454836;

// θ ~ N(m, τ² I), x = θ + N(0, s² I). With k i.i.d. observations x_1..x_k of one θ:
//   θ | x_1..k ~ N((m/τ² + Σx_j/s²)/P, 1/P · I),  P = 1/τ² + k/s².
struct GaussianModel {
  double m = 1.0, tau = 2.0, s = 1.0;
  static constexpr int64_t d = 2;
  std::unique_ptr<sim::Prior> prior() const { return sim::make_gaussian({m, m}, {tau * tau, 0.0, 0.0, tau * tau}); }
  double post_var(int64_t k) const { return 1 / (1 / (tau * tau) + k / (s * s)); }
  torch::Tensor post_mean(const torch::Tensor& x_rows) const {  // x_rows [k, d]
    return (m / (tau * tau) + x_rows.sum(0) / (s * s)) * post_var(x_rows.size(0));
  }
  torch::Tensor log_likelihood(const torch::Tensor& theta, const torch::Tensor& x) const {
    return -0.5 * (x - theta).pow(2).sum(1) / (s * s) - 0.5 * d * (kLog2Pi + 2 * std::log(s));
  }
  void draw(int64_t n, at::Generator& gen, torch::Tensor& theta, torch::Tensor& x) const {
    theta = m + tau * torch::randn({n, d}, gen, torch::kFloat);
    x = theta + s * torch::randn({n, d}, gen, torch::kFloat);
  }
};

estimators::NleConfig small_config() {
  estimators::NleConfig c;
  c.theta_dim = GaussianModel::d;
  c.x_dim = GaussianModel::d;
  c.flow.transforms = 3;
  c.flow.hidden = 32;
  c.flow.bins = 8;
  return c;
}

// Adam on fresh simulations every step with a linearly decaying rate; ~3 s on one core.
std::shared_ptr<estimators::Nle> trained_nle(const GaussianModel& g) {
  torch::set_num_threads(1);
  torch::manual_seed(3);
  auto nle = std::make_shared<estimators::Nle>(small_config());
  auto gen = at::make_generator<at::CPUGeneratorImpl>(4);
  torch::Tensor theta, x;
  g.draw(20000, gen, theta, x);
  nle->fit_standardization(theta, x);
  torch::optim::Adam opt(nle->parameters(), torch::optim::AdamOptions(2e-3));
  const int64_t steps = 2500, batch = 256;
  for (int64_t step = 0; step < steps; ++step) {
    static_cast<torch::optim::AdamOptions&>(opt.param_groups()[0].options()).lr(2e-3 * (1.0 - double(step) / steps));
    g.draw(batch, gen, theta, x);
    opt.zero_grad();
    nle->loss(theta, x).mean().backward();
    opt.step();
  }
  nle->eval();
  return nle;
}

// The model as load_model would hand it to the posterior module.
posterior::LoadedModel loaded(std::shared_ptr<estimators::Nle> nle) {
  posterior::LoadedModel model;
  model.path = "nle-in-memory";
  model.meta.method = "nle";
  model.meta.theta_dim = model.meta.x_dim = GaussianModel::d;
  model.meta.prior = GaussianModel{}.prior()->to_json();
  model.meta.estimator = nle->config();
  model.estimator = std::move(nle);
  return model;
}

std::shared_ptr<estimators::Nle> untrained_nle() {
  torch::manual_seed(3);
  return std::make_shared<estimators::Nle>(small_config());
}

// log q(x | θ) at 200 (θ, x) pairs of the joint, against the exact log-likelihood. A flow of this size
// trained for 2,500 steps is accurate to a few hundredths of a nat where the data are (measured, printed:
// mean error 0.025, max 0.2 at a point in the tails); we allow 0.1 nats on average and 0.4 at any point
// (a 50% density error) — a likelihood that ignored θ, or had the z-scoring's log-det wrong, is off by
// several nats.
void check_log_likelihood(estimators::Nle& nle) {
  const GaussianModel g;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  torch::Tensor theta, x;
  g.draw(200, gen, theta, x);
  torch::NoGradGuard no_grad;
  const torch::Tensor err = (nle.log_likelihood(theta, x).to(torch::kDouble) -
                             g.log_likelihood(theta.to(torch::kDouble), x.to(torch::kDouble)))
                                .abs();
  std::printf("[ measured ] NLE |log q(x|θ) − log p(x|θ)|: mean %.3f, max %.3f nats\n", err.mean().item<double>(),
              err.max().item<double>());
  EXPECT_LT(err.mean().item<double>(), 0.1);
  EXPECT_LT(err.max().item<double>(), 0.4);
}

// Sums over i.i.d. rows: log_likelihood_iid of three rows is the sum of the three single-row values.
TEST(Nle, IidLogLikelihoodSumsTheRows) {
  const std::shared_ptr<estimators::Nle> nle = untrained_nle();
  torch::NoGradGuard no_grad;
  const torch::Tensor theta = torch::tensor({{0.5f, 1.0f}, {2.0f, -1.0f}});
  const torch::Tensor rows = torch::tensor({{1.0f, 0.0f}, {0.5f, 1.5f}, {-1.0f, 2.0f}});
  torch::Tensor sum = torch::zeros({2});
  for (int64_t j = 0; j < 3; ++j) sum += nle->log_likelihood(theta, rows[j].expand({2, 2}));
  EXPECT_LT((nle->log_likelihood_iid(theta, rows) - sum).abs().max().item<double>(), 1e-4);
}

// The posterior module's MCMC draws against the exact Gaussian posterior. Tolerances as for the
// direct samplers, with the MCMC's effective sample size in place of n: mean per dimension within
// 4·√(v/ESS) + 0.1·√v, variance within 4·v·√(2/ESS) + 0.15·v (the 0.1 and 0.15 allow the learned
// likelihood's own error); ESS is the smallest bulk ESS the engine reports. Then a two-sample test:
// C2ST of the draws against as many exact draws, with 4,000 of each its null sd is ≈ 0.006, and a
// likelihood error of the size allowed above moves it by < 0.02; we require < 0.55.
void check_posterior(posterior::Posterior& post, const torch::Tensor& x_rows) {
  const GaussianModel g;
  const int64_t k = x_rows.size(0);
  const std::vector<posterior::DrawSet> sets = post.sample(k == 1 ? x_rows[0] : x_rows, 0);
  ASSERT_EQ(sets.size(), 1u);
  const torch::Tensor draws = sets[0].samples.to(torch::kDouble);
  const double v = g.post_var(k), ess = sets[0].min_ess_bulk;
  const torch::Tensor mu = g.post_mean(x_rows.to(torch::kDouble));
  ASSERT_GT(ess, 200.0) << sets[0].summary;
  EXPECT_LT(sets[0].max_rhat, 1.05) << sets[0].summary;
  const torch::Tensor mean = draws.mean(0), var = draws.var(0);
  for (int64_t i = 0; i < GaussianModel::d; ++i) {
    EXPECT_NEAR(mean[i].item<double>(), mu[i].item<double>(), 4 * std::sqrt(v / ess) + 0.1 * std::sqrt(v));
    EXPECT_NEAR(var[i].item<double>(), v, 4 * v * std::sqrt(2.0 / ess) + 0.15 * v);
  }
  auto gen = at::make_generator<at::CPUGeneratorImpl>(21);
  const torch::Tensor exact = (mu + std::sqrt(v) * torch::randn({draws.size(0), 2}, gen, torch::kDouble));
  const double c2st = metrics::c2st(exact.to(torch::kFloat), draws.to(torch::kFloat)).accuracy;
  std::printf(
      "[ measured ] NLE posterior, %lld observation(s): |mean − μ|/√v %.3f, |var/v − 1| %.3f, ESS %.0f, "
      "C2ST %.3f\n",
      static_cast<long long>(k), ((mean - mu).abs().max() / std::sqrt(v)).item<double>(),
      ((var / v - 1).abs().max()).item<double>(), ess, c2st);
  EXPECT_LT(c2st, 0.55);
}

posterior::PosteriorOptions mcmc_options() {
  posterior::PosteriorOptions o;
  o.num_samples = 4000;
  o.seed = 5;
  o.mcmc.chains = 20;
  o.mcmc.warmup = 200;
  o.mcmc.thin = 5;
  o.mcmc.init_candidates = 1000;
  return o;
}

// One trained model (training is the expensive part) for the likelihood and both posteriors.
TEST(Nle, RecoversTheLikelihoodAndTheExactPosterior) {
  const std::shared_ptr<estimators::Nle> nle = trained_nle(GaussianModel{});
  check_log_likelihood(*nle);
  const posterior::LoadedModel model = loaded(nle);
  std::unique_ptr<posterior::Posterior> post = posterior::make_posterior(model, mcmc_options());
  check_posterior(*post, torch::tensor({{2.5f, -1.0f}}));
  // Four i.i.d. observations of one θ: the potential sums their log-likelihoods.
  posterior::PosteriorOptions o = mcmc_options();
  o.iid_observations = true;
  post = posterior::make_posterior(model, o);
  check_posterior(*post, torch::tensor({{2.0f, -0.5f}, {1.0f, 0.5f}, {2.5f, 0.0f}, {1.5f, -1.0f}}));
}

TEST(Nle, ConfigRoundTripsAndBadValuesNameTheField) {
  const std::shared_ptr<estimators::Nle> nle = untrained_nle();
  const nlohmann::json j = nle->config();
  EXPECT_EQ(j["method"], "nle");
  const auto rebuilt = estimators::make_estimator(j);
  EXPECT_EQ(rebuilt->config(), j);
  size_t a = 0, b = 0;
  for (const auto& p : nle->parameters()) a += p.numel();
  for (const auto& p : rebuilt->parameters()) b += p.numel();
  EXPECT_EQ(a, b);
  nlohmann::json bad = j;
  bad["flow"]["bins"] = 1;
  try {
    estimators::make_estimator(bad);
    FAIL() << "bins 1 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bins"), std::string::npos) << e.what();
  }
  bad = j;
  bad["x_dim"] = 1;
  bad["flow"]["conditioner"] = "coupling";
  try {
    estimators::make_estimator(bad);
    FAIL() << "coupling over 1-D x accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("coupling"), std::string::npos) << e.what();
  }
}

// An NLE model without a prior (imported data) cannot be sampled: the engine samples p(θ)·q(x_o | θ).
TEST(Nle, OptionsItCannotUseAreRefused) {
  posterior::LoadedModel model = loaded(untrained_nle());
  model.meta.prior = nullptr;
  try {
    posterior::make_posterior(model, mcmc_options());
    FAIL() << "an NLE model without a prior was sampled";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("prior"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace simbi
