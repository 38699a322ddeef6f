// The trainer's weight average (TrainOptions::ema_decay): on a loss whose gradient does not depend on
// the rows (so the weight trajectory depends only on the step count), the validation losses and the
// returned weights are those of the documented average of the weights LibTorch's own AdamW produces.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "simbi/core/error.hpp"
#include "simbi/estimators/estimator.hpp"
#include "simbi/train/trainer.hpp"

namespace simbi {
namespace {

const torch::Tensor& target() {
  static const torch::Tensor c = torch::tensor({1.5f, -2.0f, 0.5f, 3.0f});
  return c;
}

// loss per row = |w − c|², the same for every row: each step's gradient is that of |w − c|².
class Quadratic final : public estimators::Estimator {
 public:
  Quadratic() { w_ = register_parameter("w", torch::zeros({4})); }
  std::string method() const override { return "quadratic"; }
  nlohmann::json config() const override { return {{"method", "quadratic"}}; }
  void fit_standardization(const torch::Tensor&, const torch::Tensor&) override {}
  torch::Tensor loss(const torch::Tensor& theta, const torch::Tensor&) override {
    return (w_ - target()).pow(2).sum().expand({theta.size(0)});
  }
  torch::Tensor w() const { return w_; }

 private:
  torch::Tensor w_;
};

train::TrainingData rows() {
  train::TrainingData d;
  d.theta = torch::zeros({200, 1});
  d.x = torch::zeros({200, 1});
  return d;
}

train::TrainOptions options(double ema_decay) {
  train::TrainOptions o;
  o.batch_size = 30;
  o.lr = 0.05;
  o.weight_decay = 0.01;
  o.clip_norm = 0.0;
  o.max_epochs = 4;
  o.patience = 4;
  o.ema_decay = ema_decay;
  o.progress = false;
  return o;
}

TEST(TrainerEma, ValidatesAndReturnsTheAverageOfTheOptimizersWeights) {
  const double decay = 0.8;
  auto sync = train::make_mpi_grad_sync();
  Quadratic model;
  const train::TrainHistory h = train::fit(model, rows(), options(decay), *sync);
  ASSERT_EQ(h.val_loss.size(), 4u);
  ASSERT_EQ(h.steps % 4, 0);
  const int64_t steps_per_epoch = h.steps / 4;

  // The reference: LibTorch's AdamW on the same parameter, and the average as trainer.hpp defines it.
  torch::Tensor w = torch::zeros({4}, torch::requires_grad());
  torch::optim::AdamW adamw({w}, torch::optim::AdamWOptions(0.05).weight_decay(0.01));
  torch::Tensor ema = w.detach().clone();
  std::vector<double> val;
  std::vector<torch::Tensor> averages;
  for (int64_t s = 1; s <= h.steps; ++s) {
    adamw.zero_grad();
    (w - target()).pow(2).sum().backward();
    adamw.step();
    const double d = std::min(decay, (1.0 + s) / (10.0 + s));
    ema = d * ema + (1.0 - d) * w.detach();
    if (s % steps_per_epoch == 0) {
      val.push_back((ema - target()).pow(2).sum().item<double>());
      averages.push_back(ema.clone());
    }
  }
  for (size_t e = 0; e < val.size(); ++e) EXPECT_NEAR(h.val_loss[e], val[e], 1e-5 * (1.0 + val[e])) << "epoch " << e;
  const size_t best = static_cast<size_t>(std::min_element(val.begin(), val.end()) - val.begin());
  EXPECT_EQ(h.best_epoch, static_cast<int64_t>(best));
  EXPECT_TRUE(torch::allclose(model.w(), averages[best], 1e-5, 1e-6)) << model.w() << averages[best];
  // The raw weights differ from their average (else the test could not tell them apart).
  EXPECT_GT((w.detach() - averages[best]).abs().max().item<double>(), 1e-3);
}

TEST(TrainerEma, WithoutAnAverageTheRawWeightsAreValidated) {
  auto sync = train::make_mpi_grad_sync();
  Quadratic model;
  const train::TrainHistory h = train::fit(model, rows(), options(0.0), *sync);
  EXPECT_NEAR(h.val_loss[static_cast<size_t>(h.best_epoch)], (model.w() - target()).pow(2).sum().item<double>(), 1e-6);
}

TEST(TrainerEma, DecayOutsideTheUnitIntervalIsRefused) {
  for (double bad : {-0.1, 1.0, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    train::TrainOptions o = options(bad);
    try {
      train::check_options(o);
      ADD_FAILURE() << "accepted --ema-decay " << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--ema-decay must be 0 (off) or in (0, 1)"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace simbi
