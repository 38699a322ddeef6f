// nn building blocks, CP-VAE / UP-VAE losses against hand computations, the UP-VAE variance floor on
// lattice data, the trainer's early stopping, best-weights restore and plateau learning-rate decay, and
// the model file round trip.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "simbi/core/error.hpp"
#include "simbi/estimators/vae.hpp"
#include "simbi/nn/gaussian.hpp"
#include "simbi/nn/lattice.hpp"
#include "simbi/nn/mlp.hpp"
#include "simbi/nn/zscore.hpp"
#include "simbi/store/model_file.hpp"
#include "simbi/train/flat_adamw.hpp"
#include "simbi/train/trainer.hpp"

namespace simbi {
namespace {

constexpr double kLog2Pi = 1.8378770664093454836;

torch::Tensor t(std::vector<float> v, int64_t rows, int64_t cols) {
  return torch::tensor(v, torch::kFloat).reshape({rows, cols});
}

TEST(DiagGaussian, LogProbMatchesClosedForm) {
  const nn::DiagGaussian g{t({0.5f, -1.0f}, 1, 2), t({std::log(4.0f), std::log(0.25f)}, 1, 2)};
  const torch::Tensor v = t({1.5f, 0.0f}, 1, 2);
  // N(1.5; 0.5, 4) and N(0; -1, 0.25): −½log(2π·var) − (v−μ)²/(2var)
  const double expected = (-0.5 * std::log(2 * M_PI * 4.0) - 1.0 / 8.0) + (-0.5 * std::log(2 * M_PI * 0.25) - 2.0);
  EXPECT_NEAR(g.log_prob(v).item<double>(), expected, 1e-5);
}

TEST(DiagGaussian, KlMatchesClosedFormAndIsZeroForEqualDistributions) {
  const nn::DiagGaussian p{t({0.3f}, 1, 1), t({std::log(2.0f)}, 1, 1)};
  const nn::DiagGaussian q{t({-0.2f}, 1, 1), t({std::log(0.5f)}, 1, 1)};
  // KL(p‖q) = log(σq/σp) + (σp² + (μp−μq)²)/(2σq²) − ½
  const double expected = 0.5 * std::log(0.5 / 2.0) + (2.0 + 0.25) / (2 * 0.5) - 0.5;
  EXPECT_NEAR(p.kl_to(q).item<double>(), expected, 1e-5);
  EXPECT_NEAR(p.kl_to(p).item<double>(), 0.0, 1e-6);
  const double to_std = 0.5 * (2.0 + 0.09 - 1.0 - std::log(2.0));
  EXPECT_NEAR(p.kl_to_standard_normal().item<double>(), to_std, 1e-5);
  const nn::DiagGaussian std_normal{t({0.0f}, 1, 1), t({0.0f}, 1, 1)};
  EXPECT_NEAR(p.kl_to(std_normal).item<double>(), to_std, 1e-5);
}

TEST(DiagGaussian, LogVarianceIsClamped) {
  const auto g = nn::DiagGaussian::from_head(t({0.0f, 1e4f}, 1, 2));
  EXPECT_LE(g.log_var.item<double>(), nn::kMaxLogVar);
  EXPECT_TRUE(std::isfinite(g.log_prob(t({1.0f}, 1, 1)).item<double>()));
}

TEST(DiagGaussian, RsampleHasTheRightMoments) {
  torch::manual_seed(3);
  const int64_t n = 200000;
  const nn::DiagGaussian g{torch::full({n, 1}, 2.0), torch::full({n, 1}, std::log(9.0))};
  const torch::Tensor s = g.rsample();
  // standard errors: 3/√n for the mean, ≈ 9·√(2/n) for the variance
  EXPECT_NEAR(s.mean().item<double>(), 2.0, 5 * 3.0 / std::sqrt(n));
  EXPECT_NEAR(s.var().item<double>(), 9.0, 5 * 9.0 * std::sqrt(2.0 / n));
}

TEST(ZScore, RoundTripAndStatistics) {
  nn::ZScore z(2);
  const torch::Tensor data = t({1, 10, 2, 20, 3, 30, 4, 40}, 4, 2);
  z->fit(data);
  EXPECT_NEAR(z->mean()[1].item<double>(), 25.0, 1e-5);
  EXPECT_NEAR(z->std()[0].item<double>(), std::sqrt(5.0 / 3.0), 1e-5);  // unbiased std
  EXPECT_TRUE(torch::allclose(z->inverse(z->forward(data)), data, 1e-5, 1e-5));
  const torch::Tensor zd = z->forward(data);
  EXPECT_NEAR(zd.mean(0).abs().max().item<double>(), 0.0, 1e-5);
  // A constant column: std floored at 1e-7, no division by zero.
  nn::ZScore c(1);
  c->fit(torch::ones({5, 1}));
  EXPECT_NEAR(c->std().item<double>(), 1e-7, 1e-12);
}

TEST(Mlp, ShapesAndKaimingScale) {
  torch::manual_seed(1);
  nn::Mlp m(200, std::vector<int64_t>{400}, 3);
  EXPECT_EQ(m->forward(torch::zeros({5, 200})).sizes(), (std::vector<int64_t>{5, 3}));
  const auto params = m->named_parameters();
  const double std0 = params["linear0.weight"].std().item<double>();
  EXPECT_NEAR(std0, std::sqrt(2.0 / 1.01) / std::sqrt(200.0), 0.02 * std0);
}

// A 1-D VAE with one hidden layer of 3 units per network, standardisation set to the identity.
estimators::VaeConfig tiny_config() {
  estimators::VaeConfig c;
  c.theta_dim = c.x_dim = c.latent_dim = 1;
  c.encoder_hidden = c.prior_hidden = c.decoder_hidden = c.data_decoder_hidden = {3};
  return c;
}
const torch::Tensor kUnitData = torch::tensor({-1.0f, 1.0f}).reshape({2, 1}) / std::sqrt(2.0f);  // mean 0, std 1

// With every weight zero each network outputs its bias, so the losses are closed-form numbers.
void zero_weights_set_biases(torch::nn::Module& m, const std::map<std::string, std::vector<float>>& biases) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.named_parameters()) {
    if (p.key().find("weight") != std::string::npos) p.value().zero_();
  }
  for (const auto& [name, values] : biases) {
    auto* p = m.named_parameters().find(name);
    ASSERT_NE(p, nullptr) << name;
    p->copy_(torch::tensor(values));
  }
}

