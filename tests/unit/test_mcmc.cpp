// Unit tests of the MCMC engine (serial: MPI not started, the engine runs as one rank of one).
//
// Tolerances come from the Monte-Carlo error of the run itself. For a quantity f(θ) whose kept draws
// form C chains, the MC standard error of its sample mean is se = sd(f) / sqrt(ESS(f)), with ESS(f) the
// split-chain effective sample size of the f-series (mcmc::ess_split, Stan's estimator; it accounts
// for the autocorrelation the thinning leaves). A mean is checked at |mean − truth| < 4.5·se
// (two-sided normal tail 6.8e-6 per check), a covariance entry Σ_jk through f = (θ_j − m̂_j)(θ_k − m̂_k)
// at 5·se (5.7e-7 per check; 55 entries in 10-D keep the family-wise rate < 1e-4), a variance the
// same way with f = (θ_j − m̂_j)². The seeds are fixed, so the tests are deterministic; these bounds
// say a correct sampler passes for essentially any seed, and a wrong one (a missing log-Jacobian, a
// biased bracket) fails by many standard errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>
#include <vector>

#include "simbi/core/error.hpp"
#include "simbi/core/random.hpp"
#include "simbi/mcmc/diagnostics.hpp"
#include "simbi/mcmc/modes.hpp"
#include "simbi/mcmc/potential.hpp"
#include "simbi/mcmc/sampler.hpp"
#include "simbi/sim/prior.hpp"

namespace {

using namespace simbi;
using namespace simbi::mcmc;

// Draws of f(θ) chain-major (c * n + i) from chains [C, n, d].
template <class F>
std::vector<double> series(const torch::Tensor& chains, F f) {
  const torch::Tensor t = chains.to(torch::kFloat64).contiguous();
  const int64_t c = t.size(0), n = t.size(1), d = t.size(2);
  const double* p = t.data_ptr<double>();
  std::vector<double> out(static_cast<size_t>(c * n));
  for (int64_t i = 0; i < c * n; ++i) out[i] = f(p + i * d);
  return out;
}

struct McMean {
  double mean = 0.0, se = 0.0, ess = 0.0;
};
// Sample mean of a chain-major series and its MC standard error sd / sqrt(ESS_split).
McMean mc_mean(const std::vector<double>& x, int64_t chains) {
  const int64_t total = static_cast<int64_t>(x.size()), n = total / chains;
  double s = 0.0;
  for (double v : x) s += v;
  const double mean = s / static_cast<double>(total);
  double ss = 0.0;
  for (double v : x) ss += (v - mean) * (v - mean);
  const double sd = std::sqrt(ss / static_cast<double>(total - 1));
  const double e = ess_split(x.data(), chains, n);
  return {mean, sd / std::sqrt(e), e};
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The AR(1) covariance ρ^|i−j| (row-major, float64 [d, d]).
torch::Tensor ar1_cov(int64_t d, double rho) {
  torch::Tensor s = torch::empty({d, d}, torch::kFloat64);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < d; ++j) s[i][j] = std::pow(rho, std::abs(static_cast<double>(i - j)));
  return s;
}

// Posterior N(m, S) of prior N(0, τ²I) times a Gaussian potential N(θ; μ, Σ) (up to a constant),
// and the potential as a float64 torch function.
struct GaussianProblem {
  int64_t d = 10;
  double prior_sd = 3.0;
  torch::Tensor mu, sigma_inv, post_mean, post_cov;
  std::unique_ptr<sim::Prior> prior;
  std::unique_ptr<Potential> potential;

  GaussianProblem() {
    mu = torch::linspace(-1.0, 1.0, d, torch::kFloat64);
    sigma_inv = torch::linalg::inv(ar1_cov(d, 0.8));
    const torch::Tensor precision = sigma_inv + torch::eye(d, torch::kFloat64) / (prior_sd * prior_sd);
    post_cov = torch::linalg::inv(precision);
    post_cov = 0.5 * (post_cov + post_cov.t());
    post_mean = post_cov.matmul(sigma_inv.matmul(mu));
    prior = sim::make_gaussian(std::vector<double>(d, 0.0), [&] {
      std::vector<double> c(static_cast<size_t>(d * d), 0.0);
      for (int64_t i = 0; i < d; ++i) c[i * d + i] = prior_sd * prior_sd;
      return c;
    }());
    const torch::Tensor m = mu, p = sigma_inv;
    potential = make_potential(
        [m, p](const torch::Tensor& theta) {
          const torch::Tensor z = theta - m;
          return -0.5 * (z.matmul(p) * z).sum(1);
        },
        torch::kFloat64, d);
  }

