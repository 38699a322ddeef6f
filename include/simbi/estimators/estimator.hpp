// The interfaces the trainer and the samplers see: an Estimator has a training loss; a
// PosteriorSampler draws θ for an observation. Estimators take θ and x in original units and
// standardise internally (z-score buffers saved with the weights). Contract: torch modules, one
// thread at a time; no MPI, no files.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace simbi::estimators {

// For losses that couple the rows of a batch (contrastive losses): the trainer hands the estimator a
// view of the whole global batch across the ranks. Collective: every rank calls it, in the same order,
// once per call site per step (a rank with no rows of this step passes a [0, k] tensor).
class BatchExchange {
 public:
  virtual ~BatchExchange() = default;
  struct Gathered {
    torch::Tensor rows;  // every rank's rows [B, k] in rank order, i.e. in global batch order
    int64_t offset = 0;  // where this rank's rows start in `rows`
  };
  // Differentiable: the backward pass sums the gradient of `rows` over the ranks and hands each rank
  // the part for its own rows, so the summed parameter gradients are those of the global-batch loss.
  virtual Gathered gather_rows(const torch::Tensor& local) = 0;
};

class Estimator : public torch::nn::Module {
 public:
  // "cpvae", "upvae", ...
  virtual std::string method() const = 0;
  // Dimensions and hyperparameters: make_estimator(config()) rebuilds an identical architecture.
  virtual nlohmann::json config() const = 0;
  // Sets the z-score statistics from the training rows (θ [N,dθ], x [N,dx]).
  virtual void fit_standardization(const torch::Tensor& theta, const torch::Tensor& x) = 0;
  // Per-example losses [B] for a batch (θ [B,dθ], x [B,dx], original units); the trainer averages.
  virtual torch::Tensor loss(const torch::Tensor& theta, const torch::Tensor& x) = 0;
  // Standard-normal draws the loss consumes per example (a VAE's reparameterisation), 0 if none. The
  // trainer draws them from streams keyed by the global batch position, so every example gets the same
  // noise on any number of ranks and after a resume: training is then rank-count invariant.
  virtual int64_t noise_dim() const { return 0; }
  // loss() with the given noise [B, noise_dim()] instead of draws from torch's global generator.
  virtual torch::Tensor loss_with_noise(const torch::Tensor& theta, const torch::Tensor& x,
                                        const torch::Tensor& noise) {
    (void)noise;
    return loss(theta, x);
  }
  // Weight of the loss's KL term, for KL warm-up (the trainer ramps it from small to 1 over the first
  // epochs and validates at 1). Methods without a KL term ignore it.
  virtual void set_kl_weight(double /*weight*/) {}
  // True when loss() couples the rows of a batch: the trainer then calls it on every rank at every
  // step (rows or not) and provides a BatchExchange while training.
  virtual bool couples_batch() const { return false; }
  // The exchange to use in training steps (nullptr: this rank's rows are the batch). Set by the trainer.
  virtual void set_batch_exchange(BatchExchange* /*exchange*/) {}
};

class PosteriorSampler {
 public:
  virtual ~PosteriorSampler() = default;
  // n draws of θ [n,dθ] (original units) from the posterior at one observation x_o [dx].
  virtual torch::Tensor sample_posterior(const torch::Tensor& x_o, int64_t n, at::Generator& gen) = 0;
};

// Estimators with a normalised posterior density (NPE, FMPE, NPSE): used by `simbi log-prob`, SBC ranks
// by density and truncated proposals.
class PosteriorDensity {
 public:
  virtual ~PosteriorDensity() = default;
  // log q(θ | x_o) [B] for θ [B, dθ] at one observation x_o [dx] (or at one x per row, x_o [B, dx]: the
  // trainer's held-out density), in original units; −inf outside the prior's support where the
  // estimator learned through it.
  virtual torch::Tensor log_prob(const torch::Tensor& theta, const torch::Tensor& x_o) = 0;
};

// The config's "theta_dim" and "x_dim" (both required and positive; Error(format) otherwise), for every
// method's from_json.
void read_config_dims(const nlohmann::json& config, int64_t& theta_dim, int64_t& x_dim);

// Builds an estimator from config(): {"method": ..., "theta_dim": ..., "x_dim": ..., ...}. Missing
// hyperparameters take the method's defaults; unknown methods are Error(invalid_argument).
std::shared_ptr<Estimator> make_estimator(const nlohmann::json& config);
// The methods make_estimator knows.
std::vector<std::string> known_methods();

}  // namespace simbi::estimators
