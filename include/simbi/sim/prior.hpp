// Priors over θ: sampling, log density, support, and a bijection to unconstrained space (for MCMC).
// Contract: immutable after construction, so one instance may be shared by threads; batched calls
// work on row-major float32 θ with double-precision arithmetic inside.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "simbi/core/matrix.hpp"
#include "simbi/core/random.hpp"

namespace simbi::sim {

class Prior {
 public:
  virtual ~Prior() = default;
  virtual int64_t dim() const = 0;
  // One line for `simbi tasks`, e.g. "U[-1,1]^2" or "N(0, Σ)".
  virtual std::string describe() const = 0;
  // A JSON description from which prior_from_json() rebuilds an equal prior (stored in files).
  virtual nlohmann::json to_json() const = 0;

  virtual void sample_one(float* theta, RandomStream& rng) const = 0;
  // log p(θ); -inf outside the support.
  virtual double log_prob_one(const float* theta) const = 0;
  virtual bool in_support(const float* theta) const = 0;

  // Bijection θ = T(u), u ∈ R^d: logit-scaled for boxes, log for log-normals, identity for Gaussians.
  virtual void to_unconstrained(const float* theta, double* u) const = 0;
  // Writes θ = T(u) and returns log|det ∂T/∂u| (what MCMC adds to the potential in u-space).
  virtual double from_unconstrained(const double* u, float* theta) const = 0;

  // Marginal means and standard deviations (used by tests and for default scales).
  virtual std::vector<double> mean() const = 0;
  virtual std::vector<double> stddev() const = 0;

  // Batched forms. Row i of a sample uses streams.row(i).
  void sample(MatrixView theta, const RowStreams& streams) const;
  void log_prob(ConstMatrixView theta, double* out) const;
};

// U[low, high] per dimension, independent.
std::unique_ptr<Prior> make_box_uniform(std::vector<double> low, std::vector<double> high);
// N(mean, cov) with a full covariance (row-major d×d, symmetric positive definite).
std::unique_ptr<Prior> make_gaussian(std::vector<double> mean, std::vector<double> cov);
// Independent log-normals: log θ_i ~ N(loc_i, scale_i²).
std::unique_ptr<Prior> make_log_normal(std::vector<double> loc, std::vector<double> scale);

// Rebuild a prior from Prior::to_json() or a user's config: {"type": "uniform", "low": [...],
// "high": [...]}, {"type": "gaussian", "mean": [...], "cov": [row-major d*d] or "std": [...]},
// {"type": "lognormal", "loc": [...], "scale": [...]}. `where` names the source in errors.
std::unique_ptr<Prior> prior_from_json(const nlohmann::json& spec, const std::string& where);

}  // namespace simbi::sim