  // Means within 4.5 se, covariances within 5 se, R-hat < 1.01 (see the top of the file).
  void check(const McmcResult& r, const char* what) const {
    ASSERT_TRUE(r.chains.defined());
    const int64_t c = r.chains.size(0);
    const torch::Tensor m_hat = r.chains.to(torch::kFloat64).reshape({-1, d}).mean(0);
    double worst_mean = 0.0, worst_cov = 0.0;
    for (int64_t j = 0; j < d; ++j) {
      const McMean mm = mc_mean(series(r.chains, [j](const double* th) { return th[j]; }), c);
      const double z = std::fabs(mm.mean - post_mean[j].item<double>()) / mm.se;
      worst_mean = std::max(worst_mean, z);
      EXPECT_LT(z, 4.5) << what << ": mean of θ" << j + 1 << " = " << mm.mean << ", exact "
                        << post_mean[j].item<double>() << ", se " << mm.se << " (ESS " << mm.ess << ")";
      for (int64_t k = 0; k <= j; ++k) {
        const double mj = m_hat[j].item<double>(), mk = m_hat[k].item<double>();
        const McMean cv = mc_mean(series(r.chains, [=](const double* th) { return (th[j] - mj) * (th[k] - mk); }), c);
        const double zc = std::fabs(cv.mean - post_cov[j][k].item<double>()) / cv.se;
        worst_cov = std::max(worst_cov, zc);
        EXPECT_LT(zc, 5.0) << what << ": cov(θ" << j + 1 << ", θ" << k + 1 << ") = " << cv.mean << ", exact "
                           << post_cov[j][k].item<double>() << ", se " << cv.se;
      }
    }
    ASSERT_TRUE(r.diagnostics.computed);
    EXPECT_LT(r.diagnostics.max_rhat, 1.01) << what;
    std::cout << "[ " << what << " ] " << r.draws_per_chain << " draws x " << r.num_chains << " chains, max R-hat "
              << r.diagnostics.max_rhat << ", min bulk ESS " << r.diagnostics.min_ess_bulk << ", worst |z| mean "
              << worst_mean << " cov " << worst_cov << ", " << r.potential_calls << " calls, "
              << r.potential_evaluations << " evals, " << r.wall_seconds << " s\n";
  }
};

TEST(Mcmc, SliceSamples10dCorrelatedGaussian) {
  const auto t0 = std::chrono::steady_clock::now();
  GaussianProblem g;
  McmcOptions o;
  o.chains = 16;
  o.warmup = 100;
  o.thin = 4;
  o.seed = 11;
  o.init_candidates = 1000;
  const int64_t n = 16 * 700;
  const McmcResult r = run_mcmc(*g.prior, g.potential.get(), n, o);
  EXPECT_EQ(r.samples.size(0), n);
  EXPECT_EQ(r.samples.size(1), 10);
  g.check(r, "slice 10-D AR(1) 0.8");
  EXPECT_EQ(r.nonfinite_evaluations, 0);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  EXPECT_LT(seconds_since(t0), 60.0);
}

TEST(Mcmc, RandomWalkMetropolisSamples10dCorrelatedGaussian) {
  GaussianProblem g;
  McmcOptions o;
  o.sampler = SamplerKind::rwm;
  o.chains = 16;
  o.warmup = 1500;
  o.thin = 4;
  o.seed = 12;
  o.init_candidates = 1000;
  const McmcResult r = run_mcmc(*g.prior, g.potential.get(), 16 * 2500, o);
  g.check(r, "rwm 10-D AR(1) 0.8");
  // After adaptation the acceptance rate is near the 0.234 the scale aims at.
  EXPECT_GT(r.acceptance_rate, 0.12);
  EXPECT_LT(r.acceptance_rate, 0.40);
  std::cout << "[ rwm ] acceptance " << r.acceptance_rate << "\n";
}

// Haario et al.'s twisted Gaussian: x1 ~ N(0, a²), x2 | x1 ~ N(−b(x1² − a²), 1), so E = (0, 0),
// Var x1 = a², Var x2 = 1 + 2b²a⁴. Under a box prior (logit bijection: the log-Jacobian matters).
// Two Gaussian modes 8 sd apart with masses 0.3 and 0.7: slice sampling alone cannot cross the gap
// (measured: the chains keep their initial mode, R̂ well above 1.05), so the share of draws per mode is
// only as good as the initialisation. With mode jumps the chains move between the modes: R̂ ≤ 1.01 and
// the share of the right mode within 4.5 MC standard errors of 0.7 (f = 1[θ₁ > 0]).
McmcResult bimodal_run(int64_t mode_jumps) {
  auto prior = sim::make_gaussian({0.0, 0.0}, {25.0, 0.0, 0.0, 25.0});
  auto potential = make_potential(
      [](const torch::Tensor& th) {
        const torch::Tensor a = -0.5 * ((th.select(1, 0) + 4).pow(2) + th.select(1, 1).pow(2)) / 0.25;
        const torch::Tensor b = -0.5 * ((th.select(1, 0) - 4).pow(2) + th.select(1, 1).pow(2)) / 0.25;
        // the prior's own log density is added by the engine: divide it out so π is the mixture
        const torch::Tensor log_prior = -0.5 * th.pow(2).sum(1) / 25.0;
        return torch::logsumexp(torch::stack({a + std::log(0.3), b + std::log(0.7)}), 0) - log_prior;
      },
      torch::kFloat32, 2);
  McmcOptions o;
  o.chains = 20;
  o.warmup = 100;
  o.thin = 5;
  o.seed = 4;
  o.init_candidates = 200;
  o.mode_jumps = mode_jumps;
  o.mode_clusters = 2;
  return run_mcmc(*prior, potential.get(), 20 * 400, o);
}

TEST(Mcmc, ModeJumpsMixSeparatedModesInProportion) {
  const McmcResult stuck = bimodal_run(0);
  std::cout << "[ bimodal ] without jumps: max R-hat " << stuck.diagnostics.max_rhat << "\n";
  EXPECT_GT(stuck.diagnostics.max_rhat, 1.05) << "the control mixes on its own: the test cannot tell";
  const McmcResult r = bimodal_run(10);
  const McMean share = mc_mean(series(r.chains, [](const double* th) { return th[0] > 0 ? 1.0 : 0.0; }), 20);
  std::cout << "[ bimodal ] with jumps: max R-hat " << r.diagnostics.max_rhat << ", share right " << share.mean << " ± "
            << share.se << ", jumps accepted " << r.jumps_accepted << " of " << r.jumps_proposed << "\n";
  EXPECT_LE(r.diagnostics.max_rhat, 1.01);
  EXPECT_LT(std::fabs(share.mean - 0.7) / share.se, 4.5);
  EXPECT_GT(r.jumps_accepted, 0);
  // The occupancy report tells the two runs apart: with jumps every chain visits both modes and the
  // larger one (centre θ₁ = 4) holds the share measured above; without, chains keep their initial mode.
  std::cout << "[ bimodal ] occupancy without jumps: " << stuck.occupancy.summary()
            << "; with: " << r.occupancy.summary() << "\n";
  ASSERT_EQ(r.occupancy.modes, 2);
  EXPECT_EQ(r.occupancy.chains_visiting_all, 20);
  EXPECT_NEAR(r.occupancy.shares[0], share.mean, 1e-9);
  EXPECT_NEAR(r.occupancy.centers[0][0].item<double>(), 4.0, 0.2);
  EXPECT_LT(stuck.occupancy.chains_visiting_all, 20);
  EXPECT_GT(stuck.occupancy.max_share_gap, 0.5);
}

// mode_occupancy on draws whose modes are known: three blobs 10+ sd apart, ten chains drawing from all
// three (masses 0.5, 0.3, 0.2) and two chains stuck in the third. k-means recovers every draw's blob, so
// the pooled shares are the exact label counts, the stuck chains have share 1 in their mode, and exactly
// the ten mixing chains visit every mode (missing a mode of mass 0.2 in 200 draws: 0.8^200).
TEST(McmcModes, OccupancyOfKnownModes) {
  const int64_t m = 12, n = 200;
  const double cx[3] = {-5.0, 5.0, 0.0}, cy[3] = {0.0, 0.0, 8.0}, w[3] = {0.5, 0.3, 0.2};
  torch::Tensor chains = torch::empty({m, n, 2}, torch::kFloat64);
  std::vector<int64_t> count(3, 0);
  std::vector<int64_t> stuck_blob(m, -1);
  for (int64_t c = 0; c < m; ++c) {
    RandomStream rs(3, StreamPurpose::test, static_cast<uint64_t>(c));
    for (int64_t i = 0; i < n; ++i) {
      const double u = rs.uniform();
      const int64_t b = c >= 10 ? 2 : (u < w[0] ? 0 : (u < w[0] + w[1] ? 1 : 2));
      if (c >= 10) stuck_blob[c] = b;
      ++count[b];
      chains[c][i][0] = cx[b] + 0.3 * rs.normal();
      chains[c][i][1] = cy[b] + 0.3 * rs.normal();
    }
  }
  const ModeOccupancy o = mode_occupancy(chains, 3, 1);
  std::cout << "[ modes ] " << o.summary() << "\n";
  ASSERT_EQ(o.modes, 3);
  std::vector<double> expected;
  for (int64_t b = 0; b < 3; ++b) expected.push_back(static_cast<double>(count[b]) / (m * n));
  std::sort(expected.rbegin(), expected.rend());
  for (int64_t j = 0; j < 3; ++j) EXPECT_DOUBLE_EQ(o.shares[j], expected[j]) << "mode " << j;
  EXPECT_EQ(o.chains_visiting_all, 10);
  for (int64_t c = 10; c < m; ++c) EXPECT_DOUBLE_EQ(o.chain_shares[c].max().item<double>(), 1.0) << "chain " << c;
  // The stuck chains' mode has its centre at the third blob.
  const int64_t j = o.chain_shares[10].argmax().item<int64_t>();
  EXPECT_NEAR(o.centers[j][0].item<double>(), cx[2], 0.1);
  EXPECT_NEAR(o.centers[j][1].item<double>(), cy[2], 0.1);
  EXPECT_GT(o.max_share_gap, 0.6);
  EXPECT_THROW(mode_occupancy(chains, 0, 1), Error);
  EXPECT_THROW(mode_occupancy(chains, m * n + 1, 1), Error);
}

TEST(Mcmc, ModeJumpOptionsAreChecked) {
  auto prior = sim::make_gaussian({0.0}, {1.0});
  McmcOptions o;
  o.mode_jumps = -1;
  EXPECT_THROW(run_mcmc(*prior, nullptr, 100, o), Error);
  o.mode_jumps = 2;
  o.chains = 1;
  o.diagnostics = false;
  EXPECT_THROW(run_mcmc(*prior, nullptr, 100, o), Error);
}

TEST(Mcmc, SliceSamplesBananaUnderBoxPrior) {
  const double a = 1.0, b = 1.0;
  auto prior = sim::make_box_uniform({-8.0, -30.0}, {8.0, 10.0});
  auto potential = make_potential(
      [a, b](const torch::Tensor& th) {
        const torch::Tensor x1 = th.select(1, 0), x2 = th.select(1, 1);
        const torch::Tensor y2 = x2 + b * (x1 * x1 - a * a);
        return -0.5 * (x1 * x1) / (a * a) - 0.5 * y2 * y2;
      },
      torch::kFloat32, 2);
  McmcOptions o;
  o.chains = 16;
  o.warmup = 100;
  o.thin = 2;
  o.seed = 21;
  o.init_candidates = 2000;
  const McmcResult r = run_mcmc(*prior, potential.get(), 16 * 1500, o);
  const int64_t c = r.num_chains;
  const double var_truth[2] = {a * a, 1.0 + 2.0 * b * b * a * a * a * a};
  for (int j = 0; j < 2; ++j) {
    const McMean mm = mc_mean(series(r.chains, [j](const double* th) { return th[j]; }), c);
    EXPECT_LT(std::fabs(mm.mean) / mm.se, 4.5) << "mean of x" << j + 1 << " = " << mm.mean << ", se " << mm.se;
    const double m = mm.mean;
    const McMean vv = mc_mean(series(r.chains, [j, m](const double* th) { return (th[j] - m) * (th[j] - m); }), c);
    EXPECT_LT(std::fabs(vv.mean - var_truth[j]) / vv.se, 5.0)
        << "var of x" << j + 1 << " = " << vv.mean << ", exact " << var_truth[j] << ", se " << vv.se;
    std::cout << "[ banana ] x" << j + 1 << ": mean " << mm.mean << " ± " << mm.se << ", var " << vv.mean << " ± "
              << vv.se << " (exact " << var_truth[j] << ")\n";
  }
  EXPECT_LT(r.diagnostics.max_rhat, 1.01);
  std::cout << "[ banana ] max R-hat " << r.diagnostics.max_rhat << ", min bulk ESS " << r.diagnostics.min_ess_bulk
            << ", " << r.wall_seconds << " s\n";
}

// A Gaussian-ish potential whose mass sits against the faces of the unit box: every draw stays in
// [0, 1]², and each coordinate's mean is the truncated normal's.
TEST(Mcmc, BoxPriorSamplesNeverLeaveTheSupport) {
  auto prior = sim::make_box_uniform({0.0, 0.0}, {1.0, 1.0});
  const double mu[2] = {0.02, 0.97}, sd[2] = {0.05, 0.1};
  auto potential = make_potential(
      [=](const torch::Tensor& th) {
        const torch::Tensor z1 = (th.select(1, 0) - mu[0]) / sd[0], z2 = (th.select(1, 1) - mu[1]) / sd[1];
        return -0.5 * (z1 * z1 + z2 * z2);
      },
      torch::kFloat32, 2);
  McmcOptions o;
  o.chains = 16;
  o.warmup = 100;
  o.thin = 2;
  o.seed = 31;
  o.init_candidates = 1000;
  const McmcResult r = run_mcmc(*prior, potential.get(), 16 * 1000, o);
  const torch::Tensor s = r.chains.reshape({-1, 2});
  EXPECT_TRUE(torch::isfinite(s).all().item<bool>());
  EXPECT_GE(s.min().item<float>(), 0.0f);
  EXPECT_LE(s.max().item<float>(), 1.0f);
  const torch::Tensor sc = s.contiguous();
  for (int64_t i = 0; i < sc.size(0); ++i) ASSERT_TRUE(prior->in_support(sc.data_ptr<float>() + i * 2)) << "row " << i;
  auto phi = [](double x) { return std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI); };
  auto Phi = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); };
  for (int j = 0; j < 2; ++j) {
    const double al = (0.0 - mu[j]) / sd[j], be = (1.0 - mu[j]) / sd[j];
    const double truth = mu[j] + sd[j] * (phi(al) - phi(be)) / (Phi(be) - Phi(al));
    const McMean mm = mc_mean(series(r.chains, [j](const double* th) { return th[j]; }), r.num_chains);
    EXPECT_LT(std::fabs(mm.mean - truth) / mm.se, 4.5) << "θ" << j + 1 << " mean " << mm.mean << " vs " << truth;
  }
  EXPECT_LT(r.diagnostics.max_rhat, 1.01);
  std::cout << "[ box ] min " << s.min().item<float>() << ", max " << s.max().item<float>() << ", max R-hat "
            << r.diagnostics.max_rhat << "\n";
}

