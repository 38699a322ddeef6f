// Exact sampling of a GBI posterior p(θ)·exp(−β·C(θ)) by rejection from the prior, for a cost C that can
// be evaluated cheaply and exactly (sim/exact_cost.hpp): the ground truth ACE is compared with (the ACE
// paper's "GT"). Contract: the constructor, estimated_acceptance() and sample() are COLLECTIVE over
// options.comm (same arguments on every rank); errors are thrown identically on every rank (agreed), never
// a hang. Draws come in blocks named by their global index, so the result is identical for any rank count.
#pragma once
#include <ATen/core/Tensor.h>
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "simbi/core/matrix.hpp"
#include "simbi/sim/prior.hpp"

namespace simbi::dist {
class Comm;
}

namespace simbi::mcmc {

// C(θ_i) for θ rows [n, d] (float32, inside the prior's support) → out[n]. NaN is allowed (that θ gets
// weight 0 and is counted); it must be row-independent and deterministic.
using CostFunction = std::function<void(ConstMatrixView theta, double* out)>;

struct RejectionOptions {
  uint64_t seed = 0;
  int64_t block_draws = 65536;  // prior draws per block: the unit of work, of the streams and of the cost calls
  // Bound search and pilot: this many prior draws (rounded up to whole blocks) give the minimum cost
  // found and the acceptance-rate estimate; the `refine_starts` lowest are then refined by Nelder–Mead in
  // the prior's unconstrained space (so every point tried is inside the support), `refine_evaluations`
  // cost evaluations per start.
  int64_t pilot_draws = 262144;
  int64_t refine_starts = 5;
  int64_t refine_evaluations = 2000;
  // C_lo = (lowest cost found) − bound_margin·(1 + |lowest cost found|): a little below the minimum, so a
  // minimum the search located only approximately does not trigger restarts (costs acceptance ×
  // exp(−β·margin), i.e. nothing at the usual scales).
  double bound_margin = 1e-6;
  // Use this C_lo instead of searching (tests; a wrong one is caught by the restart rule). NaN = search.
  double fixed_bound = std::numeric_limits<double>::quiet_NaN();
  int64_t max_blocks_per_round = 64;  // per rank: the most blocks between two collective steps
  MPI_Comm comm = MPI_COMM_NULL;      // MPI_COMM_NULL = simbi's world
};

struct RejectionResult {
  at::Tensor samples;          // rank 0 only: [num_samples, d] float32 (fewer when !complete)
  bool complete = false;       // num_samples accepted within max_draws
  int64_t accepted = 0;        // accepted draws in the final epoch (≥ num_samples when complete; before trimming)
  int64_t draws = 0;           // prior draws evaluated in all, blocks discarded by restarts included
  int64_t epoch_draws = 0;     // prior draws of the final epoch (those the accepted set comes from)
  int64_t nonfinite = 0;       // draws whose cost was NaN (never accepted)
  int64_t bound_restarts = 0;  // times a draw had C < C_lo: the bound was lowered and the accepted set restarted
  double cost_bound = 0.0;     // the final C_lo
  double seconds = 0.0;        // wall time (max over ranks)
  double acceptance_rate() const { return epoch_draws > 0 ? static_cast<double>(accepted) / epoch_draws : 0.0; }
};

// Rejection from the prior: θ ~ p(θ), accepted with probability exp(−β·(C(θ) − C_lo)). This is exact
// (the accepted draws are iid from p(θ)·exp(−β·C(θ)) / Z) when C_lo is a lower bound of C over the support,
// so that the probability never exceeds 1. C_lo comes from a search (pilot draws, local refinement, a small
// margin), which could miss a lower basin, so every evaluated draw is checked: a draw with C < C_lo proves
// the bound wrong; the bound is then lowered below that draw's cost (refined from it) and the accepted set
// restarts with the draws after it. The accepted set therefore always comes from draws made after the
// bound was last set, each accepted with probability ≤ 1 under one fixed bound. What no method of this
// kind can rule out is a region with C < C_lo that no pilot or sampling draw ever reached.
// Streams: (seed, sampling, tag + stream_index), one substream per block of draws.
class GbiRejectionSampler {
 public:
  // Collective: the pilot draws and the bound search (skipped with options.fixed_bound).
  GbiRejectionSampler(const sim::Prior& prior, CostFunction cost, const RejectionOptions& options = {});

