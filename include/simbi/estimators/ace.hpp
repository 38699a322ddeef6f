// ACE — amortized cost estimation for generalized Bayesian inference (docs/methods.md §2; Gao, Deistler &
// Macke 2023). A network ĉ(θ, x) regresses the distance d(x_θ, x_t) between a simulation of θ and a
// random target x_t; it converges to the expected cost C(θ, x_t) = E_{x~p(x|θ)} d(x, x_t), and the GBI
// posterior for any observation and inverse temperature β is p(θ)·exp(−β·ĉ(θ, x_o)), sampled by MCMC.
// Contract: a torch module. fit_standardization() also builds the target set (the training x, 3000
// noise-augmented copies, and any observations added with add_targets()) and the distance scale m̄;
// ĉ = m̄·h or m̄·softplus(h) for the network's output h (CostOutput).
// The targets of a θ (2 in training, 10 in eval mode) are picked by its noise row (noise_dim(): the
// trainer's per-row streams, so validation compares every epoch on the same targets and training is
// rank-count invariant); loss() without noise picks them from torch's default generator.
#pragma once
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "simbi/estimators/estimator.hpp"
#include "simbi/nn/frozen_residual_net.hpp"
#include "simbi/nn/residual_net.hpp"
#include "simbi/nn/zscore.hpp"
#include "simbi/sim/distance.hpp"

namespace simbi::estimators {

class FrozenAceCost;

// Target indices [rows·k] from the first k columns of standard-normal noise [rows, ≥ k]: ⌊Φ(z)·count⌋,
// uniform over [0, count) (row-major: row i's k targets together).
torch::Tensor ace_target_picks(const torch::Tensor& noise, int64_t k, int64_t count);

// How the network's output h becomes a cost: m̄·h (linear) or m̄·softplus(h) (the paper's). Softplus keeps
// the cost positive but works in its exponential range near a small minimum (C ≪ m̄), where a quadratic
// bowl in C is a narrow dip in h that the network smooths: the posterior at large β comes out too wide.
// The GBI posterior needs no positive cost (a constant shift of ĉ cancels), so linear is the default.
enum class CostOutput { linear, softplus };
CostOutput parse_cost_output(const std::string& name, const std::string& what);
const char* cost_output_name(CostOutput output);

// What the network sees and predicts.
//   network: ĉ(θ, x_o) from a residual network on [θ, x_o] (the paper's).
//   moments: for the mse distance only. E‖x − x_o‖²/D = ‖μ(θ) − x_o‖²/D + tr Σ(θ)/D exactly, so a network
//            on θ alone predicts the simulator's mean μ(θ) (D numbers, in z-scored x units) and one number h
//            for the variance term: ĉ = ‖μ(θ) − x_o‖²/D + (m̄·h or m̄·softplus(h), as CostOutput). The cost is
//            exact in x_o, so it extrapolates to observations far outside the simulations (misspecified),
//            where the network head can only guess. μ is a least-squares linear fit of x on θ (made with the
//            z-scoring) plus the network's residual, and the network sees z-scored θ through c·tanh(z/c)
//            (c = 3), so that beyond the simulations μ extrapolates linearly and the residual stays flat:
//            misspecified GBI posteriors at large β sit where the prior put few simulations, and an
//            unbounded residual network there moved them by up to 2 prior sd (docs/ace.md, "Configuration choices").
enum class CostHead { network, moments };
// The moments head's network input bound c, in sd of θ.
constexpr double kMomentsInputBound = 3.0;
CostHead parse_cost_head(const std::string& name, const std::string& what);
const char* cost_head_name(CostHead head);

struct AceConfig {
  int64_t theta_dim = 0;
  int64_t x_dim = 0;
  int64_t width = 64;  // units per residual block
  int64_t blocks = 3;  // residual blocks
  // The blocks' nonlinearity; model files from before this field have ReLU (the paper's).
  nn::Activation activation = nn::Activation::silu;
  // Model files from before this field have softplus (the paper's).
  CostOutput output = CostOutput::linear;
  // Model files from before this field have the network head.
  CostHead head = CostHead::network;
  // Set-valued x: `set_trials` points of x_dim / set_trials numbers each, seen through a
  // permutation-invariant embedding (0 = plain vector x).
  int64_t set_trials = 0;
  nlohmann::json distance;          // sim::Distance::to_json()
  int64_t train_targets = 2;        // targets per θ in a training step
  int64_t validation_targets = 10;  // fresh targets per held-out θ each epoch
  // Noise-augmented copies of training x in the target set: 100 in the paper; 3000 here, which covers
  // misspecified observations (outside the simulations' range) better (docs/ace.md).
  int64_t noise_targets = 3000;