// NaN from the potential is -inf for that point: counted, reported, never in the state. Here it is NaN
// for θ1 > 0.5 under a N(0, I) prior, so the target is the prior cut at θ1 ≤ 0.5.
TEST(Mcmc, NanPotentialIsCountedReportedAndRejected) {
  auto prior = sim::make_gaussian({0.0, 0.0}, {1.0, 0.0, 0.0, 1.0});
  auto potential = make_potential([](const torch::Tensor& th) {
    const torch::Tensor x1 = th.select(1, 0);
    return torch::where(x1 > 0.5, torch::full_like(x1, std::numeric_limits<float>::quiet_NaN()), torch::zeros_like(x1));
  });
  McmcOptions o;
  o.chains = 8;
  o.warmup = 50;
  o.thin = 2;
  o.seed = 41;
  o.init_candidates = 100;
  const McmcResult r = run_mcmc(*prior, potential.get(), 8 * 500, o);
  EXPECT_GT(r.nonfinite_evaluations, 0);
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_NE(r.warnings.front().find("NaN"), std::string::npos) << r.warnings.front();
  EXPECT_TRUE(torch::isfinite(r.samples).all().item<bool>());
  EXPECT_LE(r.samples.select(1, 0).max().item<float>(), 0.5f);
  // E[θ1 | θ1 ≤ 0.5] = −φ(0.5)/Φ(0.5).
  const double truth = -std::exp(-0.125) / std::sqrt(2.0 * M_PI) / (0.5 * std::erfc(-0.5 / std::sqrt(2.0)));
  const McMean mm = mc_mean(series(r.chains, [](const double* th) { return th[0]; }), r.num_chains);
  EXPECT_LT(std::fabs(mm.mean - truth) / mm.se, 4.5) << mm.mean << " vs " << truth;
  std::cout << "[ nan ] " << r.warnings.front() << "\n";

  // NaN everywhere: no chain can start; a clear error, not a hang.
  auto all_nan = make_potential(
      [](const torch::Tensor& th) { return torch::full({th.size(0)}, std::numeric_limits<float>::quiet_NaN()); });
  try {
    run_mcmc(*prior, all_nan.get(), 100, o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::numeric);
    EXPECT_NE(std::string(e.what()).find("-inf or NaN at all 100 prior candidates"), std::string::npos) << e.what();
  }
}

