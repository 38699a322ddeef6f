// The MCMC engine over MPI (run under mpiexec -n 2): chains split across ranks give exactly the chains of
// a one-rank run (each rank also runs all chains alone over MPI_COMM_SELF for the comparison), the
// requested total count, and errors raised on one rank end every rank with the same message.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>

#include "simbi/core/error.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/mcmc/sampler.hpp"
#include "simbi/sim/prior.hpp"

namespace {

using namespace simbi;
using namespace simbi::mcmc;

// A banana-shaped potential built from row-wise operations only, so a row's value does not depend on
// the rest of the batch (the condition for bit-identical chains on any number of ranks).
std::unique_ptr<Potential> banana() {
  return make_potential(
      [](const torch::Tensor& th) {
        const torch::Tensor x1 = th.select(1, 0), x2 = th.select(1, 1);
        const torch::Tensor y2 = x2 + 0.5 * (x1 * x1 - 1.0);
        return -0.5 * x1 * x1 - 0.5 * y2 * y2;
      },
      torch::kFloat32, 2);
}

McmcOptions small_options(SamplerKind kind) {
  McmcOptions o;
  o.sampler = kind;
  o.chains = 10;
  o.warmup = kind == SamplerKind::rwm ? 200 : 40;
  o.thin = 2;
  o.seed = 77;
  o.init_candidates = 500;
  return o;
}

void expect_same_run(const McmcResult& world, const McmcResult& self, int64_t n) {
  if (dist::rank() == 0) {
    ASSERT_TRUE(world.samples.defined());
    EXPECT_EQ(world.samples.size(0), n);
    EXPECT_TRUE(torch::equal(world.chains, self.chains)) << "2-rank chains differ from the 1-rank chains";
    EXPECT_TRUE(torch::equal(world.samples, self.samples));
  } else {
    EXPECT_FALSE(world.samples.defined());  // gathered on rank 0 only
  }
  // Diagnostics are broadcast: every rank holds rank 0's values, equal to the one-rank run's.
  EXPECT_EQ(world.diagnostics.computed, self.diagnostics.computed);
  auto same = [](double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); };
  ASSERT_EQ(world.diagnostics.rhat.size(), self.diagnostics.rhat.size());
  for (size_t j = 0; j < self.diagnostics.rhat.size(); ++j) {
    EXPECT_PRED2(same, world.diagnostics.rhat[j], self.diagnostics.rhat[j]);
    EXPECT_PRED2(same, world.diagnostics.ess_bulk[j], self.diagnostics.ess_bulk[j]);
  }
  // Every chain evaluates the same points wherever it runs: the row counts agree (the calls do not).
  EXPECT_EQ(world.potential_evaluations, self.potential_evaluations);
  EXPECT_EQ(world.init_evaluations, self.init_evaluations);
  EXPECT_EQ(world.nonfinite_evaluations, self.nonfinite_evaluations);
}

TEST(McmcDistributed, SliceChainsOnTwoRanksAreTheChainsOfOneRank) {
  auto prior = sim::make_box_uniform({-6.0, -12.0}, {6.0, 6.0});
  auto pot = banana();
  McmcOptions o = small_options(SamplerKind::slice);
  const int64_t n = 1001;  // not a multiple of the chains: 101 draws per chain, trimmed to 1001
  const McmcResult world = run_mcmc(*prior, pot.get(), n, o);
  o.comm = MPI_COMM_SELF;
  const McmcResult self = run_mcmc(*prior, pot.get(), n, o);
  EXPECT_EQ(world.draws_per_chain, 101);
  expect_same_run(world, self, n);
}

