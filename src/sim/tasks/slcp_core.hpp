// The SLCP simulator core (sbibm), shared by slcp and slcp_distractors: 4 iid 2-D Gaussian points
// whose mean and covariance are set by θ. Private to src/sim/tasks. Contract: pure functions.
#pragma once
#include <memory>

#include "simbi/core/random.hpp"
#include "simbi/sim/prior.hpp"

namespace simbi::sim::tasks {

constexpr int64_t kSlcpThetaDim = 5;
constexpr int64_t kSlcpPoints = 4;
constexpr int64_t kSlcpDataDim = 2 * kSlcpPoints;  // 8

// U[-3,3]^5.
std::unique_ptr<Prior> make_slcp_prior();

// Writes the 8 SLCP values for θ (5 values): points interleaved (pt1_a, pt1_b, pt2_a, ...). Always
// draws exactly 8 standard normals from rng, whatever θ is.
void simulate_slcp_core(const float* theta, double* out, RandomStream& rng);

}  // namespace simbi::sim::tasks