// Chain c depends on (seed, chain index) only: the first chains of a larger run are bit-identical.
// This is what makes a run identical for any number of ranks (tests/mpi checks that directly).
TEST(Mcmc, SliceChainsDependOnSeedAndChainIndexOnly) {
  auto prior = sim::make_box_uniform({-3.0, -3.0}, {3.0, 3.0});
  auto potential = make_potential([](const torch::Tensor& th) { return -0.5 * (th * th).sum(1) - th.select(1, 0); });
  McmcOptions o;
  o.chains = 3;
  o.warmup = 20;
  o.thin = 1;
  o.seed = 5;
  o.init_candidates = 50;
  o.diagnostics = false;
  const McmcResult small = run_mcmc(*prior, potential.get(), 3 * 40, o);
  o.chains = 7;
  const McmcResult large = run_mcmc(*prior, potential.get(), 7 * 40, o);
  EXPECT_TRUE(torch::equal(small.chains, large.chains.narrow(0, 0, 3)));
  o.stream_index = 1;
  const McmcResult other = run_mcmc(*prior, potential.get(), 7 * 40, o);
  EXPECT_FALSE(torch::equal(other.chains, large.chains));
}

// InitKind::given: chain c starts at row c of initial_states — no prior candidates are evaluated, and in
// two modes separated by a barrier of density e^-200 (no mode jumps) every chain stays in the mode it was
// started in. Starts of the wrong size or outside the prior's support are one-line errors.
TEST(Mcmc, GivenInitialStatesStartTheChains) {
  auto prior = sim::make_box_uniform({-3.0}, {3.0});
  auto potential = make_potential([](const torch::Tensor& th) {
    const torch::Tensor t = th.select(1, 0);
    return torch::logaddexp(-0.5 * ((t - 2.0) / 0.1).pow(2), -0.5 * ((t + 2.0) / 0.1).pow(2));
  });
  McmcOptions o;
  o.chains = 8;
  o.warmup = 10;
  o.thin = 1;
  o.diagnostics = false;
  o.init = InitKind::given;
  for (int64_t c = 0; c < o.chains; ++c) o.initial_states.push_back(c % 3 == 0 ? -2.05f : 1.9f);
  const McmcResult r = run_mcmc(*prior, potential.get(), 8 * 50, o);
  EXPECT_EQ(r.init_evaluations, o.chains);  // the initial states' log density only
  for (int64_t c = 0; c < o.chains; ++c) {
    const double m = r.chains[c].mean().item<double>();
    EXPECT_NEAR(m, c % 3 == 0 ? -2.0 : 2.0, 0.1) << "chain " << c;
  }
  auto expect_error = [&](const McmcOptions& bad, const std::string& text) {
    try {
      run_mcmc(*prior, potential.get(), 80, bad);
      ADD_FAILURE() << "expected an error containing '" << text << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  McmcOptions short_states = o;
  short_states.initial_states.pop_back();
  expect_error(short_states, "given initial states hold 7 values, expected chains x 1 = 8");
  McmcOptions outside = o;
  outside.initial_states[5] = 3.5f;
  expect_error(outside, "initial state of chain 5 is outside the prior's support");
}

// Every potential evaluation is one batched call over the chains still working: no call has more rows
// than 2 × chains (stepping out on both sides), and the result's counters match the potential's.
TEST(Mcmc, EveryPotentialEvaluationIsOneBatchedCall) {
  auto prior = sim::make_gaussian({0.0, 0.0, 0.0}, {1, 0, 0, 0, 1, 0, 0, 0, 1});
  int64_t calls = 0, rows = 0, max_rows = 0;
  auto potential = make_potential([&](const torch::Tensor& th) {
    ++calls;
    rows += th.size(0);
    max_rows = std::max(max_rows, th.size(0));
    return -0.5 * (th * th).sum(1);
  });
  McmcOptions o;
  o.chains = 10;
  o.warmup = 10;
  o.thin = 1;
  o.init_candidates = 100;
  o.max_batch_rows = 20;
  const McmcResult r = run_mcmc(*prior, potential.get(), 10 * 20, o);
  // Initialisation: 1000 candidates in calls of at most 20 rows, then the 10 initial states in one call.
  EXPECT_EQ(r.init_evaluations, 10 * 100 + 10);
  EXPECT_EQ(calls, r.potential_calls + 10 * 100 / 20 + 1);
  EXPECT_EQ(rows, r.potential_evaluations + r.init_evaluations);
  EXPECT_GT(r.evaluations_per_second(), 0.0);
  EXPECT_EQ(r.iterations, 10 + 20);
  // Per coordinate update: stepping-out calls (≤ 2 × chains rows each) then shrinkage (≤ chains rows).
  EXPECT_LE(max_rows, 20);
  EXPECT_GE(r.potential_calls, r.iterations * 3 * 2);
  EXPECT_GT(static_cast<double>(r.potential_evaluations) / static_cast<double>(r.potential_calls), 5.0);
}

TEST(Mcmc, BadInputIsAClearError) {
  auto prior = sim::make_box_uniform({0.0, 0.0}, {1.0, 1.0});
  auto pot = make_potential([](const torch::Tensor& th) { return th.sum(1); }, torch::kFloat32, 2);
  auto expect_error = [&](Potential* p, int64_t n, const McmcOptions& o, const std::string& text) {
    try {
      run_mcmc(*prior, p, n, o);
      ADD_FAILURE() << "expected an error containing '" << text << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_argument) << e.what();
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line: " << e.what();
    }
  };
  McmcOptions o;
  o.chains = 4;
  o.warmup = 5;
  o.init_candidates = 10;
  expect_error(pot.get(), 0, o, "number of samples must be positive");
  expect_error(pot.get(), -5, o, "number of samples must be positive");
  McmcOptions one = o;
  one.chains = 1;
  expect_error(pot.get(), 10, one, "R-hat needs at least 2 chains, got 1");
  one.diagnostics = false;
  EXPECT_EQ(run_mcmc(*prior, pot.get(), 10, one).samples.size(0), 10);
  auto three = make_potential([](const torch::Tensor& th) { return th.sum(1); }, torch::kFloat32, 3);
  expect_error(three.get(), 10, o, "the potential is over 3 parameters but the prior over 2");
  auto wrong_shape = make_potential([](const torch::Tensor& th) { return th; });
  expect_error(wrong_shape.get(), 10, o, "expected shape [");
  McmcOptions thin0 = o;
  thin0.thin = 0;
  expect_error(pot.get(), 10, thin0, "thinning must be >= 1");
  EXPECT_THROW(parse_sampler("hmc"), Error);
  EXPECT_EQ(parse_sampler("rwm"), SamplerKind::rwm);
}

// The requested total count exactly, with ceil(n / chains) draws per chain; few draws per chain: the
// diagnostics are skipped with a warning instead of failing.
TEST(Mcmc, ExactCountAndSkippedDiagnostics) {
  auto prior = sim::make_box_uniform({0.0}, {1.0});
  McmcOptions o;
  o.chains = 7;
  o.warmup = 5;
  o.thin = 1;
  const McmcResult r = run_mcmc(*prior, nullptr, 30, o);  // the prior alone
  EXPECT_EQ(r.samples.size(0), 30);
  EXPECT_EQ(r.draws_per_chain, 5);
  EXPECT_EQ(r.chains.size(0), 7);
  EXPECT_FALSE(r.diagnostics.computed);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("need at least 8"), std::string::npos);
  // Draw-major order: row i is draw i / 7 of chain i % 7.
  EXPECT_TRUE(torch::equal(r.samples[9], r.chains[2][1]));
}