TEST(CpVae, LossOfAKnownConfigurationMatchesHandComputation) {
  estimators::CpVae vae(tiny_config());
  vae.fit_standardization(kUnitData, kUnitData);
  // q = N(0.5, e^{0.2}), p = N(-0.5, e^{-0.4}), decoder N(0.1, e^{0.6}).
  zero_weights_set_biases(vae, {{"encoder.linear1.bias", {0.5f, 0.2f}},
                                {"prior.linear1.bias", {-0.5f, -0.4f}},
                                {"decoder.linear1.bias", {0.1f, 0.6f}}});
  const double vq = std::exp(0.2), vp = std::exp(-0.4), vd = std::exp(0.6);
  const double kl = 0.5 * (-0.4 - 0.2 + (vq + 1.0) / vp - 1.0);
  const double theta = 0.7;
  const double nll = 0.5 * 0.6 + 0.5 * (theta - 0.1) * (theta - 0.1) / vd;  // paper eq. 7, no constant
  const torch::Tensor loss = vae.loss(t({static_cast<float>(theta)}, 1, 1), t({0.3f}, 1, 1));
  EXPECT_NEAR(loss.item<double>(), kl + nll, 1e-5);
  vae.set_kl_weight(0.25);  // KL warm-up scales the KL term only
  EXPECT_NEAR(vae.loss(t({static_cast<float>(theta)}, 1, 1), t({0.3f}, 1, 1)).item<double>(), 0.25 * kl + nll, 1e-5);
}

