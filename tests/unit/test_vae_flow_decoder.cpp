// CP-VAE / UP-VAE with the neural spline flow decoder (decoder = "nsf"): the config round trip, the
// loss on the Gaussian decoder's scale, a CP-VAE that learns a known Gaussian posterior with it, and the
// decoder option's errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "simbi/core/error.hpp"
#include "simbi/estimators/estimator.hpp"
#include "simbi/estimators/vae.hpp"

namespace simbi {
namespace {

nlohmann::json nsf_cpvae(int64_t theta_dim, int64_t x_dim) {
  return {{"method", "cpvae"},
          {"theta_dim", theta_dim},
          {"x_dim", x_dim},
          {"decoder", "nsf"},
          {"decoder_flow", {{"transforms", 2}, {"hidden", 32}, {"bins", 8}}}};
}

TEST(VaeFlowDecoder, ConfigRoundTripsAndGaussianConfigsAreUnchanged) {
  for (const char* method : {"cpvae", "upvae"}) {
    nlohmann::json j = nsf_cpvae(2, 3);
    j["method"] = method;
    const auto model = estimators::make_estimator(j);
    const nlohmann::json c = model->config();
    EXPECT_EQ(c.at("decoder"), "nsf");
    EXPECT_EQ(c.at("decoder_flow").at("transforms"), 2);
    EXPECT_FALSE(c.contains("decoder_hidden"));
    EXPECT_EQ(estimators::make_estimator(c)->config(), c);
    const auto gaussian = estimators::make_estimator({{"method", method}, {"theta_dim", 2}, {"x_dim", 3}});
    EXPECT_FALSE(gaussian->config().contains("decoder")) << method;  // model files from before still match
    EXPECT_TRUE(gaussian->config().contains("decoder_hidden")) << method;
  }
}

TEST(VaeFlowDecoder, BadDecoderOptionsAreRefused) {
  nlohmann::json j = nsf_cpvae(2, 2);
  j["decoder"] = "mlp";
  try {
    estimators::make_estimator(j);
    FAIL() << "decoder mlp accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--decoder must be gaussian or nsf, got 'mlp'"), std::string::npos)
        << e.what();
  }
  j = nsf_cpvae(1, 2);  // coupling needs θ of dimension >= 2
  j["decoder_flow"]["conditioner"] = "coupling";
  EXPECT_THROW(estimators::make_estimator(j), Error);
  j["decoder_flow"]["conditioner"] = "auto";  // resolves to the autoregressive spline for 1-D θ
  EXPECT_NO_THROW(estimators::make_estimator(j));
  j = nsf_cpvae(2, 2);
  j["decoder_flow"]["bins"] = 1;
  EXPECT_THROW(estimators::make_estimator(j), Error);
}

// θ ~ N(1, 4·I), x = θ + N(0, I): θ | x ~ N((1/4 + x)/1.25, 0.8·I). A CP-VAE with the flow decoder,
// trained by Adam on fresh simulations, draws it: mean within 4 standard errors + 0.1·√v, variance
// within 4 standard errors + 15% (the network's error after a few seconds; the same allowance as the
// flow-matching tests).
TEST(VaeFlowDecoder, CpVaeLearnsAGaussianPosterior) {
  torch::manual_seed(7);
  auto model = estimators::make_estimator(nsf_cpvae(2, 2));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  auto draw = [&](int64_t n, torch::Tensor& theta, torch::Tensor& x) {
    theta = 1.0 + 2.0 * torch::randn({n, 2}, gen, torch::kFloat);
    x = theta + torch::randn({n, 2}, gen, torch::kFloat);
  };
  torch::Tensor theta, x;
  draw(20000, theta, x);
  model->fit_standardization(theta, x);
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(2e-3));
  const int64_t steps = 2000, batch = 256;
  for (int64_t s = 0; s < steps; ++s) {
    static_cast<torch::optim::AdamOptions&>(opt.param_groups()[0].options()).lr(2e-3 * (1.0 - double(s) / steps));
    draw(batch, theta, x);
    const torch::Tensor noise = torch::randn({batch, model->noise_dim()}, gen, torch::kFloat);
    opt.zero_grad();
    model->loss_with_noise(theta, x, noise).mean().backward();
    opt.step();
  }
  auto* sampler = dynamic_cast<estimators::PosteriorSampler*>(model.get());
  ASSERT_NE(sampler, nullptr);
  const torch::Tensor x_o = torch::tensor({2.0f, -1.0f});
  const int64_t n = 4000;
  auto sample_gen = at::make_generator<at::CPUGeneratorImpl>(99);
  const torch::Tensor draws = sampler->sample_posterior(x_o, n, sample_gen).to(torch::kDouble);
  const double v = 0.8;
  const torch::Tensor mu = (0.25 + x_o.to(torch::kDouble)) / 1.25;
  const torch::Tensor mean = draws.mean(0), var = draws.var(0);
  for (int64_t i = 0; i < 2; ++i) {
    EXPECT_NEAR(mean[i].item<double>(), mu[i].item<double>(), 4 * std::sqrt(v / n) + 0.1 * std::sqrt(v)) << i;
    EXPECT_NEAR(var[i].item<double>(), v, 4 * v * std::sqrt(2.0 / (n - 1)) + 0.15 * v) << i;
  }
  std::printf("[ measured ] cpvae nsf decoder: mean %s var %s (exact %s, %.2f)\n",
              std::to_string(mean[0].item<double>()).c_str(), std::to_string(var[0].item<double>()).c_str(),
              std::to_string(mu[0].item<double>()).c_str(), v);
}

}  // namespace
}  // namespace simbi