// ---- diagnostics on synthetic chains with known answers ----

std::vector<double> ar1_chains(int64_t m, int64_t n, double rho, const std::vector<double>& means, uint64_t seed) {
  std::vector<double> x(static_cast<size_t>(m * n));
  for (int64_t c = 0; c < m; ++c) {
    RandomStream rs(seed, StreamPurpose::test, static_cast<uint64_t>(c));
    double v = rs.normal();
    for (int64_t i = 0; i < n; ++i) {
      x[c * n + i] = means[c] + v;
      v = rho * v + std::sqrt(1.0 - rho * rho) * rs.normal();
    }
  }
  return x;
}

TEST(McmcDiagnostics, IidChainsHaveRhatOneAndEssN) {
  const int64_t m = 4, n = 2000;
  const auto x = ar1_chains(m, n, 0.0, std::vector<double>(m, 0.0), 1);
  EXPECT_NEAR(split_rhat(x.data(), m, n), 1.0, 0.005);
  EXPECT_NEAR(rank_normalized_split_rhat(x.data(), m, n), 1.0, 0.005);
  EXPECT_NEAR(ess_bulk(x.data(), m, n) / (m * n), 1.0, 0.1);
  EXPECT_NEAR(ess_split(x.data(), m, n) / (m * n), 1.0, 0.1);
  EXPECT_NEAR(ess(x.data(), m, n) / (m * n), 1.0, 0.1);
}

