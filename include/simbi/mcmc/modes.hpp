// Mode occupancy of MCMC draws: how the chains share the posterior's modes, next to R̂ and ESS.
// The pooled draws (z-scored per dimension) are split into k modes by k-means (k-means++ seeding,
// Lloyd's iterations, the best of a few seeded restarts by within-mode sum of squares); then each chain's
// share of its draws in each mode is set beside the pool's. Chains that move between separated modes
// have shares near the pool's; a chain stuck in one mode has a share of 1 there and 0 elsewhere.
// k-means finds compact regions, not arbitrary shapes: on curved or touching modes (two_moons' crescents)
// a "mode" is a region of the posterior, and the table still shows chains that do not move between them.
// Contract: a pure function (no MPI, no state); the same chains, k and seed give the same result.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace simbi::mcmc {

struct ModeOccupancy {
  int64_t modes = 0;                // k; 0 = not computed
  std::vector<double> shares;       // [k] the pool's share of draws in each mode, largest first
  at::Tensor centers;               // [k, d] float64 mode centres in θ's units, in the order of `shares`
  at::Tensor chain_shares;          // [m, k] float64: chain c's share of its draws in each mode
  int64_t chains_visiting_all = 0;  // chains with at least one draw in every mode
  double max_share_gap = 0.0;       // the largest |chain share − pool share| over chains and modes
  // "2 modes (k-means): shares 0.51 0.49, every mode visited by 100 of 100 chains, chains' shares within 0.17
  // of the pool's"
  std::string summary() const;
};

// Chains [m, n, d] (any floating dtype, m ≥ 1, n ≥ 1); k in [1, m·n]. Error(invalid_argument) otherwise.
ModeOccupancy mode_occupancy(const at::Tensor& chains, int64_t k, uint64_t seed);

}  // namespace simbi::mcmc
