// The trainer (docs/architecture.md §4): 90/10 split by seed, a global shuffle per epoch with each rank taking its
// slice of every global batch (rows in memory or streamed from the store: training_source.hpp), AdamW, gradient-norm
// clipping, early stopping with patience and best-weights restore, progress from rank 0. It sees only the Estimator
// interface. Contract: collective over the world communicator; every rank holds the same model.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "simbi/estimators/estimator.hpp"
#include "simbi/train/grad_sync.hpp"

namespace simbi::train {

struct TrainOptions {
  int64_t batch_size = 32;  // global batch (split over ranks)
  double lr = 5e-4;
  double weight_decay = 0.01;
  int64_t max_epochs = 1000;
  int64_t patience = 20;
  // Plateau decay of the learning rate: after lr_decay_patience epochs without a better validation
  // loss (counted from the last improvement or the last decay) the rate is multiplied by
  // lr_decay_factor. 0 keeps the rate constant (the paper's setting).
  int64_t lr_decay_patience = 0;
  double lr_decay_factor = 0.5;
  // KL warm-up (against posterior collapse): in epoch e < kl_warmup_epochs the KL term is weighted
  // (e+1)/kl_warmup_epochs. Validation always uses the full loss; early stopping and the learning-rate
  // decay count epochs without improvement from the first full-weight epoch on. 0 = off (the paper's).
  int64_t kl_warmup_epochs = 0;
  // Learning-rate schedule over epochs: "constant" (the default; --lr-decay-patience may still decay it
  // on plateaus) or "cosine" (from lr down to 0 at max_epochs, the E&E paper's schedule; excludes the
  // plateau decay). Either starts with lr_warmup_epochs of linear warm-up: lr·(e+1)/lr_warmup_epochs.
  std::string lr_schedule = "constant";
  int64_t lr_warmup_epochs = 0;
  double clip_norm = 3.0;  // 0: no clipping
  // Exponential moving average of the weights (0 = off): after every optimizer step
  // ema ← d·ema + (1 − d)·w with d = min(ema_decay, (1 + t)/(10 + t)) at step t (the warm-up keeps the
  // first steps' random initialisation from dominating). Validation, the best-weights snapshot and the
  // model fit() returns use the averaged weights; the optimizer keeps stepping the raw ones. Standard for
  // flow-matching and score models, whose per-step gradients are noisy (docs/methods.md §9).
  double ema_decay = 0.0;
  // Non-empty: the model starts from another model's weights and standardization (a warm start, set by
  // run_training from TrainRequest::init_from; the text names that model), and fit() keeps them instead
  // of standardizing by this data.
  std::string warm_start;
  // SNPE-C's atomic loss with this many atoms per row (npe only; Npe::set_atomic_loss, set by
  // run_training); 0: the estimator's own loss.
  int64_t atoms = 0;
  double validation_fraction = 0.1;
  uint64_t seed = 0;
  double max_seconds = std::numeric_limits<double>::infinity();
  bool progress = true;
  // Where the model, the batches and the optimizer live (not part of to_json(): a run checkpointed on
  // a GPU may resume on CPUs and back).
  torch::Device device{torch::kCPU};