TEST(McmcDiagnostics, ChainsWithDifferentMeansHaveLargeRhat) {
  const int64_t m = 4, n = 1000;
  const auto x = ar1_chains(m, n, 0.0, {0.0, 0.0, 0.0, 2.0}, 2);
  EXPECT_GT(split_rhat(x.data(), m, n), 1.2);
  EXPECT_GT(rank_normalized_split_rhat(x.data(), m, n), 1.2);
  EXPECT_LT(ess_bulk(x.data(), m, n), 0.2 * m * n);
}

// AR(1) with coefficient ρ: integrated autocorrelation time (1 + ρ)/(1 − ρ), so ESS ≈ N(1 − ρ)/(1 + ρ).
TEST(McmcDiagnostics, Ar1ChainsHaveTheKnownEss) {
  const int64_t m = 4, n = 10000;
  for (double rho : {0.5, 0.8}) {
    const auto x = ar1_chains(m, n, rho, std::vector<double>(m, 0.0), 3);
    const double expected = static_cast<double>(m * n) * (1.0 - rho) / (1.0 + rho);
    EXPECT_NEAR(ess(x.data(), m, n) / expected, 1.0, 0.12) << "rho " << rho;
    EXPECT_NEAR(ess_split(x.data(), m, n) / expected, 1.0, 0.12) << "rho " << rho;
    EXPECT_NEAR(ess_bulk(x.data(), m, n) / expected, 1.0, 0.12) << "rho " << rho;
    EXPECT_LT(rank_normalized_split_rhat(x.data(), m, n), 1.01);
  }
}

