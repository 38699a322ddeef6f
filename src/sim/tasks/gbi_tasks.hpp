// Constants of the ACE (GBI) tasks shared by their simulators, the exact costs (src/sim/exact_cost.cpp)
// and the tests (docs/tasks_gbi.md). Private to src/sim. Contract: plain constants and pure functions.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace simbi::sim::tasks {

// gbi_uniform_1d: x = Σ_i c_i·(0.8·(θ + 0.25))^i + ε, ε ~ U[−kUniform1dNoise, kUniform1dNoise].
constexpr std::array<double, 5> kUniform1dCoeffs = {0.1627, 0.9073, -1.2197, -1.4639, 1.4381};
constexpr double kUniform1dNoise = 0.25;
// The noise-free mean of x at θ (the polynomial).
inline double uniform_1d_mean(double theta) {
  const double z = 0.8 * (theta + 0.25);
  double v = 0.0;
  for (int i = 4; i >= 0; --i) v = v * z + kUniform1dCoeffs[static_cast<size_t>(i)];
  return v;
}

// gbi_linear_gaussian: x = θ + s + diag(√Σ)·ξ. s ~ N(0, I₁₀) and Σ_kk = |ν_k|, ν ~ N(0, I₁₀), drawn
// once from RandomStream(kLinearGaussianTaskSeed, StreamPurpose::task_definition, 0): s_1..s_10 first,
// then ν_1..ν_10 (docs/tasks_gbi.md).
constexpr int64_t kLinearGaussianDim = 10;
constexpr uint64_t kLinearGaussianTaskSeed = 20230501;
struct LinearGaussianConstants {
  std::vector<double> shift;     // s
  std::vector<double> variance;  // Σ_kk
};
const LinearGaussianConstants& linear_gaussian_constants();

// gbi_gaussian_mixture: x = 5 iid 2-D trials (x[2j], x[2j+1]).
constexpr int64_t kMixtureTrials = 5;
constexpr int64_t kMixturePointDim = 2;

}  // namespace simbi::sim::tasks