  nlohmann::json to_json() const;
};

// Error(invalid_argument) naming the first option outside its range (batch >= 1, lr > 0 finite, weight
// decay >= 0 finite, epochs >= 1, patience >= 1, decay factor and validation fraction in (0, 1), clip
// norm 0 = off or > 0 finite, EMA decay 0 = off or in (0, 1), ...). Pure; fit() calls it, and `simbi train` before any
// other work.
void check_options(const TrainOptions& options);

struct TrainHistory {
  std::vector<double> train_loss, val_loss, epoch_seconds, lr;  // per epoch
  int64_t best_epoch = -1;                                      // 0-based
  double best_val_loss = std::numeric_limits<double>::infinity();
  // Estimators with a posterior density (estimators::PosteriorDensity): the mean of log q(θ | x) over the
  // validation rows with the kept (best) weights, in θ's own units, measured once when training ends.
  // Unlike the losses it compares across methods and parameterisations (NPE, FMPE, NPSE; with or without
  // a support transform). NaN when there is none (other methods, a stopped run, no validation rows).
  double val_log_prob = std::numeric_limits<double>::quiet_NaN();
  int64_t train_rows = 0, val_rows = 0;
  double seconds = 0.0;
  double allreduce_seconds = 0.0;
  // Where the training steps' time went (all epochs, this rank): batch gathering, forward (loss),
  // backward, gradient allreduce (including waiting for other ranks), clipping + optimizer update.
  double data_seconds = 0.0, forward_seconds = 0.0, backward_seconds = 0.0, optimizer_seconds = 0.0;
  int64_t steps = 0;
  std::string stop_reason;
  int stop_signal = 0;  // SIGTERM/SIGUSR1 that stopped the run after a checkpoint (0: ran to its end)
  // Checkpoints written (all sessions) and their cost on rank 0 (gathering state, encoding, writing,
  // syncing); the stop/checkpoint agreement (a one-value allreduce every few steps) in control_seconds.
  int64_t checkpoints = 0;
  double checkpoint_seconds = 0.0, control_seconds = 0.0;
  nlohmann::json resumes = nlohmann::json::array();  // one {epoch (1-based), row, ranks} per resume

  nlohmann::json to_json() const;
  static TrainHistory from_json(const nlohmann::json& j);  // inverse of to_json (checkpoints)
};

// Rows to train on: θ [N,dθ] and x [N,dx], every row finite.
struct TrainingData {
  torch::Tensor theta, x;
  int64_t dropped_rows = 0;  // failed / non-finite rows left out
};

// Reads every row with status ok from a simulation store (every rank reads it; small-data path); with
// rows_end > 0 only rows [0, rows_end) count (the later ones are dropped rows). Error(format) when no
// usable row is left.
TrainingData load_training_data(const std::string& store_path, int64_t rows_end = 0);

// When and where fit() writes checkpoints (see checkpoint.hpp). Rank 0 writes; every rank polls.
struct CheckpointPlan {
  std::string path;            // "" = no checkpoints and no signal handling (library use, tests)
  int64_t every_epochs = 1;    // at the end of every k-th epoch (0 = not at epoch ends)
  double every_seconds = 0.0;  // > 0: also at the first step boundary this long after the last one
  nlohmann::json fingerprint;  // training_fingerprint() of this run, stored in every checkpoint
  // The stop/checkpoint agreement runs every k steps, k set from the last epoch's step time so that
  // it runs about this often (every step in the first epoch and with 0): a stop or a timed checkpoint
  // waits at most about this long, and the agreement's allreduce costs nothing next to the steps.
  double poll_seconds = 0.05;
};

struct TrainState;

class TrainingSource;

// Trains `model` on the rows of `source` (training_source.hpp). With a plan, it also stops at a step
// boundary soon after a stop signal (stop_signal() on any rank, agreed with a one-value allreduce every
// few steps), writes a checkpoint and returns with history.stop_signal set (the model then holds the
// current, not the best, weights). With `resume` (decoded from a checkpoint whose fingerprint matches),
// it continues that run: same data order; torch's generator state per rank restored when the rank
// count is the same, re-seeded from (seed, epoch, rank) otherwise.
TrainHistory fit(estimators::Estimator& model, TrainingSource& source, const TrainOptions& options, GradSync& sync,
                 const CheckpointPlan& plan = {}, const TrainState* resume = nullptr);
// The same on rows held in memory (split by options.seed and options.validation_fraction).
TrainHistory fit(estimators::Estimator& model, const TrainingData& data, const TrainOptions& options, GradSync& sync,
                 const CheckpointPlan& plan = {}, const TrainState* resume = nullptr);

}  // namespace simbi::train
