// The Bernoulli GLM shared by bernoulli_glm (x = Xᵀy) and bernoulli_glm_raw (x = y): the fixed
// stimulus, the design matrix, the smoothness prior and the simulator (docs/methods.md §7). Private to src/sim
// (and the unit tests). Contract: immutable data; the returned simulators are stateless.
#pragma once
#include <array>
#include <memory>
#include <vector>

#include "simbi/sim/task.hpp"

namespace simbi::sim::tasks {

constexpr int kGlmTimeBins = 100;  // T
constexpr int kGlmDim = 10;        // θ = (offset β₀, filter h₁..h₉)
using GlmDesignMatrix = std::array<float, static_cast<size_t>(kGlmTimeBins) * kGlmDim>;

// I_t = numpy RandomState(42).randn(100) as float32 (bit-equal to sbibm's stimulus).
const std::array<float, kGlmTimeBins>& glm_stimulus();
// X (100×10, row-major): column 0 is ones, X[t, j+1] = I_{t-j} for t >= j, else 0.
const GlmDesignMatrix& glm_design_matrix();
// The prior precision B (10×10, row-major): B[0,0] = 0.5, B[1:,1:] = FᵀF, F = D·D + diag(√(i/9)).
std::vector<double> glm_prior_precision();
// B⁻¹, symmetrised (what the Gaussian prior is built with).
std::vector<double> glm_prior_covariance();

// The whole task; raw = false gives bernoulli_glm (x = Xᵀy, 10-D), raw = true bernoulli_glm_raw (x = y).
Task make_bernoulli_glm_task(bool raw);

}  // namespace simbi::sim::tasks