TEST(UpVae, LossOfAKnownConfigurationMatchesHandComputation) {
  estimators::UpVae vae(tiny_config());
  vae.fit_standardization(kUnitData, kUnitData);
  zero_weights_set_biases(vae, {{"encoder.linear1.bias", {0.5f, 0.2f}},
                                {"decoder.linear1.bias", {0.1f, 0.6f}},
                                {"data_decoder.linear1.bias", {-0.2f, 0.0f}}});
  const double vq = std::exp(0.2), vd = std::exp(0.6);
  const double kl = 0.5 * (vq + 0.25 - 1.0 - 0.2);
  const double nll_theta = 0.5 * 0.6 + 0.5 * 0.36 / vd;  // θ = 0.7
  const double nll_x = 0.0 + 0.5 * 0.25;                 // x = 0.3, mean −0.2, var 1
  const torch::Tensor loss = vae.loss(t({0.7f}, 1, 1), t({0.3f}, 1, 1));
  EXPECT_NEAR(loss.item<double>(), 0.4 * kl + 0.4 * nll_theta + 0.2 * nll_x, 1e-5);
  vae.set_kl_weight(0.5);
  EXPECT_NEAR(vae.loss(t({0.7f}, 1, 1), t({0.3f}, 1, 1)).item<double>(), 0.5 * 0.4 * kl + 0.4 * nll_theta + 0.2 * nll_x,
              1e-5);
}

