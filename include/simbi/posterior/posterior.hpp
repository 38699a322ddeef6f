// Posteriors of trained models: one interface, whatever the estimator. make_posterior() builds the
// right one from a loaded model — CP-VAE / UP-VAE (direct draws from the amortised posterior), ACE
// (GBI posteriors p(θ)·exp(−β·ĉ(θ, x_o)) by the distributed MCMC engine), NLE (p(θ)·q(x_o | θ) by the
// same engine), E&E (p(θ)·exp(s(x_o, θ)) by
// exact rejection from the prior, or MCMC) — so callers never ask which estimator they hold. A new
// estimator adds one class in src/posterior/ and one line in make_posterior (docs/architecture.md).
//
// Contract: sample() is COLLECTIVE over options.comm (every rank calls it with the same observation and
// stream index, in the same order); the draws are gathered on the communicator's rank 0 and are the same
// for a given seed and rank count (E&E's and ACE's draws do not depend on the rank count at all). Errors
// are simbi::Error agreed across the communicator's ranks.
#pragma once
#include <mpi.h>
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "simbi/mcmc/sampler.hpp"
#include "simbi/posterior/model.hpp"

namespace simbi::posterior {

struct PosteriorOptions {
  int64_t num_samples = 10000;  // draws per observation (per β for ACE)
  uint64_t seed = 1;
  // Direct samplers: keep only draws inside the prior's support (the share inside is reported).
  bool reject_outside_prior = false;
  // ACE: the GBI posteriors' inverse temperatures (one draw set per β; at least one).
  std::vector<double> betas;
  // NLE: the rows of the observation file are i.i.d. observations of one θ, and one posterior is drawn for
  // all of them (the potential sums their log-likelihoods). Refused for other estimators.
  bool iid_observations = false;
  // ACE, NLE: slice (default) | rwm. E&E: auto (default: exact rejection, MCMC when its acceptance is below
  // min_acceptance) | rejection | slice | rwm. Empty = the estimator's default; refused for direct ones.
  std::string sampler;
  // MCMC (ACE, NLE, E&E): chains, warm-up, thinning, initial candidates, diagnostics, mode occupancy
  // (mcmc.mode_clusters: sample_to_files then writes each set's per-chain table). The seed, sampler and
  // stream index are set per call from the fields above.
  mcmc::McmcOptions mcmc;
  // E&E rejection: prior draws tried before auto decides, lowest acceptance auto accepts, draw cap.
  int64_t rejection_pilot = 262144;
  double min_acceptance = 1e-3;
  int64_t max_draws = 100000000;
  // FMPE / NPSE: the ODE solver's settings to sample with instead of the model's (keys solver, steps,
  // rtol, atol; empty = the model's own). Refused for models not sampled by an ODE.
  nlohmann::json ode_solver = nlohmann::json::object();
  MPI_Comm comm = MPI_COMM_NULL;  // the ranks sharing the work (MPI_COMM_NULL: simbi's world)
};

// One set of draws for an observation (ACE gives one per β).
struct DrawSet {
  torch::Tensor samples;  // [num_samples, dθ] float32 in original units; on the communicator's rank 0 only
  double beta = 0.0;      // the GBI inverse temperature (0: not a GBI posterior)
  double seconds = 0.0;   // wall time of this set on this rank
  // The report line's rest after "sampled N draws for observation k": the β, the time and how the
  // draws were made, e.g. " in 0.012 s (1.2M samples/s on 2 rank(s))" or
  // " in 0.31 s: exact rejection, acceptance 3.1% of 262144 prior draws". Rank 0 only.
  std::string summary;
  // MCMC diagnostics (0 when the draws are independent): the largest split-R̂ and smallest bulk ESS.
  double max_rhat = 0.0, min_ess_bulk = 0.0;
  // Chains whose draws lie off the others' (mcmc::Diagnostics::off_chains), of `chains`.
  int64_t off_chains = 0, chains = 0;
  // With mcmc.mode_clusters > 0, MCMC draws: how the chains share the modes (rank 0; `summary` has its line).
  mcmc::ModeOccupancy occupancy;
};

class Posterior {
 public:
  virtual ~Posterior() = default;
  // Draws for the observation x_o [x_dim] (original units; NLE also [m, x_dim]: m i.i.d. observations). `stream_index`
  // keys the random streams (e.g. the observation's index), so separate calls are independent and each is reproducible.
  // Collective over options.comm.
  virtual std::vector<DrawSet> sample(const torch::Tensor& x_o, uint64_t stream_index) = 0;
  // The number of draw sets sample() returns (ACE: the number of β values; else 1).
  virtual size_t sets() const { return 1; }
  // Whether log_prob() is available: estimators with a normalised density (NPE, FMPE, NPSE).
  virtual bool has_log_prob() const { return false; }
  // log q(θ | x_o) [B] for θ [B, dθ] (original units; −inf outside the prior's support where the model
  // knows it). Rank-local. Error(invalid_argument) when !has_log_prob(). With reject_outside_prior this
  // is the density before truncation to the support.
  virtual torch::Tensor log_prob(const torch::Tensor& theta, const torch::Tensor& x_o);
};

// Whether the model's posterior is a generalized (Gibbs) posterior rather than a Bayesian one (ACE):
// calibration against the prior predictive does not apply to it.
bool is_generalized_posterior(const LoadedModel& model);

// The number of MCMC chains sample() draws by for this model and these options (0: independent draws —
// direct sampling, or E&E's exact rejection, which its default sampler may pick). `simbi sample` writes
// chains draw-major (row i = draw i / C of chain i % C), so trace plots need C.
int64_t mcmc_chains(const store::ModelMeta& model, const PosteriorOptions& options);

// Checks the options against the model (a --beta for a non-ACE model, an ACE model without one, a
// sampler the model does not use, a model without the prior its sampler needs, bad counts) and builds
// its posterior. Error(invalid_argument) naming the option. Not collective: wrap in dist::run_agreed.
std::unique_ptr<Posterior> make_posterior(const LoadedModel& model, const PosteriorOptions& options);

}  // namespace simbi::posterior
