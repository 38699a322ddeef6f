// E&E (docs/methods.md §3): the symmetric InfoNCE equals a direct computation from the embeddings, both of its
// directions are present, the embeddings lie on the unit sphere (MLP and conv encoders, crops and test
// windows), an ensemble is the mean of its members, bad configurations are refused with a message naming the
// setting, and exact rejection with a known critic (mcmc::BoundedRatioSampler, what `simbi sample` uses for
// E&E) reproduces the target.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "simbi/core/error.hpp"
#include "simbi/estimators/ene.hpp"
#include "simbi/mcmc/rejection.hpp"
#include "simbi/sim/prior.hpp"
#include "test_util.hpp"

namespace simbi {
namespace {

nlohmann::json small_mlp_config() {
  return {{"method", "ene"}, {"theta_dim", 2},        {"x_dim", 3},          {"embed_dim", 4},
          {"tau", 0.2},      {"encoder_hidden", {8}}, {"emulator_width", 8}, {"emulator_blocks", 1}};
}

nlohmann::json small_conv_config() {
  return {{"method", "ene"},   {"theta_dim", 2},       {"x_dim", 2 * 40},         {"embed_dim", 5},
          {"encoder", "conv"}, {"series_channels", 2}, {"conv_channels", {4, 6}}, {"crop", 24},
          {"test_windows", 3}, {"emulator_width", 8},  {"emulator_blocks", 1}};
}

// Direct computation: S_ij = ⟨f_i, g_j⟩/τ; row_i = logsumexp_j S_ij − S_ii (x → θ), col_i =
// logsumexp_j S_ji − S_ii (θ → x), in double precision.
struct Directions {
  std::vector<double> row, col;
};
Directions direct_info_nce(const torch::Tensor& f, const torch::Tensor& g, double tau) {
  const auto fa = f.to(torch::kDouble).contiguous(), ga = g.to(torch::kDouble).contiguous();
  const int64_t n = f.size(0), d = f.size(1);
  auto s = [&](int64_t i, int64_t j) {
    double v = 0;
    for (int64_t k = 0; k < d; ++k) v += fa[i][k].item<double>() * ga[j][k].item<double>();
    return v / tau;
  };
  Directions out;
  for (int64_t i = 0; i < n; ++i) {
    double r = 0, c = 0;
    for (int64_t j = 0; j < n; ++j) {
      r += std::exp(s(i, j));
      c += std::exp(s(j, i));
    }
    out.row.push_back(std::log(r) - s(i, i));
    out.col.push_back(std::log(c) - s(i, i));
  }
  return out;
}

TEST(Ene, SymmetricLossEqualsTheDirectComputation) {
  torch::manual_seed(3);
  auto model = estimators::make_estimator(small_mlp_config());
  auto& ene = dynamic_cast<estimators::Ene&>(*model);
  const torch::Tensor theta = torch::randn({6, 2}), x = torch::randn({6, 3});
  ene.fit_standardization(torch::randn({50, 2}), torch::randn({50, 3}));
  ene.train();
  const torch::Tensor loss = ene.loss(theta, x);
  ASSERT_EQ(loss.sizes(), (std::vector<int64_t>{6}));
  torch::NoGradGuard no_grad;
  const Directions d = direct_info_nce(ene.embed_x(x), ene.embed_theta(theta), 0.2);
  double worst_row_only = 0;
  for (int64_t i = 0; i < 6; ++i) {
    EXPECT_NEAR(loss[i].item<double>(), d.row[i] + d.col[i], 1e-4) << "example " << i;
    worst_row_only = std::max(worst_row_only, std::fabs(loss[i].item<double>() - 2 * d.row[i]));
  }
  // Both directions: a one-sided loss (twice the x → θ term) is a different function.
  EXPECT_GT(worst_row_only, 1e-3);
  // Validation (eval mode) scores the same rows as one batch the same way.
  ene.eval();
  const torch::Tensor val = ene.loss(theta, x);
  for (int64_t i = 0; i < 6; ++i) EXPECT_NEAR(val[i].item<double>(), d.row[i] + d.col[i], 1e-4);
}

TEST(Ene, InfoNceCountsExtraNegatives) {
  torch::manual_seed(4);
  const torch::Tensor a = torch::randn({3, 4}), b = torch::randn({3, 4}), extra = torch::randn({5, 4});
  const torch::Tensor with = estimators::info_nce(a, b, 0, 0.5, extra), without = estimators::info_nce(a, b, 0, 0.5);
  // More negatives can only raise −log softmax at the positive.
  EXPECT_TRUE((with > without).all().item<bool>());
}

TEST(Ene, EmbeddingsHaveUnitNorm) {
  torch::manual_seed(5);
  nlohmann::json conv_ensemble = small_conv_config();
  conv_ensemble["ensemble"] = 2;
  for (const auto& config : {small_mlp_config(), small_conv_config(), conv_ensemble}) {
    auto model = estimators::make_estimator(config);
    auto& ene = dynamic_cast<estimators::Ene&>(*model);
    const int64_t dx = config["x_dim"].get<int64_t>();
    ene.fit_standardization(torch::randn({20, 2}), 3 + 2 * torch::randn({20, dx}));
    for (bool training : {true, false}) {
      ene.train(training);
      torch::NoGradGuard no_grad;
      const torch::Tensor f = ene.embed_x(torch::randn({7, dx})), g = ene.embed_theta(torch::randn({7, 2}));
      EXPECT_LT((f.norm(2, 1) - 1).abs().max().item<double>(), 1e-5) << config.dump();
      EXPECT_LT((g.norm(2, 1) - 1).abs().max().item<double>(), 1e-5) << config.dump();
    }
    // The critic is bounded by 1/τ.
    torch::NoGradGuard no_grad;
    const torch::Tensor f_o = ene.embed_x(torch::randn({1, dx})).reshape({-1});
    EXPECT_LE(ene.critic(f_o, torch::randn({100, 2})).max().item<double>(), 1.0 / ene.tau() + 1e-4);
  }
}

TEST(Ene, ConvTrainingLossUsesRandomCrops) {
  torch::manual_seed(6);
  auto model = estimators::make_estimator(small_conv_config());
  auto& ene = dynamic_cast<estimators::Ene&>(*model);
  ASSERT_EQ(ene.noise_dim(), 1);  // one crop offset per example
  ene.fit_standardization(torch::randn({20, 2}), torch::randn({20, 80}));
  ene.train();
  const torch::Tensor theta = torch::randn({4, 2}), x = torch::randn({4, 80});
  // Different crop offsets (noise) give different losses; the same noise gives the same loss.
  const torch::Tensor n1 = torch::full({4, 1}, -2.0), n2 = torch::full({4, 1}, 2.0);
  const torch::Tensor a = ene.loss_with_noise(theta, x, n1), b = ene.loss_with_noise(theta, x, n2);
  EXPECT_GT((a - b).abs().max().item<double>(), 1e-6);
  EXPECT_LT((a - ene.loss_with_noise(theta, x, n1)).abs().max().item<double>(), 1e-7);
}

TEST(Ene, BadConfigurationsNameTheSetting) {
  auto expect_error = [](nlohmann::json c, const std::string& needle) {
    try {
      (void)estimators::make_estimator(c);
      ADD_FAILURE() << "no error for " << c.dump();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto c = small_mlp_config();
  c["embed_dim"] = 0;
  expect_error(c, "embedding dimension");
  c = small_mlp_config();
  c["tau"] = 0.0;
  expect_error(c, "tau");
  c["tau"] = -1.0;
  expect_error(c, "tau");
  c = small_conv_config();
  c["series_channels"] = 3;  // does not divide x_dim 80
  expect_error(c, "series_channels");
  c = small_conv_config();
  c["crop"] = 41;  // longer than the 40 steps
  expect_error(c, "crop");
  c = small_mlp_config();
  c["encoder"] = "transformer";
  expect_error(c, "encoder");
  c = small_mlp_config();
  c["ensemble"] = 0;
  expect_error(c, "ensemble");
  c = small_mlp_config();
  c["theta_fourier"] = -1;
  expect_error(c, "--theta-fourier");
  c = small_mlp_config();
  c["x_fourier"] = 4;
  c["fourier_scale"] = 0.0;
  expect_error(c, "--fourier-scale");
  c = small_conv_config();
  c["x_fourier"] = 4;
  expect_error(c, "--x-fourier");
}

// An ensemble of K critics is the mean of K single models holding its members' weights: the critic
// (what the posterior uses) and the training loss. Member k's parameters are "encoder_k." / "emulator_k."
// (member 0 keeps the single model's names), so a model file from before ensembles loads as K = 1.
TEST(Ene, EnsembleIsTheMeanOfItsMembers) {
  torch::manual_seed(8);
  const int64_t k_members = 3;
  auto config = small_mlp_config();
  config["ensemble"] = k_members;
  auto model = estimators::make_estimator(config);
  auto& ensemble = dynamic_cast<estimators::Ene&>(*model);
  ensemble.fit_standardization(torch::randn({50, 2}), 2 + torch::randn({50, 3}));
  EXPECT_EQ(estimators::EneConfig::from_json(small_mlp_config()).ensemble, 1);  // a config without the field
  const auto params = ensemble.named_parameters(), buffers = ensemble.named_buffers();
  const torch::Tensor theta = torch::randn({9, 2}), x = 2 + torch::randn({9, 3}), x_o = 2 + torch::randn({1, 3});
  torch::Tensor critic_sum, loss_sum;
  std::vector<torch::Tensor> member_critics;
  for (int64_t k = 0; k < k_members; ++k) {
    auto single_model = estimators::make_estimator(small_mlp_config());
    auto& single = dynamic_cast<estimators::Ene&>(*single_model);
    const std::string suffix = k == 0 ? "" : "_" + std::to_string(k);
    {
      torch::NoGradGuard no_grad;
      for (auto& p : single.named_parameters()) {
        const std::string name = p.key(), module = name.substr(0, name.find('.'));
        const std::string member_name = module + suffix + name.substr(module.size());
        ASSERT_TRUE(params.contains(member_name)) << member_name;
        p.value().copy_(params[member_name]);
      }
      for (auto& b : single.named_buffers()) b.value().copy_(buffers[b.key()]);  // the shared z-scoring
    }
    single.train();
    const torch::Tensor l = single.loss(theta, x).detach();
    loss_sum = loss_sum.defined() ? loss_sum + l : l;
    torch::NoGradGuard no_grad;
    const torch::Tensor c = single.critic(single.embed_x(x_o).reshape({-1}), theta);
    critic_sum = critic_sum.defined() ? critic_sum + c : c;
    member_critics.push_back(c);
  }
  ensemble.train();
  const torch::Tensor loss = ensemble.loss(theta, x).detach();
  EXPECT_LT((loss - loss_sum / k_members).abs().max().item<double>(), 1e-5);
  torch::NoGradGuard no_grad;
  const torch::Tensor f_o = ensemble.embed_x(x_o).reshape({-1});
  ASSERT_EQ(f_o.size(0), k_members * 4);  // K·d
  EXPECT_NEAR(f_o.norm().item<double>(), 1.0, 1e-5);
  const torch::Tensor critic = ensemble.critic(f_o, theta);
  EXPECT_LT((critic - critic_sum / k_members).abs().max().item<double>(), 1e-5);
  // The members start from different initialisations: their critics differ.
  EXPECT_GT((member_critics[0] - member_critics[1]).abs().max().item<double>(), 1e-2);
}

// A known critic: g(θ) = (cos θ, sin θ), f_o = (1, 0), s = cos θ / τ on θ ~ U(−π, π). The posterior is
// the von Mises density with κ = 1/τ; the acceptance rate of rejection at the bound 1/τ is I₀(κ)e^{−κ}.
TEST(Ene, RejectionWithAKnownCriticReproducesTheTarget) {
  const double tau = 0.5, kappa = 1.0 / tau;
  const auto prior = sim::make_box_uniform({-M_PI}, {M_PI});
  const mcmc::CostFunction critic = [tau](ConstMatrixView theta, double* out) {
    for (int64_t i = 0; i < theta.rows; ++i) out[i] = std::cos(static_cast<double>(theta.data[i])) / tau;
  };
  mcmc::RejectionOptions o;
  o.seed = 11;
  mcmc::BoundedRatioSampler sampler(*prior, critic, 1.0 / tau, o);
  const int64_t n = 20000;
  const mcmc::RejectionResult r = sampler.sample(n, 10'000'000);
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.bound_restarts, 0);
  ASSERT_EQ(r.samples.size(0), n);
  // CDF of the von Mises density on a fine grid (trapezoid rule).
  const int64_t m = 200001;
  std::vector<double> grid(m), cdf(m, 0.0);
  for (int64_t i = 0; i < m; ++i) grid[i] = -M_PI + 2 * M_PI * static_cast<double>(i) / (m - 1);
  for (int64_t i = 1; i < m; ++i)
    cdf[i] = cdf[i - 1] + 0.5 * (std::exp(kappa * std::cos(grid[i])) + std::exp(kappa * std::cos(grid[i - 1]))) *
                              (grid[i] - grid[i - 1]);
  const double z = cdf.back();
  auto F = [&](double t) {
    if (t <= -M_PI) return 0.0;
    if (t >= M_PI) return 1.0;
    const auto i = static_cast<size_t>((t + M_PI) / (2 * M_PI) * (m - 1));
    const double w = (t - grid[i]) / (grid[i + 1] - grid[i]);
    return (cdf[i] + w * (cdf[i + 1] - cdf[i])) / z;
  };
  std::vector<double> draws(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) draws[i] = r.samples[i][0].item<double>();
  const double ks = test::ks_statistic(draws, F);
  EXPECT_GT(test::ks_pvalue(ks, draws.size()), 1e-3) << "KS " << ks;
  // Acceptance I₀(κ)e^{−κ} (the mean of exp(s − 1/τ) under the prior), within 4 binomial sd.
  const double expected = z / (2 * M_PI) * std::exp(-kappa);
  const double sd = std::sqrt(expected * (1 - expected) / static_cast<double>(r.epoch_draws));
  EXPECT_NEAR(r.acceptance_rate(), expected, 4 * sd);
}

}  // namespace
}  // namespace simbi
