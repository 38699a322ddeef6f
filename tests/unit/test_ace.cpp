// ACE (docs/methods.md §2): the residual network starts near the identity, the set embedding is permutation
// invariant, the loss of a known configuration equals a hand computation (same targets, the task's
// distance, the softplus × m̄ head; the linear head m̄·h shares the network output), m̄ is the mean distance of
// (simulation, target) pairs, and a short training on gbi_uniform_1d learns a cost that correlates with the exact one.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "simbi/core/error.hpp"
#include "simbi/core/random.hpp"
#include "simbi/estimators/ace.hpp"
#include "simbi/nn/residual_net.hpp"
#include "simbi/sim/distance.hpp"
#include "simbi/sim/exact_cost.hpp"
#include "simbi/sim/task.hpp"
#include "simbi/train/grad_sync.hpp"
#include "simbi/train/trainer.hpp"

namespace simbi {
namespace {

nlohmann::json ace_config(int64_t theta_dim, int64_t x_dim, const nlohmann::json& distance, int64_t trials = 0,
                          const std::string& activation = "relu", const std::string& output = "softplus",
                          const std::string& head = "network") {
  return {{"method", "ace"},
          {"theta_dim", theta_dim},
          {"x_dim", x_dim},
          {"width", 16},
          {"blocks", 2},
          {"set_trials", trials},
          {"distance", distance},
          {"noise_targets", 100},
          {"activation", activation},
          {"output", output},
          {"head", head}};
}

TEST(ResidualNet, BlocksStartNearTheIdentity) {
  torch::manual_seed(1);
  nn::ResidualNet net(3, 8, 4, 1);
  // With the blocks' second layers ~U(±1e-3), the output is (almost) output(input(x)).
  const torch::Tensor x = torch::randn({5, 3});
  torch::Tensor direct;
  {
    torch::NoGradGuard no_grad;
    auto params = net->named_parameters();
    const torch::Tensor h = torch::nn::functional::linear(x, params["input.weight"], params["input.bias"]);
    direct = torch::nn::functional::linear(h, params["output.weight"], params["output.bias"]);
  }
  EXPECT_LT((net->forward(x) - direct).abs().max().item<double>(), 0.05);
}

TEST(SetEmbedding, IsInvariantToTheOrderOfTrials) {
  torch::manual_seed(2);
  nn::SetEmbedding embed(5, 2);
  const torch::Tensor x = torch::randn({4, 10});
  const torch::Tensor shuffled = x.reshape({4, 5, 2}).index_select(1, torch::tensor({3, 0, 4, 1, 2})).reshape({4, 10});
  EXPECT_TRUE(torch::allclose(embed->forward(x), embed->forward(shuffled), 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(embed->forward(x), embed->forward(x + 0.5), 1e-3, 1e-4));
}

TEST(Ace, ConfigRoundTripsAndBadConfigsAreRefused) {
  const nlohmann::json c = ace_config(2, 10, {{"name", "mmd2"}, {"dim", 10}, {"set_size", 5}, {"point_dim", 2}}, 5);
  const auto model = estimators::make_estimator(c);
  EXPECT_EQ(model->method(), "ace");
  EXPECT_EQ(estimators::make_estimator(model->config())->config(), model->config());
  nlohmann::json bad = c;
  bad["set_trials"] = 3;
  EXPECT_THROW(estimators::make_estimator(bad), Error);
  bad = c;
  bad.erase("distance");
  EXPECT_THROW(estimators::make_estimator(bad), Error);
  bad = c;
  bad["activation"] = "tanh";
  EXPECT_THROW(estimators::make_estimator(bad), Error);
  bad = c;
  bad["output"] = "exp";
  EXPECT_THROW(estimators::make_estimator(bad), Error);
  bad = c;
  bad["head"] = "mean";
  EXPECT_THROW(estimators::make_estimator(bad), Error);
  bad = c;  // the moments head is for the mse distance only
  bad["head"] = "moments";
  EXPECT_THROW(estimators::make_estimator(bad), Error);
  bad = ace_config(2, 3, {{"name", "zmae"}, {"dim", 3}}, 0, "relu", "linear", "moments");
  EXPECT_THROW(estimators::make_estimator(bad), Error);
  // A model file from before the activation and output fields holds a ReLU network with a softplus head
  // (the paper's).
  nlohmann::json legacy = c;
  legacy.erase("activation");
  legacy.erase("output");
  legacy.erase("head");
  EXPECT_EQ(estimators::AceConfig::from_json(legacy).head, estimators::CostHead::network);
  EXPECT_EQ(estimators::AceConfig::from_json(legacy).activation, nn::Activation::relu);
  EXPECT_EQ(estimators::AceConfig::from_json(legacy).output, estimators::CostOutput::softplus);
  EXPECT_EQ(estimators::make_estimator(ace_config(2, 3, {{"name", "mse"}, {"dim", 3}}, 0, "relu", "linear"))
                ->config()["output"],
            "linear");
  const auto moments =
      estimators::make_estimator(ace_config(2, 3, {{"name", "mse"}, {"dim", 3}}, 0, "relu", "linear", "moments"));
  EXPECT_EQ(moments->config()["head"], "moments");
  EXPECT_EQ(estimators::make_estimator(moments->config())->config(), moments->config());
  EXPECT_EQ(
      estimators::make_estimator(ace_config(2, 3, {{"name", "mse"}, {"dim", 3}}, 0, "silu"))->config()["activation"],
      "silu");
}

TEST(Ace, LossOfAKnownConfigurationMatchesHandComputation) {
  torch::manual_seed(3);
  estimators::Ace ace(estimators::AceConfig::from_json(ace_config(2, 3, {{"name", "mse"}, {"dim", 3}})));
  const torch::Tensor theta = torch::randn({40, 2}), x = torch::randn({40, 3}) * 2.0 + 1.0;
  ace.fit_standardization(theta, x);
  ASSERT_EQ(ace.target_count(), 40 + 100);  // the training x + 100 noise-augmented copies
  EXPECT_TRUE(torch::equal(ace.targets().slice(0, 0, 40), x));
  // m̄ is the mean distance over random (simulation, target) pairs: close to the mean over all pairs.
  const torch::Tensor all_pairs =
      (x.unsqueeze(1) - ace.targets().unsqueeze(0)).pow(2).mean(2);  // mse of every (x_i, target_j)
  EXPECT_NEAR(ace.distance_scale(), all_pairs.mean().item<double>(), 0.05 * all_pairs.mean().item<double>());

  const int64_t rows = 6;
  for (const bool training : {true, false}) {
    ace.train(training);
    const int64_t k = training ? 2 : 10;  // targets per θ
    torch::manual_seed(9);
    const torch::Tensor loss = ace.loss(theta.slice(0, 0, rows), x.slice(0, 0, rows));
    ASSERT_EQ(loss.size(0), rows);
    torch::manual_seed(9);
    const torch::Tensor picks = torch::randint(ace.target_count(), {rows * k}, torch::kLong);
    torch::NoGradGuard no_grad;
    for (int64_t i = 0; i < rows; ++i) {
      double expected = 0.0;
      for (int64_t j = 0; j < k; ++j) {
        const torch::Tensor target = ace.targets()[picks[i * k + j].item<int64_t>()];
        const double label = (x[i] - target).pow(2).mean().item<double>();
        const double predicted = ace.cost(theta.slice(0, i, i + 1), target).item<double>();
        expected += (predicted - label) * (predicted - label) / static_cast<double>(k);
      }
      EXPECT_NEAR(loss[i].item<double>(), expected, 1e-5 * (1.0 + expected))
          << "row " << i << ", training " << training;
    }
  }
}

TEST(Ace, CostIsPositiveAndScaledByTheMeanDistance) {
  torch::manual_seed(4);
  estimators::Ace ace(estimators::AceConfig::from_json(ace_config(1, 2, {{"name", "mse"}, {"dim", 2}})));
  ace.fit_standardization(torch::randn({50, 1}), torch::randn({50, 2}) * 10.0);
  const torch::Tensor c = ace.cost(torch::randn({20, 1}), torch::zeros({2}));
  EXPECT_TRUE(torch::all(c > 0).item<bool>());
  // An untrained head is softplus(≈ small) ≈ O(1) times m̄ (≈ 2·100 for x with std 10).
  EXPECT_GT(c.mean().item<double>(), 0.05 * ace.distance_scale());
  EXPECT_LT(c.mean().item<double>(), 5.0 * ace.distance_scale());
}

// The linear head is m̄·h for the network's output h, the softplus head m̄·softplus(h): the same weights
// give costs related by c_softplus = m̄·softplus(c_linear / m̄), negative linear costs included.
TEST(Ace, LinearAndSoftplusHeadsShareTheNetworkOutput) {
  const auto make = [](const std::string& output) {
    torch::manual_seed(6);
    auto ace = std::make_shared<estimators::Ace>(
        estimators::AceConfig::from_json(ace_config(1, 2, {{"name", "mse"}, {"dim", 2}}, 0, "relu", output)));
    torch::manual_seed(7);
    ace->fit_standardization(torch::randn({50, 1}), torch::randn({50, 2}) * 10.0);
    return ace;
  };
  const auto linear = make("linear"), softplus = make("softplus");
  ASSERT_EQ(linear->distance_scale(), softplus->distance_scale());
  const double scale = linear->distance_scale();
  torch::manual_seed(8);
  const torch::Tensor theta = torch::randn({200, 1}) * 4.0, x_o = torch::randn({2}) * 10.0;
  torch::NoGradGuard no_grad;
  const torch::Tensor h = linear->cost(theta, x_o) / scale;
  EXPECT_GT((h < 0).sum().item<int64_t>(), 0) << "no negative output: the test does not cover it";
  EXPECT_TRUE(torch::allclose(softplus->cost(theta, x_o), torch::nn::functional::softplus(h) * scale, 1e-5, 1e-6));
}

// The trainer's per-row noise picks the targets: the same noise gives the same loss (validation compares
// epochs on the same targets; training is rank-count invariant), other noise other targets, and the
// picks cover the target set uniformly (Φ(z)·T for standard-normal z).
TEST(Ace, NoiseRowsPickTheTargets) {
  torch::manual_seed(5);
  estimators::Ace ace(estimators::AceConfig::from_json(ace_config(1, 2, {{"name", "mse"}, {"dim", 2}})));
  ace.fit_standardization(torch::randn({400, 1}), torch::randn({400, 2}));
  ASSERT_EQ(ace.noise_dim(), 10);
  ace.eval();
  const torch::Tensor theta = torch::randn({300, 1}), x = torch::randn({300, 2});
  const torch::Tensor z1 = torch::randn({300, 10}), z2 = torch::randn({300, 10});
  torch::NoGradGuard no_grad;
  const torch::Tensor a = ace.loss_with_noise(theta, x, z1), b = ace.loss_with_noise(theta, x, z1);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, ace.loss_with_noise(theta, x, z2)));
  // Uniform picks over the target set (the function the loss uses).
  const int64_t T = ace.target_count(), n = 20000;
  const torch::Tensor picks = estimators::ace_target_picks(torch::randn({n, 10}), 10, T);
  ASSERT_EQ(picks.numel(), n * 10);
  EXPECT_GE(picks.min().item<int64_t>(), 0);
  EXPECT_LT(picks.max().item<int64_t>(), T);
  const torch::Tensor counts = torch::bincount(picks, {}, T).to(torch::kDouble);
  const double expected = static_cast<double>(n * 10) / static_cast<double>(T);
  const double chi2 = ((counts - expected).pow(2) / expected).sum().item<double>();
  // χ² with T − 1 = 499 degrees of freedom: mean 499, sd 31.6; 5 sd above is a failure.
  EXPECT_LT(chi2, static_cast<double>(T - 1) + 5.0 * std::sqrt(2.0 * static_cast<double>(T - 1)));
}

// The frozen cost used by MCMC (plain BLAS, x_o and θ's z-scoring folded into the first layer) equals
// the module's cost, for vector x and set-valued x (embedding), with weights far from initialisation
// and rows on both sides of softplus's linear threshold.
TEST(Ace, FrozenCostEqualsTheModuleCost) {
  for (const std::string output : {"softplus", "linear"})
    for (const std::string activation : {"relu", "silu"})
      for (const int64_t trials : {int64_t{0}, int64_t{4}, int64_t{-1}}) {  // −1: vector x, the moments head
        torch::manual_seed(11);
        const int64_t dtheta = 3, dx = 8;
        const std::string head = trials < 0 ? "moments" : "network";
        estimators::Ace ace(estimators::AceConfig::from_json(ace_config(
            dtheta, dx, {{"name", "mse"}, {"dim", dx}}, std::max<int64_t>(trials, 0), activation, output, head)));
        // For the moments head x depends on θ, so that its linear fit of x on θ is far from zero.
        const torch::Tensor theta_train = torch::randn({200, dtheta}) * 3.0 + 5.0;
        const torch::Tensor x_noise = torch::randn({200, dx}) * 2.0 - 1.0;
        ace.fit_standardization(theta_train,
                                head == "moments" ? theta_train.matmul(torch::randn({dtheta, dx})) + x_noise : x_noise);
        {
          torch::NoGradGuard no_grad;
          for (auto& item : ace.named_parameters()) {  // the cost network far from its initialisation
            if (item.key().rfind("net.", 0) != 0) continue;
            item.value().add_(torch::randn_like(item.value()) * 0.5);
            if (item.key().find("output") != std::string::npos) item.value().mul_(3.0);  // some h beyond 20
          }
        }
        ace.eval();
        const torch::Tensor x_o = torch::randn({dx}) * 2.0;
        const torch::Tensor theta = torch::randn({301, dtheta}) * 6.0 + 5.0;  // odd count; wide: large |h| too
        torch::Tensor expected;
        {
          torch::NoGradGuard no_grad;
          expected = ace.cost(theta, x_o);
        }
        estimators::FrozenAceCost frozen = ace.freeze(x_o);
        ASSERT_EQ(frozen.theta_dim(), dtheta);
        std::vector<float> got(301);
        const torch::Tensor th = theta.contiguous();
        frozen.cost(th.data_ptr<float>(), 301, got.data());
        if (output == "softplus" && head == "network") {
          const double big = (expected / ace.distance_scale() > 20.0).sum().item<double>();
          EXPECT_GT(big, 0.0) << "no row beyond softplus's threshold: the test does not cover it";
          EXPECT_LT(big, 301.0);
        } else if (head == "network") {
          EXPECT_GT((expected < 0).sum().item<double>(), 0.0) << "no negative linear cost: the test does not cover it";
        }
        for (int64_t i = 0; i < 301; ++i) {
          const double e = expected[i].item<double>();
          EXPECT_NEAR(got[static_cast<size_t>(i)], e, 1e-4 * (std::abs(e) + ace.distance_scale()))
              << "row " << i << ", set trials " << trials << ", " << activation << ", " << output << ", " << head;
        }
        EXPECT_THROW(ace.freeze(torch::zeros({dx + 1})), Error);
      }
}

// A short training on gbi_uniform_1d (2,000 simulations): the learned cost of held-out prior θ tracks
// the exact cost C(θ, x_o) (Pearson r; the benchmark's 10k-simulation run must reach 0.99), for each
// cost head; the moments head, exact in x_o, also far outside the simulations' range.
TEST(Ace, ShortTrainingLearnsTheExactCostOfUniform1d) {
  sim::Task task = sim::make_task("gbi_uniform_1d");
  constexpr float kFarObservation = 4.0f;
  const int64_t n = 2000;
  Matrix theta(n, 1), x(n, task.x_dim());
  task.prior->sample(theta.view(), RowStreams{RandomStream(1, StreamPurpose::prior_draw, 0), 0});
  task.simulator->simulate(theta.view(), x.view(), RowStreams{RandomStream(1, StreamPurpose::simulation, 0), 0});
  train::TrainingData data;
  data.theta = torch::from_blob(theta.data(), {n, 1}, torch::kFloat).clone();
  data.x = torch::from_blob(x.data(), {n, task.x_dim()}, torch::kFloat).clone();
  const double x_max = data.x.max().item<double>();
  ASSERT_GT(kFarObservation, x_max + 0.5 * (x_max - data.x.min().item<double>())) << "not far outside the simulations";
  const std::vector<std::pair<std::string, std::string>> heads{
      {"linear", "network"}, {"softplus", "network"}, {"linear", "moments"}};
  for (const auto& [output, head] : heads) {
    torch::manual_seed(5);
    auto model = estimators::make_estimator(
        ace_config(1, task.x_dim(), sim::make_distance(task)->to_json(), 0, "relu", output, head));
    train::TrainOptions o;
    o.batch_size = 100;
    o.lr = 1e-3;
    o.weight_decay = 0.0;
    o.clip_norm = 0.0;
    o.max_epochs = 500;
    o.patience = 500;
    o.seed = 6;
    o.progress = false;
    auto sync = train::make_mpi_grad_sync();
    train::fit(*model, data, o, *sync);
    auto& ace = dynamic_cast<estimators::Ace&>(*model);
    ace.eval();

    const auto exact = sim::make_exact_cost("gbi_uniform_1d");
    std::vector<float> observations{-0.6f, 0.1f, 0.9f};
    if (head == "moments") observations.push_back(kFarObservation);
    Matrix grid(200, 1);
    for (int64_t i = 0; i < 200; ++i) grid(i, 0) = -1.5f + 3.0f * (static_cast<float>(i) + 0.5f) / 200.0f;
    const torch::Tensor grid_t = torch::from_blob(grid.data(), {200, 1}, torch::kFloat);
    for (float x_o : observations) {
      std::vector<double> truth(200);
      exact->cost(grid.view(), &x_o, truth.data());
      torch::NoGradGuard no_grad;
      const torch::Tensor learned = ace.cost(grid_t, torch::full({1}, x_o)).to(torch::kDouble);
      const torch::Tensor t = torch::tensor(truth, torch::kDouble);
      const double r = torch::corrcoef(torch::stack({learned, t}))[0][1].item<double>();
      EXPECT_GT(r, 0.95) << "x_o = " << x_o << ", " << output << ", " << head;
      std::printf("%s %s head, x_o %.2f: r = %.4f\n", head.c_str(), output.c_str(), x_o, r);
    }
  }
}

}  // namespace
}  // namespace simbi
