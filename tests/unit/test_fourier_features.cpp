// Random Fourier features (nn::FourierFeatures): the output is [z, sin 2πzB, cos 2πzB] with the module's
// own frequency buffer B; B is fixed by the seed (the same on every rank, without a broadcast), has entries
// of the requested scale, and is saved and loaded with an E&E model, so a loaded critic equals the trained one.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "simbi/estimators/ene.hpp"
#include "simbi/nn/fourier_features.hpp"
#include "simbi/store/model_file.hpp"

namespace simbi {
namespace {

torch::Tensor frequencies(const nn::FourierFeatures& ff) { return ff->named_buffers()["frequencies"]; }

TEST(FourierFeatures, AreSinesAndCosinesOfFixedFrequencies) {
  const int64_t in = 2, count = 500;
  const double scale = 3.0;
  nn::FourierFeatures ff(in, count, scale, 42);
  ASSERT_EQ(ff->out_dim(), in + 2 * count);
  const torch::Tensor b = frequencies(ff);
  ASSERT_EQ(b.sizes(), (std::vector<int64_t>{in, count}));
  // 1000 N(0, scale²) draws: the sample sd is within 10% of the scale (its relative error is ~1/√2000 = 2.2%).
  EXPECT_NEAR(b.std().item<double>() / scale, 1.0, 0.1);
  EXPECT_NEAR(b.mean().item<double>(), 0.0, 5 * scale / std::sqrt(1000.0));

  torch::manual_seed(3);
  const torch::Tensor z = torch::randn({16, in});
  const torch::Tensor out = ff->forward(z);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{16, in + 2 * count}));
  EXPECT_TRUE(torch::equal(out.narrow(1, 0, in), z));
  const torch::Tensor s = out.narrow(1, in, count), c = out.narrow(1, in + count, count);
  const torch::Tensor phase = 2 * M_PI * z.to(torch::kDouble).matmul(b.to(torch::kDouble));
  EXPECT_LT((s.to(torch::kDouble) - torch::sin(phase)).abs().max().item<double>(), 1e-4);
  EXPECT_LT((c.to(torch::kDouble) - torch::cos(phase)).abs().max().item<double>(), 1e-4);

  // The seed fixes B regardless of the global torch seed; another seed gives other frequencies.
  torch::manual_seed(99);
  EXPECT_TRUE(torch::equal(frequencies(nn::FourierFeatures(in, count, scale, 42)), b));
  EXPECT_FALSE(torch::equal(frequencies(nn::FourierFeatures(in, count, scale, 43)), b));
  // No features: the identity.
  nn::FourierFeatures none(in, 0, scale, 42);
  EXPECT_EQ(none->out_dim(), in);
  EXPECT_TRUE(torch::equal(none->forward(z), z));
}

TEST(FourierFeatures, EneModelFileKeepsTheFrequencies) {
  const nlohmann::json config = {{"method", "ene"},     {"theta_dim", 2},       {"x_dim", 3},
                                 {"embed_dim", 4},      {"tau", 0.2},           {"encoder_hidden", {8}},
                                 {"emulator_width", 8}, {"emulator_blocks", 1}, {"theta_fourier", 6},
                                 {"x_fourier", 5},      {"fourier_scale", 2.0}, {"ensemble", 2}};
  torch::manual_seed(4);
  auto model = estimators::make_estimator(config);
  auto& ene = dynamic_cast<estimators::Ene&>(*model);
  ene.fit_standardization(torch::randn({30, 2}), torch::randn({30, 3}));
  // Each member has its own frequencies.
  const auto buffers = ene.named_buffers();
  ASSERT_TRUE(buffers.contains("theta_fourier.frequencies") && buffers.contains("theta_fourier_1.frequencies"));
  ASSERT_TRUE(buffers.contains("x_fourier.frequencies") && buffers.contains("x_fourier_1.frequencies"));
  EXPECT_FALSE(torch::equal(buffers["theta_fourier.frequencies"], buffers["theta_fourier_1.frequencies"]));
  ene.eval();
  const torch::Tensor x_o = torch::randn({1, 3}), theta = torch::randn({50, 2});
  auto critic_of = [&](estimators::Ene& e) {
    torch::NoGradGuard no_grad;
    return e.critic(e.embed_x(x_o).reshape({-1}), theta);
  };
  const torch::Tensor before = critic_of(ene);
  // Overwrite the frequencies so that a loaded model can only match by reading them from the file.
  {
    torch::NoGradGuard no_grad;
    for (auto& b : ene.named_buffers())
      if (b.key().find("fourier") != std::string::npos) b.value().normal_(0.0, 5.0);
  }
  const std::string path = (std::filesystem::temp_directory_path() / "simbi_test_fourier_ene.pt").string();
  store::ModelMeta written;
  written.method = ene.method();
  written.theta_dim = 2;
  written.x_dim = 3;
  written.estimator = ene.config();
  written.task = "unit";
  store::save_model_file(path, ene, written);
  const nlohmann::json saved = store::read_model_meta(path).estimator;
  EXPECT_EQ(saved["theta_fourier"], 6);
  EXPECT_EQ(saved["x_fourier"], 5);
  auto loaded_model = estimators::make_estimator(saved);
  auto& loaded = dynamic_cast<estimators::Ene&>(*loaded_model);
  store::load_model_weights(path, loaded);
  std::filesystem::remove(path);
  loaded.eval();
  const torch::Tensor a = critic_of(ene), b = critic_of(loaded);
  EXPECT_GT((a - before).abs().max().item<double>(), 1e-3);  // the features feed the critic
  EXPECT_LT((a - b).abs().max().item<double>(), 1e-5);
}

}  // namespace
}  // namespace simbi
