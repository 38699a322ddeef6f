// The trainer (DESIGN.md): 90/10 split by seed, a global shuffle per epoch with each rank taking its
// slice of every global batch, AdamW, gradient-norm clipping, early stopping with patience and
// best-weights restore, progress from rank 0. It sees only the Estimator interface.
// Contract: collective over the world communicator; every rank holds the same model and data.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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
  double clip_norm = 3.0;  // <= 0: no clipping
  double validation_fraction = 0.1;
  uint64_t seed = 0;
  double max_seconds = std::numeric_limits<double>::infinity();
  bool progress = true;

  nlohmann::json to_json() const;
};

struct TrainHistory {
  std::vector<double> train_loss, val_loss, epoch_seconds, lr;  // per epoch
  int64_t best_epoch = -1;  // 0-based
  double best_val_loss = std::numeric_limits<double>::infinity();
  int64_t train_rows = 0, val_rows = 0;
  double seconds = 0.0;
  double allreduce_seconds = 0.0;
  // Where the training steps' time went (all epochs, this rank): batch gathering, forward (loss),
  // backward, gradient allreduce (including waiting for other ranks), clipping + optimizer update.
  double data_seconds = 0.0, forward_seconds = 0.0, backward_seconds = 0.0, optimizer_seconds = 0.0;
  int64_t steps = 0;
  std::string stop_reason;

  nlohmann::json to_json() const;
};

// Rows to train on: θ [N,dθ] and x [N,dx], every row finite.
struct TrainingData {
  torch::Tensor theta, x;
  int64_t dropped_rows = 0;  // failed / non-finite rows left out
};

// Reads every row with status ok from a simulation store (every rank reads it; small-data path).
// Error(format) when no usable row is left.
TrainingData load_training_data(const std::string& store_path);

TrainHistory fit(estimators::Estimator& model, const TrainingData& data, const TrainOptions& options,
                 GradSync& sync);

}  // namespace simbi::train