TEST(McmcDistributed, ModeJumpsKeepTheChainsOfOneRank) {
  // The jump proposal is built from all chains' states in chain order, and each chain draws its jumps
  // from its own stream: two ranks still run one rank's chains.
  auto prior = sim::make_box_uniform({-6.0, -12.0}, {6.0, 6.0});
  auto pot = banana();
  McmcOptions o = small_options(SamplerKind::slice);
  o.mode_jumps = 3;
  const int64_t n = 1001;
  const McmcResult world = run_mcmc(*prior, pot.get(), n, o);
  o.comm = MPI_COMM_SELF;
  const McmcResult self = run_mcmc(*prior, pot.get(), n, o);
  expect_same_run(world, self, n);
  EXPECT_GT(world.jumps_proposed, 0);
  EXPECT_EQ(world.jumps_proposed, self.jumps_proposed);
  EXPECT_EQ(world.jumps_accepted, self.jumps_accepted);
}

TEST(McmcDistributed, RwmChainsOnTwoRanksAreTheChainsOfOneRank) {
  // The adapted proposal is pooled over all chains in chain order, so it too is rank-count invariant.
  auto prior = sim::make_gaussian({0.0, 0.0}, {4.0, 0.0, 0.0, 4.0});
  auto pot = banana();
  McmcOptions o = small_options(SamplerKind::rwm);
  const int64_t n = 2000;
  const McmcResult world = run_mcmc(*prior, pot.get(), n, o);
  o.comm = MPI_COMM_SELF;
  const McmcResult self = run_mcmc(*prior, pot.get(), n, o);
  expect_same_run(world, self, n);
  EXPECT_EQ(world.acceptance_rate, self.acceptance_rate);
}

TEST(McmcDistributed, FewerChainsThanRanksAndNanCounts) {
  // One chain on two ranks: rank 0 holds none. NaN for x1 > 1: counted over both ranks.
  auto prior = sim::make_gaussian({0.0, 0.0}, {1.0, 0.0, 0.0, 1.0});
  auto pot = make_potential([](const torch::Tensor& th) {
    const torch::Tensor x1 = th.select(1, 0);
    return torch::where(x1 > 1.0, torch::full_like(x1, std::numeric_limits<float>::quiet_NaN()), -0.5 * x1 * x1);
  });
  McmcOptions o = small_options(SamplerKind::slice);
  o.chains = 1;
  o.diagnostics = false;
  const McmcResult world = run_mcmc(*prior, pot.get(), 50, o);
  o.comm = MPI_COMM_SELF;
  const McmcResult self = run_mcmc(*prior, pot.get(), 50, o);
  expect_same_run(world, self, 50);
  EXPECT_GT(world.nonfinite_evaluations, 0);
  ASSERT_FALSE(world.warnings.empty());
  EXPECT_NE(world.warnings.front().find("NaN"), std::string::npos);
}

// A potential that throws on rank 1 only, part-way through sampling: both ranks get the same error
// (no rank is left in a collective). For rwm the failure falls inside an adaptation window.
TEST(McmcDistributed, AFailureOnOneRankIsTheSameErrorOnEveryRank) {
  auto prior = sim::make_box_uniform({-6.0, -12.0}, {6.0, 6.0});
  for (SamplerKind kind : {SamplerKind::slice, SamplerKind::rwm}) {
    int64_t calls = 0;
    auto pot = make_potential([&calls](const torch::Tensor& th) {
      if (dist::rank() == 1 && ++calls > 30) throw Error(ErrorKind::runtime, "network failed on rank 1");
      return -0.5 * (th * th).sum(1);
    });
    McmcOptions o = small_options(kind);
    o.init_candidates = 10;
    std::string message;
    try {
      run_mcmc(*prior, pot.get(), 1000, o);
    } catch (const Error& e) {
      message = e.what();
      EXPECT_EQ(e.kind(), ErrorKind::runtime);
    }
    EXPECT_EQ(message, "network failed on rank 1") << to_string(kind) << " on rank " << dist::rank();
  }
  // Bad options: the same error on every rank, before any sampling.
  auto pot = banana();
  McmcOptions o = small_options(SamplerKind::slice);
  std::string message;
  try {
    run_mcmc(*prior, pot.get(), 0, o);
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_EQ(message, "MCMC: the number of samples must be positive, got 0");
}

}  // namespace
