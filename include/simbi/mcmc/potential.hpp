// Potentials for MCMC: a batched, unnormalised log-density term over θ in original units (what a
// network or a user supplies), and the target in the prior's unconstrained space that the samplers
// see. Contract: rank-local (no MPI); not thread-safe (a target counts its evaluations): one target
// per rank, used by one thread.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "simbi/sim/prior.hpp"

namespace simbi::mcmc {

// A batched log-density term log ℓ(θ) (e.g. −β·ĉ(θ, x_o) for ACE, the critic for E&E, a log
// likelihood). The posterior the engine samples is p(θ)·ℓ(θ) with the prior p.
class Potential {
 public:
  virtual ~Potential() = default;
  // θ [n, d] in original units, a CPU tensor of dtype() (a potential on a GPU moves it there) → [n]
  // (or [n, 1]) of any floating dtype, on any device. -inf is allowed
  // (zero density); NaN and +inf are treated as -inf for that row and counted, never propagated.
  // Rows are independent: a row's value must not depend on the other rows of the batch (then chains
  // are bit-identical for any number of ranks).
  virtual at::Tensor log_prob(const at::Tensor& theta) = 0;
  // The engine's entry point: log ℓ at n rows of θ (row-major n × d float32, d the prior's) into
  // out[n]. The default hands a tensor to log_prob() and checks the answer's shape; a potential may
  // override it to skip LibTorch's per-call cost (see estimators::FrozenAceCost). NaN/+inf as above.
  virtual void evaluate(const float* theta, int64_t n, int64_t d, double* out);
  // The dtype θ is handed over in (float32 or float64).
  virtual c10::ScalarType dtype() const { return c10::ScalarType::Float; }
  // Number of parameters, or -1 when the potential does not know (then it is not checked).
  virtual int64_t dim() const { return -1; }
};

using PotentialFn = std::function<at::Tensor(const at::Tensor&)>;
// A Potential from a function (tests, closed-form potentials). dim = -1: unchecked.
std::unique_ptr<Potential> make_potential(PotentialFn fn, c10::ScalarType dtype = c10::ScalarType::Float,
                                          int64_t dim = -1);

// Evaluation counters of a target (rank-local).
struct EvalCounters {
  int64_t calls = 0;      // batched calls of the potential
  int64_t rows = 0;       // θ rows evaluated by the potential
  int64_t nonfinite = 0;  // rows where the potential returned NaN or +inf (treated as -inf)
};

// The density the samplers see, over u ∈ R^d with θ = T(u) the prior's bijection:
//   log π(u) = log p(T(u)) + log|det ∂T/∂u| + log ℓ(T(u)),
// -inf outside the prior's support. θ = T(u) is computed in float32 by the prior (sim::Prior).
class UnconstrainedTarget {
 public:
  // potential may be null: then π is the prior itself (in u-space). Both must outlive the target.
  // Throws simbi::Error (invalid_argument) when the potential's dim() disagrees with the prior's.
  UnconstrainedTarget(const sim::Prior& prior, Potential* potential);

  int64_t dim() const { return dim_; }
  const sim::Prior& prior() const { return prior_; }
  bool has_potential() const { return potential_ != nullptr; }

  // log π at n rows of u (row-major n×d doubles) into out[n]: one call of the potential over the rows
  // inside the prior's support (none when n == 0).
  void log_prob(const double* u, int64_t n, double* out);
  // Tensor form: u [n, d] (any floating dtype) → [n] float64.
  at::Tensor log_prob(const at::Tensor& u);
  // log ℓ(θ) alone at n rows of θ (row-major n×d float32, inside the support): one call of the
  // potential; 0 for every row when there is no potential. NaN/+inf → -inf, counted.
  void potential_at(const float* theta, int64_t n, double* out);

  // θ = T(u) and u = T⁻¹(θ), row by row.
  void to_theta(const double* u, int64_t n, float* theta) const;
  void to_unconstrained(const float* theta, int64_t n, double* u) const;

  const EvalCounters& counters() const { return counters_; }
  void reset_counters() { counters_ = EvalCounters{}; }

 private:
  const sim::Prior& prior_;
  Potential* potential_;
  int64_t dim_;
  EvalCounters counters_;
  std::vector<float> theta_buf_;
  std::vector<double> logdet_buf_, prior_buf_, term_buf_;
  std::vector<int64_t> inside_;
};

}  // namespace simbi::mcmc
