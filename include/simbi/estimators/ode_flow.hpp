// Posterior estimators whose draws integrate an ODE from a standard-normal base to the data (FMPE, NPSE;
// docs/flow_matching.md): the z-scoring of θ and x, sampling, log_prob by the instantaneous change of
// variables with the exact divergence, and the replaceable solver live here once; a subclass gives its
// loss, the ODE's right-hand side and the times of the ODE's two ends. With a support prior the ODE
// runs in the prior's unconstrained space u = T⁻¹(θ) (estimators/support_transform.hpp): every draw lies
// in the support and log_prob is a density of θ on it. Contract: torch modules, one thread at a time;
// sampling uses the generator given.
#pragma once
#include <optional>
#include <string>

#include "simbi/estimators/estimator.hpp"
#include "simbi/estimators/ode_sampled.hpp"
#include "simbi/estimators/support_transform.hpp"
#include "simbi/nn/ode_solvers.hpp"
#include "simbi/nn/vector_field.hpp"
#include "simbi/nn/zscore.hpp"

namespace simbi::estimators {

class OdeFlowEstimator : public Estimator, public PosteriorSampler, public PosteriorDensity, public OdeSampled {
 public:
  void fit_standardization(const torch::Tensor& theta, const torch::Tensor& x) override;
  // θ_base ~ N(0, base_std()²·I) from gen, integrated from base_time() to data_time() (with solver "pc":
  // the subclass's reverse-SDE sampler from the same base); original units.
  torch::Tensor sample_posterior(const torch::Tensor& x_o, int64_t n, at::Generator& gen) override;
  // log q(θ | x_o) [B] for θ [B, dθ] in original units (x_o [dx], or [B, dx]: one x per row): the ODE
  // integrated from data_time() back to the base together with the log-density change, minus Σ log std
  // of the θ z-score (and, with a support prior, minus log|det ∂T/∂u|; −inf outside the support). With
  // solver "pc" the ODE is integrated by rk4 with the same number of steps (a density needs the
  // deterministic flow).
  torch::Tensor log_prob(const torch::Tensor& theta, const torch::Tensor& x_o) override;
  // The solver is not part of the architecture: it can be changed after training (validated; "pc" only
  // where the subclass has a reverse SDE).
  const nn::OdeSolverOptions& solver() const override { return solver_; }
  void set_solver(const nn::OdeSolverOptions& solver) override;

 protected:
  // `name` prefixes error messages. A subclass's config() records solver(), the solver in use.
  // `support_prior`: a prior's JSON (sim::prior_from_json) to learn through, or null for the plain field.
  OdeFlowEstimator(int64_t theta_dim, int64_t x_dim, const nn::OdeSolverOptions& solver, std::string name,
                   const nlohmann::json& support_prior = nlohmann::json());
  // θ [B, dθ] in original units → the z-scored state the field is trained on (through T⁻¹ first with a
  // support prior). The subclasses' losses use it.
  torch::Tensor standardized_theta(const torch::Tensor& theta) const;
  // dθ/dt in z-scored units at one observation (z-scored x [1, dx]).
  virtual nn::OdeFunction ode(const torch::Tensor& x_z) = 0;
  virtual double base_time() const = 0;  // where θ ~ N(0, base_std()²·I)
  virtual double data_time() const = 0;  // where θ follows the posterior
  virtual double base_std() const { return 1.0; }
  // Solver "pc": draws from the base `base` [n, dθ] (z-scored units) to data_time() by the reverse-time
  // SDE, noise from gen. Only score models have one (has_reverse_sde()).
  virtual bool has_reverse_sde() const { return false; }
  virtual torch::Tensor sample_reverse_sde(const torch::Tensor& x_z, const torch::Tensor& base, at::Generator& gen);
  // A subclass's constructor calls this once its own state is set (has_reverse_sde() is virtual).
  void check_solver(const nn::OdeSolverOptions& solver) const;

  nn::ZScore theta_z_{nullptr}, x_z_{nullptr};

 private:
  torch::Tensor observation_z(const torch::Tensor& x_o, int64_t rows) const;
  // The z-scored state → θ in original units (through T with a support prior).
  torch::Tensor original_theta(const torch::Tensor& state_z) const;
  nn::OdeSolverOptions density_solver() const;

  int64_t theta_dim_;
  nn::OdeSolverOptions solver_;
  std::string name_;
  std::optional<SupportTransform> support_;
};

}  // namespace simbi::estimators
