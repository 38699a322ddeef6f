// The simulator shared by gaussian_linear and gaussian_linear_uniform (sbibm): x ~ N(θ, 0.1·I₁₀).
// Private to src/sim/tasks. Contract: the returned simulator is stateless (any thread may own it).
#pragma once
#include <memory>

#include "simbi/sim/simulator.hpp"

namespace simbi::sim::tasks {

constexpr int64_t kGaussianLinearDim = 10;
// sbibm's "scale 0.1" is a variance (docs/methods.md §7), for the noise and the Gaussian prior.
constexpr double kGaussianLinearVariance = 0.1;

std::unique_ptr<Simulator> make_gaussian_linear_simulator();

}  // namespace simbi::sim::tasks