// Chains exploring one distribution have offsets of about N(0, 1) (AR(1) too: the standard error uses
// each chain's own ESS), so none of 40 chains x 2 dimensions passes 6; one chain moved by a few posterior
// sds (a chain stuck in another mode) is the only one flagged, and the largest offset is its.
TEST(McmcDiagnostics, ChainsOffThePoolAreFlagged) {
  const int64_t m = 40, n = 400;
  for (double rho : {0.0, 0.7}) {
    const auto a = ar1_chains(m, n, rho, std::vector<double>(m, 0.0), 11);
    const std::vector<double> z = chain_offsets(a.data(), m, n);
    double zmax = 0;
    for (double v : z) zmax = std::max(zmax, v);
    EXPECT_LT(zmax, 4.5) << "rho " << rho;  // P(max of 40 |N(0,1)| > 4.5) ≈ 3e-4
    std::vector<double> means(m, 0.0);
    means[17] = 2.0;
    const auto b = ar1_chains(m, n, rho, means, 12);
    const std::vector<double> w = chain_offsets(b.data(), m, n);
    // 2 / (sd / √ESS_c): about 40 for iid draws (ESS 400), 16 for ρ = 0.7 (ESS ≈ 400·0.3/1.7).
    EXPECT_GT(w[17], 10.0) << "rho " << rho;
    for (int64_t c = 0; c < m; ++c)
      if (c != 17) EXPECT_LT(w[c], 4.5) << "rho " << rho << " chain " << c;
  }
  // diagnose() lists the flagged chains over all dimensions.
  torch::Tensor ch = torch::randn({40, 400, 2}, torch::kFloat64);
  EXPECT_TRUE(diagnose(ch).off_chains.empty());
  ch[5].select(1, 1) += 3.0;
  ch[31].select(1, 0) -= 3.0;
  const Diagnostics dg = diagnose(ch);
  EXPECT_EQ(dg.off_chains, (std::vector<int64_t>{5, 31}));
  EXPECT_GT(dg.max_chain_offset, 30.0);
}

