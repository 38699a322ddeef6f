// An ACE cost network that returns NaN on part of θ-space (activations overflowing to ±inf inside the
// network, then inf − inf: what corrupted or diverged weights give), used as the GBI potential the way
// `simbi sample` uses it: the MCMC chains stay finite and out of the NaN region, and the NaN evaluations
// are counted and reported in one warning. (tests/unit/test_mcmc.cpp covers NaN from plain potentials.)
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <iostream>

#include "simbi/estimators/ace.hpp"
#include "simbi/mcmc/potential.hpp"
#include "simbi/mcmc/sampler.hpp"
#include "simbi/sim/task.hpp"

namespace simbi {
namespace {

TEST(AceNan, NanOnPartOfTheSpaceIsCountedAndTheChainsStayFinite) {
  torch::manual_seed(21);
  const sim::Task task = sim::make_task("gbi_uniform_1d");  // θ ~ U[−1.5, 1.5], x 1-D, mse
  estimators::Ace ace(estimators::AceConfig::from_json({{"method", "ace"},
                                                        {"theta_dim", 1},
                                                        {"x_dim", 1},
                                                        {"width", 16},
                                                        {"blocks", 2},
                                                        {"set_trials", 0},
                                                        {"distance", {{"name", "mse"}, {"dim", 1}}}}));
  const torch::Tensor theta_train = torch::rand({400, 1}) * 3.0 - 1.5;
  ace.fit_standardization(theta_train, theta_train.pow(2));
  // First unit of the input layer: 3e38 per unit of θ − mean(θ) (and nothing from x). It overflows to
  // +inf for θ − mean > ~1.13; the next layers then mix +inf with weights of both signs: NaN.
  {
    torch::NoGradGuard no_grad;
    auto params = ace.named_parameters();
    auto buffers = ace.named_buffers();
    const double sd = buffers["theta_zscore.std"][0].item<double>();
    params["net.input.weight"][0].zero_();
    params["net.input.weight"][0][0] = 3e38 * sd;
    params["net.input.bias"][0] = 0.0;
  }
  ace.eval();
  const double mean = ace.named_buffers()["theta_zscore.mean"][0].item<double>();
  const torch::Tensor x_o = torch::tensor({0.3f});
  torch::Tensor grid = torch::linspace(-1.5, 1.5, 3001).unsqueeze(1), c;
  {
    torch::NoGradGuard no_grad;
    c = ace.cost(grid, x_o);
  }
  const torch::Tensor nan = torch::isnan(c);
  // The set-up works as intended: NaN on the right end of the support only, finite in the middle.
  ASSERT_GT(nan.sum().item<int64_t>(), 100);
  ASSERT_FALSE(nan.index({grid.squeeze(1) < mean + 1.0}).any().item<bool>());
  const float nan_from = grid.index({nan}).min().item<float>();

  const double beta = 10.0;
  auto potential = mcmc::make_potential(
      [&](const at::Tensor& theta) {
        torch::NoGradGuard no_grad;
        return -beta * ace.cost(theta.to(torch::kFloat), x_o);
      },
      c10::ScalarType::Float, 1);
  mcmc::McmcOptions o;
  o.chains = 8;
  o.warmup = 50;
  o.thin = 2;
  o.seed = 3;
  o.init_candidates = 200;
  const mcmc::McmcResult r = mcmc::run_mcmc(*task.prior, potential.get(), 8 * 200, o);
  EXPECT_GT(r.nonfinite_evaluations, 0);
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_NE(r.warnings.front().find("NaN"), std::string::npos) << r.warnings.front();
  EXPECT_NE(r.warnings.front().find(std::to_string(r.nonfinite_evaluations)), std::string::npos) << r.warnings.front();
  EXPECT_TRUE(torch::isfinite(r.samples).all().item<bool>());
  EXPECT_LT(r.samples.max().item<float>(), nan_from);
  std::cout << "[ ace nan ] NaN for θ ≥ " << nan_from << "; " << r.warnings.front() << "\n";
}

}  // namespace
}  // namespace simbi