  static AceConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

class Ace final : public Estimator {
 public:
  explicit Ace(const AceConfig& config);
  std::string method() const override { return "ace"; }
  nlohmann::json config() const override { return config_.to_json(); }
  void fit_standardization(const torch::Tensor& theta, const torch::Tensor& x) override;
  torch::Tensor loss(const torch::Tensor& theta, const torch::Tensor& x) override {
    return loss_with_noise(theta, x, {});
  }
  // One standard-normal number per target of a θ: its uniform transform picks the target.
  int64_t noise_dim() const override { return std::max(config_.train_targets, config_.validation_targets); }
  torch::Tensor loss_with_noise(const torch::Tensor& theta, const torch::Tensor& x,
                                const torch::Tensor& noise) override;
  // Observations (rows [n, dx]) to include in the target set; call before fit_standardization().
  void add_targets(const torch::Tensor& x);
  // ĉ(θ, x_t) for θ [n, dθ] and x_t [n, dx] (or one row [dx], broadcast), original units → [n].
  torch::Tensor cost(const torch::Tensor& theta, const torch::Tensor& x_t);
  // ĉ(·, x_o) for one observation x_o [dx], frozen for fast CPU inference (see FrozenAceCost).
  FrozenAceCost freeze(const torch::Tensor& x_o);
  const sim::Distance& distance() const { return *distance_; }
  double distance_scale() const { return distance_scale_.item<double>(); }
  int64_t target_count() const { return targets_.defined() ? targets_.size(0) : 0; }
  const torch::Tensor& targets() const { return targets_; }  // [T, dx] on the CPU

 private:
  // d(a_i, b_i) for rows of a and b [n, dx] (any device; computed on the CPU) → [n] float.
  torch::Tensor distances(const torch::Tensor& a, const torch::Tensor& b) const;
  // The network output h → m̄·h or m̄·softplus(h).
  torch::Tensor scaled_output(const torch::Tensor& h) const;
  // Moments head: μ(θ) in z-scored x units [n, D] and the variance term's h [n] from the network's output.
  std::pair<torch::Tensor, torch::Tensor> moments(const torch::Tensor& theta);

  AceConfig config_;
  std::shared_ptr<sim::Distance> distance_;
  nn::ZScore theta_z_{nullptr}, x_z_{nullptr};
  nn::SetEmbedding embedding_{nullptr};
  nn::ResidualNet net_{nullptr};
  torch::Tensor distance_scale_;  // buffer []: m̄, the mean distance of random (simulation, target) pairs
  // Moments head: buffer [dθ + 1, D], the least-squares fit z_x ≈ [z_θ, 1]·linear_mean_ (z-scored units).
  torch::Tensor linear_mean_;
  torch::Tensor extra_targets_;  // observations added to the target set
  torch::Tensor targets_;        // the target set (not saved: training only)
};

// ĉ(·, x_o) for one fixed observation as plain BLAS calls (nn::FrozenResidualNet): the x_o branch
// (z-score, set embedding) is computed once and folded, with θ's z-scoring, into the first layer.
// For MCMC, whose many small batched calls LibTorch's per-op cost would dominate. Equals
// Ace::cost(θ, x_o) up to float rounding. Contract as FrozenResidualNet (CPU, snapshot, one thread).
class FrozenAceCost {
 public:
  // The moments head's fixed parts: ‖μ(θ) − x_o‖² with μ = x_mean + x_std·(θ·slope + intercept + r) for the
  // network's first D outputs r, as (offset + scale·(θ·slope + r))² per dimension: offset = x_mean +
  // x_std·intercept − x_o, scale = x_std, slope [dθ, D] row-major (θ in original units); the network's input
  // is c·tanh(((θ − theta_shift) / theta_scale) / c). Empty for the network head.
  struct Moments {
    std::vector<float> offset, scale, slope, theta_shift, theta_scale;
  };
  FrozenAceCost(nn::FrozenResidualNet net, double distance_scale, CostOutput output, Moments moments = {})
      : net_(std::move(net)), distance_scale_(distance_scale), output_(output), moments_(std::move(moments)) {}
  int64_t theta_dim() const { return net_.in_dim(); }
  // costs[i] = ĉ(θ_i, x_o) for n rows of θ (row-major n × dθ, original units).
  void cost(const float* theta, int64_t n, float* costs);

 private:
  float scaled_output(float h) const;

  nn::FrozenResidualNet net_;
  double distance_scale_;
  CostOutput output_;
  Moments moments_;
  std::vector<float> out_;       // the moments head's network outputs [n, D + 1]
  std::vector<float> squashed_;  // and its network inputs [n, dθ]
};

}  // namespace simbi::estimators
