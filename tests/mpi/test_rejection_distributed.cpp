// The exact GBI rejection sampler and rejection ABC over MPI (run under mpiexec -n 2): the world run gives
// exactly the samples of a one-rank run (each rank also runs alone over MPI_COMM_SELF for the comparison),
// with the bound search, with a wrong bound that forces restarts, and with a draw cap; errors are agreed.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "simbi/core/error.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/mcmc/rejection.hpp"
#include "simbi/sim/exact_cost.hpp"
#include "simbi/sim/task.hpp"

namespace {

using namespace simbi;

struct RejectionRun {
  mcmc::RejectionResult result;
  double bound = 0.0, estimate = 0.0;
};

RejectionRun run(MPI_Comm comm, const char* task_name, const float* x_o, double fixed_bound, double beta, int64_t n,
                 int64_t max_draws) {
  const sim::Task task = sim::make_task(task_name);
  const auto exact = sim::make_exact_cost(task_name);
  mcmc::RejectionOptions o;
  o.seed = 12;
  o.block_draws = 1000;  // many small blocks: several rounds, blocks on both ranks
  o.pilot_draws = 9000;
  o.fixed_bound = fixed_bound;
  o.comm = comm;
  mcmc::GbiRejectionSampler s(
      *task.prior, [&](ConstMatrixView th, double* out) { exact->cost(th, x_o, out); }, o);
  RejectionRun r;
  r.bound = s.cost_bound();
  if (std::isnan(fixed_bound)) r.estimate = s.estimated_acceptance(beta);
  r.result = s.sample(beta, n, max_draws, 7);
  return r;
}

void expect_same(const RejectionRun& world, const RejectionRun& self) {
  EXPECT_EQ(world.bound, self.bound);
  EXPECT_EQ(world.estimate, self.estimate);
  EXPECT_EQ(world.result.complete, self.result.complete);
  EXPECT_EQ(world.result.accepted, self.result.accepted);
  EXPECT_EQ(world.result.epoch_draws, self.result.epoch_draws);
  EXPECT_EQ(world.result.bound_restarts, self.result.bound_restarts);
  EXPECT_EQ(world.result.cost_bound, self.result.cost_bound);
  if (dist::rank() == 0) {
    ASSERT_TRUE(world.result.samples.defined());
    EXPECT_TRUE(torch::equal(world.result.samples, self.result.samples)) << "2-rank samples differ from 1-rank ones";
  } else {
    EXPECT_FALSE(world.result.samples.defined());  // gathered on rank 0 only
  }
}

TEST(GbiRejectionDistributed, TwoRanksGiveTheSamplesOfOne) {
  ASSERT_EQ(dist::size(), 2);
  const float x_o[2] = {0.05f, 0.1f};
  const RejectionRun world = run(dist::comm(), "two_moons", x_o, NAN, 30.0, 2000, 100000000);
  const RejectionRun self = run(MPI_COMM_SELF, "two_moons", x_o, NAN, 30.0, 2000, 100000000);
  ASSERT_TRUE(world.result.complete);
  EXPECT_GT(world.result.draws, 4 * 1000);  // several blocks (so both ranks had some) and rounds
  if (dist::rank() == 0) EXPECT_EQ(world.result.samples.size(0), 2000);
  expect_same(world, self);
}

TEST(GbiRejectionDistributed, RestartsAndTheCapAreRankCountInvariant) {
  const float x_o = 0.2f;
  // A bound above the minimum: restarts, decided in block order on every rank.
  const RejectionRun world = run(dist::comm(), "gbi_uniform_1d", &x_o, 0.0208 + 0.02, 100.0, 3000, 100000000);
  const RejectionRun self = run(MPI_COMM_SELF, "gbi_uniform_1d", &x_o, 0.0208 + 0.02, 100.0, 3000, 100000000);
  EXPECT_GE(world.result.bound_restarts, 1);
  expect_same(world, self);
  const RejectionRun capped = run(dist::comm(), "gbi_uniform_1d", &x_o, NAN, 100.0, 100000, 7500);
  const RejectionRun capped_self = run(MPI_COMM_SELF, "gbi_uniform_1d", &x_o, NAN, 100.0, 100000, 7500);
  EXPECT_FALSE(capped.result.complete);
  EXPECT_EQ(capped.result.draws, 7500);
  expect_same(capped, capped_self);
}

TEST(GbiRejectionDistributed, ACostThatThrowsOnOneRankEndsBothRanks) {
  const sim::Task task = sim::make_task("gbi_uniform_1d");
  mcmc::RejectionOptions o;
  o.block_draws = 100;
  o.pilot_draws = 1000;
  auto throws_on_rank1 = [](ConstMatrixView th, double* out) {
    if (dist::rank() == 1) throw Error(ErrorKind::runtime, "cost failed on rank 1");
    for (int64_t i = 0; i < th.rows; ++i) out[i] = th(i, 0) * th(i, 0);
  };
  try {
    mcmc::GbiRejectionSampler s(*task.prior, throws_on_rank1, o);
    FAIL() << "expected an error";
  } catch (const dist::AgreedError& e) {
    EXPECT_NE(std::string(e.what()).find("cost failed on rank 1"), std::string::npos) << e.what();
  }
}

TEST(RejectionAbcDistributed, TwoRanksAcceptTheRowsOfOne) {
  const int64_t rows = 10001;  // odd: the ranks' shares differ
  std::vector<uint8_t> usable(rows, 1);
  for (int64_t i = 3; i < rows; i += 50) usable[i] = 0;
  auto dist_fn = [](int64_t first, int64_t count, double* out) {
    for (int64_t k = 0; k < count; ++k) out[k] = std::fmod(0.37 * static_cast<double>(first + k), 1.0);
  };
  mcmc::AbcOptions o;
  o.seed = 8;
  o.stream_index = 2;
  const mcmc::AbcResult world = mcmc::rejection_abc(rows, usable, dist_fn, {1.0, 5.0}, o);
  o.comm = MPI_COMM_SELF;
  const mcmc::AbcResult self = mcmc::rejection_abc(rows, usable, dist_fn, {1.0, 5.0}, o);
  EXPECT_EQ(world.accepted_count, self.accepted_count);
  EXPECT_EQ(world.usable, self.usable);
  if (dist::rank() == 0) {
    EXPECT_EQ(world.accepted, self.accepted);
    EXPECT_GT(world.accepted[1].size(), 100u);
  } else {
    EXPECT_TRUE(world.accepted[0].empty());
  }
}

}  // namespace