TEST(LatticeSpacing, FindsCountsBinaryAndScaledGridsButNotContinuousData) {
  torch::manual_seed(3);
  const int64_t n = 1000;
  const torch::Tensor counts = torch::randint(0, 40, {n, 1}).to(torch::kFloat);
  const torch::Tensor binary = torch::randint(0, 2, {n, 1}).to(torch::kFloat);
  const torch::Tensor grid = 0.25f * torch::randint(-20, 20, {n, 1}).to(torch::kFloat) + 3.0f;
  const torch::Tensor gappy = 2.0f * torch::randint(0, 5, {n, 1}).to(torch::kFloat) * 3.0f + 7.0f;  // 7, 13, ...
  const torch::Tensor continuous = torch::randn({n, 1});
  const torch::Tensor constant = torch::full({n, 1}, 4.0f);
  const torch::Tensor s = nn::lattice_spacing(torch::cat({counts, binary, grid, gappy, continuous, constant}, 1));
  EXPECT_FLOAT_EQ(s[0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(s[1].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(s[2].item<float>(), 0.25f);
  EXPECT_FLOAT_EQ(s[3].item<float>(), 6.0f);
  EXPECT_EQ(s[4].item<float>(), 0.0f);
  EXPECT_EQ(s[5].item<float>(), 0.0f);
  // One half-integer makes the lattice finer; one value off every grid makes the column continuous.
  torch::Tensor halves = counts.clone(), off = counts.clone();
  halves[0][0] = 2.5f;
  off[0][0] = 2.3f;
  EXPECT_FLOAT_EQ(nn::lattice_spacing(halves)[0].item<float>(), 0.5f);
  EXPECT_EQ(nn::lattice_spacing(off)[0].item<float>(), 0.0f);
}

TEST(UpVae, DataDecoderVarianceIsFlooredOnLatticeDimensionsOnly) {
  estimators::VaeConfig c;
  c.theta_dim = 1;
  c.x_dim = 2;
  c.encoder_hidden = c.decoder_hidden = c.data_decoder_hidden = {4};
  estimators::UpVae vae(c);
  // Column 0 is sir's first output in miniature: a count that is 0 in 998 of 1000 rows; column 1 is continuous.
  torch::manual_seed(5);
  torch::Tensor x = torch::cat({torch::zeros({1000, 1}), torch::randn({1000, 1})}, 1);
  x[10][0] = 1.0f;
  x[20][0] = 1.0f;
  vae.fit_standardization(torch::randn({1000, 1}), x);
  const double sd = x.select(1, 0).std().item<double>();
  EXPECT_NEAR(vae.x_log_var_floor()[0].item<double>(), std::log(1.0 / (sd * sd) / 12.0), 1e-4);
  EXPECT_EQ(vae.x_log_var_floor()[1].item<double>(), nn::kMinLogVar);
  // A data decoder that has collapsed to mean 0 (z units), log-variance −16: the loss of a row whose count
  // is 1 (z ≈ 22) stays bounded by the floor; without it NLL_x alone would be ~0.5·22²·e^16 ≈ 2e9.
  zero_weights_set_biases(vae, {{"data_decoder.linear1.bias", {0.0f, 0.0f, -16.0f, 0.0f}}});
  const torch::Tensor outlier = vae.loss(torch::zeros({1, 1}), x.slice(0, 10, 11));
  const double z = (1.0 - x.select(1, 0).mean().item<double>()) / sd;
  const double floor_var = 1.0 / (sd * sd) / 12.0;
  const double nll_x0 = 0.5 * std::log(floor_var) + 0.5 * z * z / floor_var;
  EXPECT_TRUE(std::isfinite(outlier.item<double>()));
  EXPECT_LT(outlier.item<double>(), 0.2 * nll_x0 + 50.0);
  EXPECT_GT(outlier.item<double>(), 0.2 * nll_x0 - 50.0);
}

TEST(CpVae, SamplesAreDecoderDrawsInOriginalUnits) {
  estimators::CpVae vae(tiny_config());
  // θ standardised with mean 10, std 2: decoder N(0.5, 1) in z units is N(11, 4) in θ units.
  vae.fit_standardization(10 + 2 * kUnitData, kUnitData);
  zero_weights_set_biases(vae, {{"decoder.linear1.bias", {0.5f, 0.0f}}});
  at::Generator gen = at::detail::createCPUGenerator(7);
  const torch::Tensor s = vae.sample_posterior(torch::zeros({1}), 100000, gen);
  EXPECT_NEAR(s.mean().item<double>(), 11.0, 5 * 2.0 / std::sqrt(1e5));
  EXPECT_NEAR(s.std().item<double>(), 2.0, 0.03);  // a draw, not the decoder mean (std would be 0)
}

// A deterministic estimator for trainer tests: a small MLP regression x -> θ with squared error.
class Regression final : public estimators::Estimator {
 public:
  Regression() { net_ = register_module("net", nn::Mlp(1, std::vector<int64_t>{16}, 1)); }
  std::string method() const override { return "regression"; }
  nlohmann::json config() const override { return {}; }
  void fit_standardization(const torch::Tensor&, const torch::Tensor&) override {}
  torch::Tensor loss(const torch::Tensor& theta, const torch::Tensor& x) override {
    return (net_->forward(x) - theta).pow(2).sum(1);
  }

 private:
  nn::Mlp net_{nullptr};
};

// Noisy data and a large learning rate: the validation loss goes up and down, so the last epoch is not
// the best one and plateaus happen.
train::TrainingData noisy_sine_data() {
  torch::manual_seed(5);
  const int64_t n = 400;
  train::TrainingData data;
  data.x = torch::rand({n, 1}) * 4 - 2;
  data.theta = torch::sin(2 * data.x) + 0.3 * torch::randn({n, 1});
  return data;
}

train::TrainOptions noisy_run_options(int64_t patience) {
  train::TrainOptions o;
  o.batch_size = 16;
  o.lr = 0.05;
  o.max_epochs = 200;
  o.patience = patience;
  o.seed = 11;
  o.progress = false;
  return o;
}

TEST(Trainer, EarlyStoppingRestoresTheBestEpoch) {
  const train::TrainingData data = noisy_sine_data();
  Regression model;
  const train::TrainOptions o = noisy_run_options(8);
  auto sync = train::make_mpi_grad_sync();
  const train::TrainHistory h = train::fit(model, data, o, *sync);
  const int64_t epochs = static_cast<int64_t>(h.val_loss.size());
  ASSERT_LT(h.best_epoch, epochs - 1) << "the last epoch was the best; the test needs a noisier run";
  EXPECT_EQ(epochs - 1 - h.best_epoch, o.patience);  // stopped exactly `patience` epochs after the best
  EXPECT_NE(h.stop_reason.find("early stopping"), std::string::npos);
  // The model now holds the best epoch's weights: its validation loss equals the recorded best.
  // Rebuild the validation split exactly as the trainer does (seeded permutation, first 10%).
  double best = *std::min_element(h.val_loss.begin(), h.val_loss.end());
  EXPECT_DOUBLE_EQ(best, h.best_val_loss);
  EXPECT_DOUBLE_EQ(h.val_loss[static_cast<size_t>(h.best_epoch)], best);
  // Evaluate the restored model on all rows vs the last epoch's weights: they must differ, and the
  // restored weights must reproduce the best validation loss on the validation rows.
  train::TrainOptions one = o;
  one.max_epochs = 1;
  one.lr = 1e-12;  // a no-op epoch: the reported validation loss is that of the current weights
  Regression copy;
  {
    torch::NoGradGuard ng;
    auto src = model.named_parameters();
    for (auto& p : copy.named_parameters()) p.value().copy_(src[p.key()]);
  }
  const train::TrainHistory again = train::fit(copy, data, one, *sync);
  EXPECT_NEAR(again.val_loss[0], h.best_val_loss, 1e-4 * std::fabs(h.best_val_loss));
}

TEST(Trainer, LearningRateHalvesOnAPlateauOnly) {
  const train::TrainingData data = noisy_sine_data();
  Regression model;
  train::TrainOptions o = noisy_run_options(12);
  o.lr_decay_patience = 4;
  auto sync = train::make_mpi_grad_sync();
  const train::TrainHistory h = train::fit(model, data, o, *sync);
  ASSERT_EQ(h.lr.size(), h.val_loss.size());
  EXPECT_DOUBLE_EQ(h.lr.front(), o.lr);
  // Replay the rule on the recorded validation losses: the rate in force at epoch e+1 is halved exactly
  // when e is lr_decay_patience epochs past both the last improvement and the last decay.
  double best = std::numeric_limits<double>::infinity(), lr = o.lr;
  int64_t best_epoch = -1, last_decay = -1, decays = 0;
  for (size_t e = 0; e < h.val_loss.size(); ++e) {
    EXPECT_DOUBLE_EQ(h.lr[e], lr) << "epoch " << e;
    if (h.val_loss[e] < best) best = h.val_loss[e], best_epoch = static_cast<int64_t>(e);
    if (static_cast<int64_t>(e) - std::max(best_epoch, last_decay) >= o.lr_decay_patience) {
      lr *= o.lr_decay_factor, last_decay = static_cast<int64_t>(e), ++decays;
    }
  }
  EXPECT_GE(decays, 2) << "the run never plateaued; the test needs a noisier run";
  EXPECT_LT(h.lr.back(), o.lr);
  // Off by default: the rate stays constant.
  Regression other;
  train::TrainOptions constant = o;
  constant.lr_decay_patience = 0;
  constant.max_epochs = 30;
  const train::TrainHistory c = train::fit(other, data, constant, *sync);
  for (double r : c.lr) EXPECT_DOUBLE_EQ(r, o.lr);
}

// Records the KL weight the trainer sets, separately for training steps and for validation.
class KlWeightProbe final : public estimators::Estimator {
 public:
  KlWeightProbe() { w_ = register_parameter("w", torch::zeros({1})); }
  std::string method() const override { return "probe"; }
  nlohmann::json config() const override { return {}; }
  void fit_standardization(const torch::Tensor&, const torch::Tensor&) override {}
  void set_kl_weight(double weight) override { weight_ = weight; }
  torch::Tensor loss(const torch::Tensor& theta, const torch::Tensor&) override {
    (torch::GradMode::is_enabled() ? train_weights : val_weights).push_back(weight_);
    return (theta - w_).pow(2).sum(1);
  }
  std::vector<double> train_weights, val_weights;

 private:
  torch::Tensor w_;
  double weight_ = 1.0;
};

TEST(Trainer, KlWarmupRampsTheWeightValidatesAtFullWeightAndDelaysEarlyStopping) {
  train::TrainingData data;
  data.theta = torch::ones({40, 1});
  data.x = torch::zeros({40, 1});
  train::TrainOptions o;
  o.batch_size = 36;  // one step per epoch (36 training rows)
  o.lr = 1e-12;       // the validation loss never improves after the first epoch
  o.max_epochs = 50;
  o.patience = 2;
  o.kl_warmup_epochs = 4;
  o.progress = false;
  auto sync = train::make_mpi_grad_sync();
  KlWeightProbe probe;
  const train::TrainHistory h = train::fit(probe, data, o, *sync);
  const std::vector<double> ramp = {0.25, 0.5, 0.75, 1.0, 1.0, 1.0};
  EXPECT_EQ(probe.train_weights, ramp);
  EXPECT_EQ(probe.val_weights, std::vector<double>(ramp.size(), 1.0));
  // Patience counts from the first full-weight epoch (index 3): stop 2 epochs later, 6 epochs in all.
  EXPECT_EQ(h.val_loss.size(), 6u);
  // Without warm-up the same run stops after 1 + patience epochs, at full weight throughout.
  KlWeightProbe plain;
  o.kl_warmup_epochs = 0;
  const train::TrainHistory p = train::fit(plain, data, o, *sync);
  EXPECT_EQ(p.val_loss.size(), 3u);
  EXPECT_EQ(plain.train_weights, std::vector<double>(3, 1.0));
}

TEST(ModelFile, RoundTripKeepsWeightsStatisticsAndMetadata) {
  estimators::VaeConfig c;
  c.theta_dim = 2;
  c.x_dim = 3;
  auto vae = std::make_shared<estimators::CpVae>(c);
  vae->fit_standardization(torch::randn({50, 2}) * 3 + 1, torch::randn({50, 3}) * 5 - 2);
  const std::string path = (std::filesystem::temp_directory_path() / "simbi_test_model.pt").string();
  store::ModelMeta written;
  written.method = vae->method();
  written.theta_dim = 2;
  written.x_dim = 3;
  written.estimator = vae->config();
  written.task = "unit";
  store::save_model_file(path, *vae, written);
  const store::ModelMeta meta = store::read_model_meta(path);
  EXPECT_EQ(meta.task, "unit");
  EXPECT_EQ(meta.format_version, store::kModelVersion);
  auto loaded = estimators::make_estimator(meta.estimator);
  store::load_model_weights(path, *loaded);
  auto* a = dynamic_cast<estimators::PosteriorSampler*>(vae.get());
  auto* b = dynamic_cast<estimators::PosteriorSampler*>(loaded.get());
  at::Generator g1 = at::detail::createCPUGenerator(3), g2 = at::detail::createCPUGenerator(3);
  const torch::Tensor x_o = torch::tensor({0.1f, 0.2f, 0.3f});
  EXPECT_TRUE(torch::equal(a->sample_posterior(x_o, 100, g1), b->sample_posterior(x_o, 100, g2)));
  std::filesystem::remove(path);
}

TEST(ModelFile, ForeignFilesAreRefusedWithAClearError) {
  const std::string path = (std::filesystem::temp_directory_path() / "simbi_not_a_model.pt").string();
  { std::ofstream(path) << "hello"; }
  try {
    store::read_model_meta(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a simbi model file"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
  EXPECT_THROW(estimators::make_estimator({{"method", "nope"}, {"theta_dim", 1}, {"x_dim", 1}}), Error);
}

}  // namespace
}  // namespace simbi

namespace simbi {
namespace {

TEST(FlatAdamW, MatchesTorchAdamWWithClippingStepForStep) {
  torch::manual_seed(2);
  nn::Mlp a(3, std::vector<int64_t>{8, 8}, 2), b(3, std::vector<int64_t>{8, 8}, 2);
  {
    torch::NoGradGuard ng;
    auto pa = a->named_parameters();
    for (auto& p : b->named_parameters()) p.value().copy_(pa[p.key()]);
  }
  train::AdamWOptions o;
  o.lr = 0.01;
  o.weight_decay = 0.05;
  train::FlatAdamW flat(a->parameters(), o);
  torch::optim::AdamW reference(b->parameters(), torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  const torch::Tensor x = torch::randn({32, 3}), y = torch::randn({32, 2}) * 5;
  for (int step = 0; step < 25; ++step) {
    flat.zero_grad();
    (a->forward(x) - y).pow(2).mean().backward();
    // The gradient landed in the flat buffer (parameters' grads are views of it).
    ASSERT_GT(flat.flat_grads().norm().item<double>(), 0.0);
    flat.clip_grad_norm(1.0);
    flat.step();

    reference.zero_grad();
    (b->forward(x) - y).pow(2).mean().backward();
    torch::nn::utils::clip_grad_norm_(b->parameters(), 1.0);
    reference.step();
  }
  auto pb = b->named_parameters();
  for (auto& p : a->named_parameters()) EXPECT_TRUE(torch::allclose(p.value(), pb[p.key()], 1e-5, 1e-6)) << p.key();
}

}  // namespace
}  // namespace simbi
