// The exact GBI rejection sampler and rejection ABC (mcmc/rejection.hpp), serial (MPI not started: one
// rank of one; tests/mpi checks the rank-count invariance).
//
// Ground truth for gbi_uniform_1d: the GBI posterior p(θ)·exp(−β·C(θ, x_o)) with the closed-form cost,
// its CDF by quadrature on a fine grid (the density is smooth, 600,001 points on [−1.5, 1.5]). The
// samples are checked with a one-sample Kolmogorov–Smirnov test at p > 1e-3 (fixed seeds: deterministic;
// a correct sampler fails with probability 1e-3, a wrong mode weight or a bound ignored fails by far).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <vector>

#include "simbi/core/error.hpp"
#include "simbi/mcmc/rejection.hpp"
#include "simbi/sim/exact_cost.hpp"
#include "simbi/sim/task.hpp"
#include "test_util.hpp"

namespace {

using namespace simbi;

// The exact GBI posterior of gbi_uniform_1d at (x_o, β) on a grid: CDF values and the lowest cost.
struct Quadrature {
  std::vector<double> grid, cdf;
  double min_cost = INFINITY;
  double mean_weight = 0.0;  // E_prior[exp(−β·(C − min_cost))]
  double operator()(double t) const {
    if (t <= grid.front()) return 0.0;
    if (t >= grid.back()) return 1.0;
    const size_t i = static_cast<size_t>(std::upper_bound(grid.begin(), grid.end(), t) - grid.begin());
    const double w = (t - grid[i - 1]) / (grid[i] - grid[i - 1]);
    return cdf[i - 1] + w * (cdf[i] - cdf[i - 1]);
  }
};

Quadrature uniform_1d_posterior(const sim::ExactCost& exact, float x_o, double beta) {
  Quadrature q;
  const int64_t n = 600001;
  std::vector<float> th(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) q.grid.push_back(-1.5 + 3.0 * static_cast<double>(i) / static_cast<double>(n - 1));
  for (int64_t i = 0; i < n; ++i) th[i] = static_cast<float>(q.grid[i]);
  std::vector<double> c(static_cast<size_t>(n));
  exact.cost(ConstMatrixView{th.data(), n, 1}, &x_o, c.data());
  q.min_cost = *std::min_element(c.begin(), c.end());
  std::vector<double> dens(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) dens[i] = std::exp(-beta * (c[i] - q.min_cost));
  q.cdf.assign(static_cast<size_t>(n), 0.0);
  for (int64_t i = 1; i < n; ++i) q.cdf[i] = q.cdf[i - 1] + 0.5 * (dens[i] + dens[i - 1]) * (q.grid[i] - q.grid[i - 1]);
  const double total = q.cdf.back();
  for (double& v : q.cdf) v /= total;
  q.mean_weight = total / 3.0;
  return q;
}

mcmc::CostFunction cost_of(const sim::ExactCost& exact, const float* x_o) {
  return [&exact, x_o](ConstMatrixView theta, double* out) { exact.cost(theta, x_o, out); };
}

double ks_p(const torch::Tensor& samples, const Quadrature& q) {
  const torch::Tensor s = samples.to(torch::kDouble).contiguous();
  std::vector<double> v(s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
  const double d = test::ks_statistic(v, [&q](double t) { return q(t); });
  return test::ks_pvalue(d, v.size());
}

// x_o = 0.2 is reached by f(θ) at four θ (about −1.27, −0.2, 0.4, 1.39): at β = 100 the posterior has four
// separated modes of unequal weight — what MCMC chains cannot get right and rejection must.
TEST(GbiRejection, MatchesTheQuadratureOfUniform1dAcrossModes) {
  const sim::Task task = sim::make_task("gbi_uniform_1d");
  const auto exact = sim::make_exact_cost("gbi_uniform_1d");
  const float x_o = 0.2f;
  for (const double beta : {4.0, 100.0}) {
    const Quadrature q = uniform_1d_posterior(*exact, x_o, beta);
    mcmc::RejectionOptions o;
    o.seed = 3;
    o.block_draws = 8192;
    o.pilot_draws = 50000;
    mcmc::GbiRejectionSampler sampler(*task.prior, cost_of(*exact, &x_o), o);
    // The bound lies below the true minimum (the grid's, which is within ~1e-12 of it), and not far.
    EXPECT_LE(sampler.cost_bound(), q.min_cost);
    EXPECT_GT(sampler.cost_bound(), q.min_cost - 1e-5);
    EXPECT_LE(sampler.min_cost_found(), q.min_cost + 1e-9);
    const mcmc::RejectionResult r = sampler.sample(beta, 20000, 100000000, 1);
    ASSERT_TRUE(r.complete);
    ASSERT_EQ(r.samples.size(0), 20000);
    EXPECT_EQ(r.bound_restarts, 0);
    EXPECT_EQ(r.nonfinite, 0);
    const double p = ks_p(r.samples, q);
    // Acceptance: the pilot's estimate and the run's rate both estimate E_prior[exp(−β(C − C_lo))].
    const double truth = q.mean_weight * std::exp(-beta * (q.min_cost - sampler.cost_bound()));
    const double est = sampler.estimated_acceptance(beta);
    std::cout << "[ uniform_1d ] beta " << beta << ": KS p " << p << ", acceptance " << r.acceptance_rate()
              << " (pilot " << est << ", quadrature " << truth << "), " << r.draws << " draws, bound " << r.cost_bound
              << " vs min " << q.min_cost << "\n";
    EXPECT_GT(p, 1e-3) << "beta " << beta;
    EXPECT_NEAR(r.acceptance_rate(), truth, 0.05 * truth);
    EXPECT_NEAR(est, truth, 0.1 * truth);
  }
}

// A bound that is too high (C_lo above the minimum) is caught by the first draw below it: the bound is
// lowered, the accepted set restarts, and the samples are again exact.
TEST(GbiRejection, AWrongBoundIsLoweredAndTheSampleRestarted) {
  const sim::Task task = sim::make_task("gbi_uniform_1d");
  const auto exact = sim::make_exact_cost("gbi_uniform_1d");
  const float x_o = 0.2f;
  const double beta = 100.0;
  const Quadrature q = uniform_1d_posterior(*exact, x_o, beta);
  mcmc::RejectionOptions o;
  o.seed = 4;
  o.block_draws = 4096;
  o.fixed_bound = q.min_cost + 0.01;  // wrong: every θ with C < min + 0.01 would be accepted with prob. > 1
  mcmc::GbiRejectionSampler sampler(*task.prior, cost_of(*exact, &x_o), o);
  const mcmc::RejectionResult r = sampler.sample(beta, 20000, 100000000, 0);
  ASSERT_TRUE(r.complete);
  EXPECT_GE(r.bound_restarts, 1);
  EXPECT_LE(r.cost_bound, q.min_cost);
  EXPECT_LE(sampler.cost_bound(), q.min_cost);
  EXPECT_GT(r.draws, r.epoch_draws);  // the first block(s) were discarded
  const double p = ks_p(r.samples, q);
  std::cout << "[ wrong bound ] " << r.bound_restarts << " restart(s), KS p " << p << ", bound " << r.cost_bound
            << "\n";
  EXPECT_GT(p, 1e-3);
  EXPECT_THROW(sampler.estimated_acceptance(beta), Error);  // no pilot with a fixed bound
}

// The result depends on the seed and the stream index only — not on the block grouping of the rounds —
// and a cap on the draws returns what was accepted (complete = false).
TEST(GbiRejection, CapAndDeterminism) {
  const sim::Task task = sim::make_task("two_moons");
  const auto exact = sim::make_exact_cost("two_moons");
  const float x_o[2] = {0.1f, -0.2f};
  mcmc::RejectionOptions o;
  o.seed = 9;
  o.block_draws = 2048;
  o.pilot_draws = 20000;
  mcmc::GbiRejectionSampler a(*task.prior, cost_of(*exact, x_o), o);
  o.max_blocks_per_round = 1;
  mcmc::GbiRejectionSampler b(*task.prior, cost_of(*exact, x_o), o);
  const mcmc::RejectionResult ra = a.sample(100.0, 3000, 100000000, 2), rb = b.sample(100.0, 3000, 100000000, 2);
  ASSERT_TRUE(ra.complete && rb.complete);
  EXPECT_TRUE(torch::equal(ra.samples, rb.samples));
  EXPECT_TRUE(torch::isfinite(ra.samples).all().item<bool>());
  EXPECT_LE(ra.samples.abs().max().item<float>(), 1.0f);
  const mcmc::RejectionResult other = a.sample(100.0, 3000, 100000000, 3);
  EXPECT_FALSE(torch::equal(ra.samples, other.samples));
  const mcmc::RejectionResult capped = a.sample(100.0, 3000, 5000, 2);
  EXPECT_FALSE(capped.complete);
  EXPECT_EQ(capped.draws, 5000);  // the last block cut at the cap
  EXPECT_LT(capped.samples.size(0), 3000);
  EXPECT_TRUE(torch::equal(capped.samples, ra.samples.narrow(0, 0, capped.samples.size(0))));
  EXPECT_THROW(a.sample(0.0, 10, 100, 0), Error);
  EXPECT_THROW(a.sample(1.0, 0, 100, 0), Error);
  EXPECT_THROW(a.sample(1.0, 10, 0, 0), Error);
  o.block_draws = 0;
  EXPECT_THROW(mcmc::GbiRejectionSampler(*task.prior, cost_of(*exact, x_o), o), Error);
}

// NaN costs are weight 0 (counted); a cost that is NaN everywhere is a clear error.
TEST(GbiRejection, NanCostsAreCountedAndAllNanIsAnError) {
  const sim::Task task = sim::make_task("gbi_uniform_1d");
  mcmc::RejectionOptions o;
  o.block_draws = 1024;
  o.pilot_draws = 4096;
  auto half_nan = [](ConstMatrixView th, double* out) {
    for (int64_t i = 0; i < th.rows; ++i) out[i] = th(i, 0) > 0 ? NAN : 0.5 * th(i, 0) * th(i, 0);
  };
  mcmc::GbiRejectionSampler s(*task.prior, half_nan, o);
  const mcmc::RejectionResult r = s.sample(1.0, 500, 1000000, 0);
  ASSERT_TRUE(r.complete);
  EXPECT_GT(r.nonfinite, 0);
  EXPECT_LE(r.samples.max().item<float>(), 0.0f);
  auto all_nan = [](ConstMatrixView th, double* out) { std::fill(out, out + th.rows, NAN); };
  try {
    mcmc::GbiRejectionSampler bad(*task.prior, all_nan, o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::numeric);
    EXPECT_NE(std::string(e.what()).find("NaN at all 4096 pilot draws"), std::string::npos) << e.what();
  }
}

// Rejection ABC: row i with distance d_i is accepted with probability exp(−β·d_i). Five distance classes
// of 8,000 rows each: the accepted counts per class lie within 4.5 binomial standard errors of
// 8000·exp(−β·d); unusable rows and NaN distances are skipped (and counted); the sets are nested in β.
TEST(RejectionAbc, AcceptanceMatchesTheKernel) {
  const int64_t rows = 40000;
  std::vector<uint8_t> usable(rows, 1);
  for (int64_t i = 0; i < rows; i += 100) usable[i] = 0;  // "failed" rows
  auto dist = [](int64_t first, int64_t count, double* out) {
    for (int64_t k = 0; k < count; ++k) {
      const int64_t i = first + k;
      out[k] = i % 1000 == 1 ? NAN : 0.1 * static_cast<double>(i % 5);
    }
  };
  const std::vector<double> betas{2.0, 10.0};
  mcmc::AbcOptions o;
  o.seed = 5;
  const mcmc::AbcResult r = mcmc::rejection_abc(rows, usable, dist, betas, o);
  EXPECT_EQ(r.nonfinite, 40);
  EXPECT_EQ(r.usable, rows - 400 - 40);
  ASSERT_EQ(r.accepted.size(), 2u);
  for (size_t b = 0; b < betas.size(); ++b) {
    const std::vector<int64_t>& acc = r.accepted[b];
    EXPECT_EQ(static_cast<int64_t>(acc.size()), r.accepted_count[b]);
    EXPECT_TRUE(std::is_sorted(acc.begin(), acc.end()));
    std::vector<int64_t> per_class(5, 0), class_size(5, 0);
    for (int64_t i = 0; i < rows; ++i)
      if (usable[i] && i % 1000 != 1) ++class_size[i % 5];
    for (int64_t i : acc) {
      ASSERT_TRUE(usable[i]) << "an unusable row was accepted";
      ASSERT_NE(i % 1000, 1) << "a row with a NaN distance was accepted";
      ++per_class[i % 5];
    }
    for (int c = 0; c < 5; ++c) {
      const double p = std::exp(-betas[b] * 0.1 * c), n = static_cast<double>(class_size[c]);
      const double se = std::sqrt(n * p * (1 - p)) + 1e-9;
      EXPECT_LT(std::fabs(per_class[c] - n * p), 4.5 * se + 0.5) << "beta " << betas[b] << ", class " << c;
    }
  }
  // Common random numbers: what β = 10 accepts, β = 2 accepts too.
  EXPECT_TRUE(std::includes(r.accepted[0].begin(), r.accepted[0].end(), r.accepted[1].begin(), r.accepted[1].end()));
  // The uniforms depend on (seed, stream index, row): the same call gives the same set, another seed not.
  EXPECT_EQ(mcmc::rejection_abc(rows, usable, dist, {10.0}, o).accepted[0], r.accepted[1]);
  o.seed = 6;
  EXPECT_NE(mcmc::rejection_abc(rows, usable, dist, {10.0}, o).accepted[0], r.accepted[1]);
  EXPECT_THROW(mcmc::rejection_abc(rows, usable, dist, {0.0}, o), Error);
  EXPECT_THROW(mcmc::rejection_abc(rows, usable, dist, {}, o), Error);
}

}  // namespace
