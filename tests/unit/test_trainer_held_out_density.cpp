// The trainer's held-out posterior density (TrainHistory::val_log_prob): measured once when training
// ends, with the kept (best) weights, over the validation rows. An estimator whose log q(θ | x) is
// exactly 7 − its per-row loss makes that checkable without knowing which rows were held out:
// val_log_prob must be 7 − best_val_loss. An estimator without a density records none (NaN).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "simbi/estimators/estimator.hpp"
#include "simbi/train/trainer.hpp"

namespace simbi {
namespace {

// loss per row = (w − 1.5)² + θ²·(1 + w²): rows differ, and the loss depends on the weight.
class RowLoss : public estimators::Estimator {
 public:
  RowLoss() { w_ = register_parameter("w", torch::zeros({1})); }
  std::string method() const override { return "row_loss"; }
  nlohmann::json config() const override { return {{"method", "row_loss"}}; }
  void fit_standardization(const torch::Tensor&, const torch::Tensor&) override {}
  torch::Tensor loss(const torch::Tensor& theta, const torch::Tensor&) override {
    return (w_ - 1.5).pow(2) + theta.select(1, 0).pow(2) * (1.0 + w_.pow(2));
  }

 private:
  torch::Tensor w_;
};

class DensityOfRowLoss final : public RowLoss, public estimators::PosteriorDensity {
 public:
  torch::Tensor log_prob(const torch::Tensor& theta, const torch::Tensor& x) override { return 7.0 - loss(theta, x); }
};

train::TrainingData rows() {
  train::TrainingData d;
  d.theta = torch::randn({300, 1}, at::detail::createCPUGenerator(11));
  d.x = torch::zeros({300, 1});
  return d;
}

train::TrainOptions options() {
  train::TrainOptions o;
  o.batch_size = 32;
  o.lr = 0.05;
  o.max_epochs = 6;
  o.patience = 6;
  o.validation_fraction = 0.2;
  o.progress = false;
  return o;
}

TEST(TrainerHeldOutDensity, IsTheMeanLogDensityOfTheValidationRowsWithTheKeptWeights) {
  auto sync = train::make_mpi_grad_sync();
  DensityOfRowLoss model;
  const train::TrainHistory h = train::fit(model, rows(), options(), *sync);
  ASSERT_TRUE(std::isfinite(h.val_log_prob));
  EXPECT_NEAR(h.val_log_prob, 7.0 - h.best_val_loss, 1e-5);
  // Recorded in the history's JSON (model files, checkpoints) and read back.
  EXPECT_NEAR(train::TrainHistory::from_json(h.to_json()).val_log_prob, h.val_log_prob, 1e-12);
}

TEST(TrainerHeldOutDensity, AnEstimatorWithoutADensityRecordsNone) {
  auto sync = train::make_mpi_grad_sync();
  RowLoss model;
  const train::TrainHistory h = train::fit(model, rows(), options(), *sync);
  EXPECT_TRUE(std::isnan(h.val_log_prob));
  EXPECT_TRUE(h.to_json().at("val_log_prob").is_null());
  EXPECT_TRUE(std::isnan(train::TrainHistory::from_json(h.to_json()).val_log_prob));
}

}  // namespace
}  // namespace simbi