  double cost_bound() const { return bound_; }          // the current C_lo (lowered by restarts of sample())
  double min_cost_found() const { return min_found_; }  // lowest C at any evaluated θ so far
  int64_t pilot_draws() const { return pilot_blocks_ * options_.block_draws; }
  int64_t search_evaluations() const { return search_evaluations_; }  // cost rows of the refinement (rank 0)

  // Collective: the expected acceptance rate at β, E_prior[exp(−β·(C − C_lo))], estimated on the pilot
  // draws (NaN costs count as rejections). 0 when every pilot weight underflows.
  double estimated_acceptance(double beta) const;

  // Collective: num_samples exact draws at β (streams separated by stream_index), using at most max_draws
  // prior draws in all (discarded ones included; the last block is cut at the cap); returns complete =
  // false (and the draws accepted so far) when they do not suffice.
  // Error(invalid_argument) for β ≤ 0, num_samples ≤ 0 or max_draws < 1.
  RejectionResult sample(double beta, int64_t num_samples, int64_t max_draws, uint64_t stream_index = 0);

 private:
  // Rank 0: the lowest cost reachable from θ0 by Nelder–Mead in u-space, and the θ there.
  double refine(const float* theta0, std::vector<float>& best_theta);
  double bound_below(double c) const;
  // Collective: rank 0 refines from each start; the lowest cost found (at most `lowest`) is broadcast and
  // the bound set below it, so the bound is the same on every rank for any rank count.
  void refine_and_set_bound(const dist::Comm& comm, double lowest, const std::vector<std::vector<float>>& starts);

  const sim::Prior& prior_;
  CostFunction cost_;
  RejectionOptions options_;
  double bound_ = 0.0, min_found_ = std::numeric_limits<double>::infinity();
  int64_t pilot_blocks_ = 0, search_evaluations_ = 0;
  std::vector<int64_t> my_pilot_blocks_;  // this rank's pilot blocks and their costs (block-major)
  std::vector<double> my_pilot_costs_;
};

// Exact rejection for p(θ)·exp(s(θ)) when an upper bound s ≤ s_max is known (E&E: s = ⟨f(x_o), g(θ)⟩/τ
// ≤ 1/τ for unit embeddings): θ ~ p(θ) accepted with probability exp(s(θ) − s_max). It is the GBI sampler
// at β = 1 with cost −s and the fixed bound −s_max (lowered by a float-rounding margin), so a value above
// the bound — which a correct s never gives — restarts the accepted set instead of biasing it.
// `log_ratio` writes s(θ_i) (NaN: weight 0, counted). Collective, rank-count invariant as that sampler.
class BoundedRatioSampler {
 public:
  BoundedRatioSampler(const sim::Prior& prior, CostFunction log_ratio, double s_max, RejectionOptions options = {});
  RejectionResult sample(int64_t num_samples, int64_t max_draws, uint64_t stream_index = 0) {
    return sampler_.sample(1.0, num_samples, max_draws, stream_index);
  }

 private:
  GbiRejectionSampler sampler_;
};

// Rejection ABC with the exponential kernel (docs/methods.md §6): stored simulation i is accepted
// with probability exp(−β·d(x_i, x_o)). Collective over options.comm: the rows are split over the ranks;
// the uniform of row i comes from (seed, sampling, tag + stream_index).substream(i) for every β (common
// random numbers: the accepted set at a larger β is a subset of that at a smaller one), so the result does
// not depend on the rank count.
struct AbcOptions {
  uint64_t seed = 0;
  uint64_t stream_index = 0;  // e.g. the observation's index
  MPI_Comm comm = MPI_COMM_NULL;
};
struct AbcResult {
  std::vector<std::vector<int64_t>> accepted;  // rank 0: per β, the accepted row indices, ascending
  std::vector<int64_t> accepted_count;         // per β (every rank)
  int64_t usable = 0;                          // rows used (usable and with a finite distance)
  int64_t nonfinite = 0;                       // usable rows whose distance was not finite (skipped, counted)
};
// distances(first, count, out): d(x_i, x_o) for rows [first, first + count) (called once per rank on its
// own rows); usable[i] = 0 skips row i (a failed simulation). Error(invalid_argument) for a β ≤ 0.
AbcResult rejection_abc(int64_t rows, const std::vector<uint8_t>& usable,
                        const std::function<void(int64_t first, int64_t count, double* out)>& distances,
                        const std::vector<double>& betas, const AbcOptions& options = {});

}  // namespace simbi::mcmc
