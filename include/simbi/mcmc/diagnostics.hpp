// Convergence diagnostics for MCMC draws: split-R̂ (classic and rank-normalised, Vehtari et al. 2021)
// and effective sample sizes (Geyer's initial monotone sequence, as Stan computes them).
// Contract: pure functions, no MPI, no state. Draws of one scalar quantity are given chain-major:
// draws[c * n + i] is draw i of chain c, m chains of n draws each.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace simbi::mcmc {

// Classic R̂ (Gelman et al., BDA3) of the chains as given (no splitting): sqrt(var⁺ / W) with
// var⁺ = (n−1)/n·W + B/n. NaN when n < 2, m < 2 or every draw is equal; +inf when the chains
// are constant but differ.
double rhat(const double* draws, int64_t m, int64_t n);
// Classic split-R̂: each chain is cut into halves (the middle draw dropped when n is odd).
double split_rhat(const double* draws, int64_t m, int64_t n);
// Rank-normalised split-R̂ (Vehtari, Gelman, Simpson, Carpenter, Bürkner 2021): the maximum of the
// split-R̂ of the rank-normalised draws (bulk) and of the rank-normalised |draw − median| (tails);
// NaN when n < 4.
double rank_normalized_split_rhat(const double* draws, int64_t m, int64_t n);

// Effective sample size of the chains as given (Stan's multi-chain estimator; NaN when n < 4).
double ess(const double* draws, int64_t m, int64_t n);
// ESS of the split chains (posterior's ess_basic): the ESS of a mean of the raw draws (NaN when n < 8).
double ess_split(const double* draws, int64_t m, int64_t n);
// Bulk ESS: the ESS of the rank-normalised split chains (Vehtari et al. 2021; NaN when n < 8).
double ess_bulk(const double* draws, int64_t m, int64_t n);

// Rank normalisation: z = Φ⁻¹((r − 3/8) / (S + 1/4)) with r the average rank (ties) among all S draws.
std::vector<double> rank_normalize(const double* draws, int64_t count);

// How far each chain of [m, n] draws of one quantity lies from the others: |mean_c − mean of the other
// chains| in units of chain c's own Monte-Carlo standard error, sd / sqrt(ESS_c) with sd over all draws.
// Chains that explore the same distribution give offsets of about N(0, 1); a chain stuck in a mode the
// others do not share (two_moons' crescents, slcp's four modes) gives offsets of tens. NaN when n < 4.
std::vector<double> chain_offsets(const double* draws, int64_t m, int64_t n);

// Per-dimension diagnostics of chains [m, n, d] (any floating dtype): rank-normalised split-R̂ and
// bulk ESS of each dimension, and the chains off the pool (chain_offsets above kOffChainZ in a dimension). When m < 2
// or n < 8 (the split halves need 4 draws for an ESS) the vectors hold NaN and `computed` is false.
struct Diagnostics {
  bool computed = false;
  std::vector<double> rhat;         // rank-normalised split-R̂ per dimension
  std::vector<double> ess_bulk;     // bulk ESS per dimension
  double max_rhat = 0.0;            // NaN when not computed
  int64_t max_rhat_dim = -1;        // 0-based dimension of max_rhat
  double min_ess_bulk = 0.0;        // NaN when not computed
  std::vector<int64_t> off_chains;  // 0-based chains whose offset exceeds kOffChainZ in some dimension
  double max_chain_offset = 0.0;    // the largest offset over chains and dimensions (NaN when not computed)
};
// The offset beyond which a chain counts as off the pool: for chains that mix, each offset is about
// N(0, 1), so 6 flags one with probability ~2·10⁻⁹ per chain and dimension.
inline constexpr double kOffChainZ = 6.0;
Diagnostics diagnose(const at::Tensor& chains);

}  // namespace simbi::mcmc
