// The distributed MCMC engine: chains split across MPI ranks, each rank advancing all of its chains as
// one batch (one potential call per step), draws gathered on rank 0, split-R̂ and bulk ESS reported.
// Contract: run_mcmc is COLLECTIVE over options.comm (every rank calls it with the same arguments and
// options, the same prior and an equivalent potential); an error on any rank (bad options, a potential
// that throws, an initialisation that fails) is thrown as the same simbi::Error (a dist::AgreedError)
// on every rank, never a hang. Chain c uses random streams derived from (seed, stream_index, c) only,
// so with a row-independent potential every chain is bit-identical for any number of ranks.
#pragma once
#include <ATen/core/Tensor.h>
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "simbi/mcmc/diagnostics.hpp"
#include "simbi/mcmc/modes.hpp"
#include "simbi/mcmc/potential.hpp"
#include "simbi/sim/prior.hpp"

namespace simbi::mcmc {

enum class SamplerKind {
  slice,  // vectorized coordinate-wise slice sampling (stepping-out and shrinkage; Neal 2003)
  rwm,    // random-walk Metropolis with a proposal covariance adapted during warm-up (pooled over chains)
};
enum class InitKind {
  resample,  // per chain: init_candidates prior draws, pick one with probability ∝ ℓ(θ) (Gumbel-max)
  prior,     // one prior draw per chain
  given,     // chain c starts at row c of initial_states (e.g. an earlier posterior's draws)
};
const char* to_string(SamplerKind kind);
// "slice" | "rwm"; throws simbi::Error (invalid_argument) naming the accepted values otherwise.
SamplerKind parse_sampler(const std::string& name);

struct McmcOptions {
  SamplerKind sampler = SamplerKind::slice;
  int64_t chains = 100;  // total over all ranks (the ACE paper's defaults: 100 chains, 500 warm-up, thin 10)
  int64_t warmup = 500;  // slice: sweeps (a sweep updates every coordinate once); rwm: proposals
  int64_t thin = 10;     // keep one state every `thin` sweeps / proposals after warm-up
  uint64_t seed = 0;
  uint64_t stream_index = 0;  // separates independent runs with one seed (e.g. observation k, β j)
  InitKind init = InitKind::resample;
  int64_t init_candidates = 10000;  // prior candidates per chain for InitKind::resample
  // InitKind::given: [chains × dθ] row-major starting points in θ's units, inside the prior's support
  // and with a finite potential. They depend on nothing rank-local, so the chains stay rank invariant.
  std::vector<float> initial_states;
  int64_t max_batch_rows = 65536;  // most θ rows in one potential call during initialisation
  // slice sampler
  double slice_width = 0.01;        // initial bracket width per dimension in u-space
  int64_t slice_tune_sweeps = 50;   // widths = running mean of the final brackets over these sweeps (≤ warmup)
  int64_t slice_max_step_out = 50;  // Neal's m: at most m − 1 stepping-out steps per update (both sides)
  int64_t slice_max_shrink = 100;   // shrinkage proposals per update before keeping the current point
  // random-walk Metropolis
  double rwm_target_accept = 0.234;
  int64_t rwm_first_window = 25;  // adaptation windows of 25, 50, 100, ... proposals within warm-up
  // Mode jumps: after warm-up, every `thin` sweeps / proposals, this many independence Metropolis–Hastings
  // proposals per chain from a Gaussian kernel density over all chains' states at the end of warm-up, so
  // chains move between separated modes (0 = off; needs chains ≥ 2). Chains stay rank-count invariant.
  int64_t mode_jumps = 0;
  // diagnostics: rank-normalised split-R̂ and bulk ESS over all chains (needs chains ≥ 2)
  bool diagnostics = true;
  double rhat_warn = 1.01;  // a warning line when max R̂ exceeds this
  // > 0: McmcResult::occupancy — how the chains share this many modes found by k-means on the pooled
  // draws (mcmc/modes.hpp); 0 = not computed.
  int64_t mode_clusters = 0;
  // The communicator the chains are split over; MPI_COMM_NULL = simbi's world (dist::comm()).
  MPI_Comm comm = MPI_COMM_NULL;
};

struct McmcResult {
  // Rank 0 only (undefined tensors elsewhere):
  at::Tensor samples;       // [num_samples, d] float32, θ in original units; row i = draw i / C of chain i % C
                            // (draw-major over all C chains, so trimming to num_samples drops latest draws)
  at::Tensor chains;        // [C, draws_per_chain, d] float32, all kept draws in global chain order
  ModeOccupancy occupancy;  // with options.mode_clusters > 0
  // Every rank (the same values):
  int64_t num_chains = 0;
  int64_t draws_per_chain = 0;        // ceil(num_samples / C)
  int64_t iterations = 0;             // sweeps (slice) or proposals (rwm) per chain, warm-up included
  Diagnostics diagnostics;            // over all chains of `chains` (computed on rank 0, broadcast)
  int64_t init_evaluations = 0;       // θ rows evaluated by the potential during initialisation (all ranks)
  int64_t potential_evaluations = 0;  // θ rows evaluated while sampling (all ranks)
  int64_t potential_calls = 0;        // batched potential calls while sampling (summed over ranks)
  int64_t nonfinite_evaluations = 0;  // rows where the potential gave NaN/+inf (treated as -inf)
  int64_t step_out_limited = 0;       // slice: updates whose stepping-out stopped at the limit
  int64_t shrink_exhausted = 0;       // slice: updates that kept the current point after max shrinkage
  double acceptance_rate = 0.0;       // rwm: accepted / proposed after warm-up; slice: 1 minus exhausted share
  int64_t jumps_proposed = 0;         // mode-jump proposals (all ranks)
  int64_t jumps_accepted = 0;         // of which accepted
  double init_seconds = 0.0;          // initialisation wall time (max over ranks)
  double sampling_seconds = 0.0;      // warm-up + sampling wall time (max over ranks)
  double wall_seconds = 0.0;          // the whole call, gather and diagnostics included (max over ranks)
  std::vector<std::string> warnings;  // lines also logged as warnings (rank 0)

  double evaluations_per_second() const;  // potential_evaluations / sampling_seconds
  double ess_per_second() const;          // diagnostics.min_ess_bulk / wall_seconds
  std::string jump_summary() const;       // ", mode jumps 12.3% of 15000 accepted", or "" without jumps
};

// Draws num_samples θ from p(θ)·ℓ(θ) (potential may be null: the prior). Collective (see above).
// Errors (simbi::Error, identical on every rank): num_samples ≤ 0, chains < 1, chains < 2 with
// diagnostics, a potential whose dim() differs from the prior's, non-positive thin / widths /
// candidates, a potential output of the wrong shape, and an initialisation where the potential is
// -inf/NaN at every candidate of a chain.
McmcResult run_mcmc(const sim::Prior& prior, Potential* potential, int64_t num_samples,
                    const McmcOptions& options = {});

}  // namespace simbi::mcmc
