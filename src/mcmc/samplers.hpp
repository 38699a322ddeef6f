// Internal to the mcmc module: the rank-local chain state and the sampler interface run_mcmc drives.
// Contract: iterate() is rank-local (no MPI); synchronise() is collective over the engine's
// communicator and is called by every rank at the same iterations (sync_points()).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "simbi/core/random.hpp"
#include "simbi/dist/comm.hpp"
#include "simbi/mcmc/potential.hpp"
#include "simbi/mcmc/sampler.hpp"

namespace simbi::mcmc::detail {

using dist::Comm;

// This rank's chains [first, first + count) of all chains.
struct ChainSet {
  int64_t first = 0;
  int64_t count = 0;
  int64_t dim = 0;
  std::vector<double> u;               // count × dim current states, unconstrained space
  std::vector<double> logp;            // log π at u (always finite)
  std::vector<RandomStream> rng;       // the moves' stream of each chain (depends on seed and chain index only)
  std::vector<RandomStream> jump_rng;  // each chain's stream for mode jumps (ModeJumps)
};

struct SamplerStats {
  int64_t step_out_limited = 0;
  int64_t shrink_exhausted = 0;
  int64_t updates = 0;   // univariate updates (slice) or proposals (rwm) after warm-up
  int64_t accepted = 0;  // rwm: accepted proposals after warm-up
};

// Called when local chain c (0-based within the rank) has completed sweep t; its state is then ch.u.
using SweepDone = std::function<void(int64_t c, int64_t t)>;

class ChainSampler {
 public:
  explicit ChainSampler(int64_t local_chains) : local_chains_(local_chains) {}
  virtual ~ChainSampler() = default;
  // Iterations t (0 < t < total, increasing) after which synchronise(t) must run on every rank.
  virtual std::vector<int64_t> sync_points() const { return {}; }
  // One sweep (slice) or one proposal (rwm) of every local chain; t counts from 0, warm-up first.
  virtual void iterate(int64_t t) = 0;
  // Sweeps [t_begin, t_end) of every local chain, reporting each completed sweep. The default runs
  // them in lock-step with iterate(); a sampler may let its chains advance independently.
  virtual void run(int64_t t_begin, int64_t t_end, const SweepDone& done) {
    for (int64_t t = t_begin; t < t_end; ++t) {
      iterate(t);
      for (int64_t c = 0; c < local_chains_; ++c) done(c, t);
    }
  }
  virtual void synchronise(const Comm& comm, int64_t t) { (void)comm, (void)t; }
  virtual SamplerStats stats() const = 0;

 private:
  int64_t local_chains_;
};

// Independence Metropolis–Hastings proposals from a Gaussian kernel density over every chain's state
// (mode_jumps.cpp): moves between separated modes that the local samplers cannot cross.
class ModeJumps {
 public:
  // Per-chain warm-up moments, moment_stride(d) doubles per local chain: count, Σu [d], Σuuᵀ [d×d, lower].
  static size_t moment_stride(int64_t d) { return static_cast<size_t>(1 + d + d * d); }
  static void add_moments(const double* u, int64_t d, double* moments);
  // Collective over comm: the kernel centres are all chains' current states (ch.u on every rank), its
  // covariance half the pooled within-chain covariance of `moments` (this rank's chains, in order).
  ModeJumps(const ChainSet& ch, const std::vector<double>& moments, const Comm& comm);
  // `proposals` independence proposals for every local chain, one batched target call each;
  // rank-local, each chain drawing from its own jump_rng.
  void move(ChainSet& ch, UnconstrainedTarget& target, int64_t proposals);
  int64_t proposed() const { return proposed_; }
  int64_t accepted() const { return accepted_; }

 private:
  double log_q(const double* u);  // the kernel density's log at u

  int64_t d_, n_ = 0;
  std::vector<double> centers_, chol_;  // n × d centres; d × d lower Cholesky factor of the kernel
  double log_det_half_ = 0.0;           // Σ log L_aa
  std::vector<double> work_, scores_;
  int64_t proposed_ = 0, accepted_ = 0;
};

std::unique_ptr<ChainSampler> make_slice_sampler(ChainSet& chains, UnconstrainedTarget& target, const McmcOptions& o);
// Collective (sets its initial proposal from the pooled initial states of all chains).
std::unique_ptr<ChainSampler> make_rwm_sampler(ChainSet& chains, UnconstrainedTarget& target, const McmcOptions& o,
                                               const Comm& comm);

}  // namespace simbi::mcmc::detail