TEST(McmcDiagnostics, HandComputedValuesAndEdgeCases) {
  // Two chains 1..4 and 5..8 split into (1,2), (3,4), (5,6), (7,8): W = 0.5, var of means 20/3,
  // R̂ = sqrt((½·0.5 + 20/3) / 0.5) = sqrt(83/6).
  const std::vector<double> x = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_NEAR(split_rhat(x.data(), 2, 4), std::sqrt(83.0 / 6.0), 1e-12);
  // Odd length: the middle draw is dropped.
  const std::vector<double> y = {1, 2, 100, 3, 4, 5, 6, -100, 7, 8};
  EXPECT_NEAR(split_rhat(y.data(), 2, 5), std::sqrt(83.0 / 6.0), 1e-12);
  // Rank normalisation with ties: Φ⁻¹((r − 3/8)/(S + 1/4)).
  const std::vector<double> t = {10, 30, 20, 20};
  const auto z = rank_normalize(t.data(), 4);
  EXPECT_NEAR(z[0], -1.0491313979639, 1e-9);  // r = 1: Φ⁻¹(0.625/4.25)
  EXPECT_NEAR(z[1], 1.0491313979639, 1e-9);   // r = 4
  EXPECT_NEAR(z[2], 0.0, 1e-12);              // r = 2.5 (tie)
  EXPECT_EQ(z[2], z[3]);
  // Constant draws: undefined; constant but different chains: infinite.
  const std::vector<double> c1(8, 1.0);
  EXPECT_TRUE(std::isnan(split_rhat(c1.data(), 2, 4)));
  const std::vector<double> c2 = {1, 1, 1, 1, 2, 2, 2, 2};
  EXPECT_TRUE(std::isinf(split_rhat(c2.data(), 2, 4)));
  EXPECT_TRUE(std::isnan(ess(x.data(), 2, 3)));
  // diagnose() over [chains, draws, dims].
  const torch::Tensor ch = torch::randn({4, 500, 3}, torch::kFloat64);
  const Diagnostics dg = diagnose(ch);
  ASSERT_TRUE(dg.computed);
  EXPECT_LT(dg.max_rhat, 1.02);
  EXPECT_GT(dg.min_ess_bulk, 1000.0);
  EXPECT_FALSE(diagnose(torch::randn({1, 500, 3})).computed);
}

}  // namespace
