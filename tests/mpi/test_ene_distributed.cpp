// E&E's contrastive loss under 2 ranks: with the trainer's batch exchange, each rank scoring its half of a
// global batch against the whole batch gives, after summing over the ranks, exactly the loss and the
// parameter gradients of the whole batch on one rank — so data-parallel E&E trains like one rank (the
// negatives are the global batch), with and without a memory bank. Without the exchange (each rank alone)
// the gradients differ, which shows the comparison can fail.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "simbi/dist/world.hpp"
#include "simbi/estimators/ene.hpp"
#include "simbi/train/batch_exchange.hpp"

namespace simbi {
namespace {

nlohmann::json config(int64_t memory_bank) {
  return {{"method", "ene"},     {"theta_dim", 2},  {"x_dim", 3},          {"embed_dim", 4},       {"tau", 0.3},
          {"encoder_hidden", {8}}, {"emulator_width", 8}, {"emulator_blocks", 1}, {"memory_bank", memory_bank}};
}

// Summed loss and the flat parameter gradient of `losses.sum() / rows`.
struct LossAndGrad {
  double loss = 0;
  torch::Tensor grad;
};

LossAndGrad evaluate(estimators::Ene& ene, const torch::Tensor& theta, const torch::Tensor& x, int64_t rows) {
  ene.zero_grad();
  const torch::Tensor losses = ene.loss(theta, x);
  (losses.sum() / static_cast<double>(rows)).backward();
  std::vector<torch::Tensor> parts;
  for (const auto& p : ene.parameters()) parts.push_back(p.grad().defined() ? p.grad().reshape({-1}) : torch::zeros({p.numel()}));
  return {losses.sum().item<double>(), torch::cat(parts)};
}

torch::Tensor sum_over_ranks(torch::Tensor t) {
  t = t.contiguous().clone();
  MPI_Allreduce(MPI_IN_PLACE, t.data_ptr<float>(), static_cast<int>(t.numel()), MPI_FLOAT, MPI_SUM, dist::comm());
  return t;
}

TEST(EneDistributed, GlobalBatchLossAndGradientsMatchOneRank) {
  ASSERT_EQ(dist::size(), 2);
  for (int64_t bank : {0, 6}) {
    torch::manual_seed(21);  // the same weights and data on both ranks
    auto model = estimators::make_estimator(config(bank));
    auto& ene = dynamic_cast<estimators::Ene&>(*model);
    auto reference_model = estimators::make_estimator(config(bank));
    auto& reference = dynamic_cast<estimators::Ene&>(*reference_model);
    {
      torch::NoGradGuard no_grad;
      auto src = ene.parameters(), dst = reference.parameters();
      for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
    }
    const torch::Tensor theta_std = torch::randn({40, 2}), x_std = torch::randn({40, 3});
    ene.fit_standardization(theta_std, x_std);
    reference.fit_standardization(theta_std, x_std);
    ene.train();
    reference.train();
    const std::unique_ptr<estimators::BatchExchange> exchange = train::make_mpi_batch_exchange();
    ene.set_batch_exchange(exchange.get());
    // Two steps (the second sees the memory bank filled by the first); uneven halves (5 + 3 rows).
    for (int step = 0; step < 2; ++step) {
      const torch::Tensor theta = torch::randn({8, 2}), x = torch::randn({8, 3});
      const int64_t lo = dist::rank() == 0 ? 0 : 5, hi = dist::rank() == 0 ? 5 : 8;
      const LossAndGrad mine = evaluate(ene, theta.slice(0, lo, hi), x.slice(0, lo, hi), 8);
      const LossAndGrad whole = evaluate(reference, theta, x, 8);
      std::vector<double> loss_all{mine.loss};
      dist::allreduce_sum(loss_all);
      EXPECT_NEAR(loss_all[0], whole.loss, 1e-4 * std::max(1.0, std::fabs(whole.loss))) << "bank " << bank;
      const torch::Tensor grad_all = sum_over_ranks(mine.grad);
      EXPECT_LT((grad_all - whole.grad).abs().max().item<double>(), 1e-5 + 1e-4 * whole.grad.abs().max().item<double>())
          << "bank " << bank << " step " << step;
    }
    // Without the exchange each rank's rows are their own batch: the summed gradient is another one.
    ene.set_batch_exchange(nullptr);
    const torch::Tensor theta = torch::randn({8, 2}), x = torch::randn({8, 3});
    const int64_t lo = dist::rank() == 0 ? 0 : 5, hi = dist::rank() == 0 ? 5 : 8;
    const torch::Tensor local_grad = sum_over_ranks(evaluate(ene, theta.slice(0, lo, hi), x.slice(0, lo, hi), 8).grad);
    const torch::Tensor whole_grad = evaluate(reference, theta, x, 8).grad;
    EXPECT_GT((local_grad - whole_grad).abs().max().item<double>(), 1e-4);
  }
}

}  // namespace
}  // namespace simbi
