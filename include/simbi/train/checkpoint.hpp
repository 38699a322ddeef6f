// Training checkpoints (`<out>.ckpt`, format "simbi-train-checkpoint"; docs/file_formats.md): everything
// fit() needs to continue a run exactly — weights, best-weights snapshot, optimizer, epoch and batch
// position, history, early-stopping and lr-decay state, torch's generator state per rank — plus a
// fingerprint of what it was trained on, checked before a resume.
// Contract: encode/decode and the fingerprint functions are pure (no MPI, no files); the trainer
// gathers the state and rank 0 writes it (store::write_file_atomically).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "simbi/train/flat_adamw.hpp"
#include "simbi/train/trainer.hpp"

namespace simbi::train {

inline constexpr const char* kCheckpointFormat = "simbi-train-checkpoint";
// Version 2 adds the content checksum (store/torch_archive.hpp), checked on every decode; version 1
// (no checksum) is still read.
inline constexpr int kCheckpointVersion = 2;
inline constexpr int kCheckpointChecksumVersion = 2;

// The checkpoint of `simbi train --out PATH`.
inline std::string checkpoint_path(const std::string& model_path) { return model_path + ".ckpt"; }

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct TrainState {
  int64_t epoch = 0;            // the epoch to continue (0-based)
  int64_t next_row = 0;         // its next global batch starts at this row of the epoch's shuffled order
  double epoch_loss_sum = 0.0;  // training loss summed over that epoch's rows already done (all ranks)
  double epoch_seconds = 0.0;   // time already spent in that epoch
  int64_t last_decay_epoch = -1;
  TrainHistory history;      // losses so far, best epoch and loss, steps, time
  NamedTensors model, best;  // parameters and buffers: now, and at the best validation loss
  FlatAdamWState optimizer;
  torch::Tensor ema;                        // the averaged weights, flat (TrainOptions::ema_decay > 0), else undefined
  std::vector<torch::Tensor> rng;           // torch's default CPU generator state of each rank (uint8)
  nlohmann::json fingerprint;               // training_fingerprint() of the run
  int format_version = kCheckpointVersion;  // as decoded; encode_checkpoint writes kCheckpointVersion
};

std::string encode_checkpoint(const TrainState& state);
// `simbi inspect --verify` for a checkpoint file: decodes it (checksum from version 2 on, metadata, every
// tensor record) and checks its weights are finite; one line per check made, Error(format) otherwise.
std::vector<std::string> verify_checkpoint(const std::string& path);
// Error(format) naming `path` when the bytes are not a simbi training checkpoint of a known version, or
// "<path>: checksum mismatch (file corrupted): stored X, computed Y" when they were changed since.
TrainState decode_checkpoint(const std::string& bytes, const std::string& path);

// What a run trains on: the estimator config, the training options (max_epochs left out: it may grow
// on resume), and the data (TrainingSource::fingerprint(): store path, rows, a hash of the rows, loading).
nlohmann::json training_fingerprint(const nlohmann::json& estimator_config, const TrainOptions& options,
                                    const nlohmann::json& data);
// The data part for rows held in memory: store path, rows, and a hash of every training row's θ and x.
nlohmann::json in_memory_data_fingerprint(const std::string& store_path, const TrainingData& data);
// 64-bit hash (hex) of θ and x rows, cheap enough (~GB/s) to cover every row.
std::string hash_rows(const torch::Tensor& theta, const torch::Tensor& x);
// Error(invalid_argument) with one line naming the checkpoint and what differs, when `now` is not
// what the checkpoint was written for (another method/architecture/options, or a changed store).
void check_fingerprint(const nlohmann::json& saved, const nlohmann::json& now, const std::string& path);
// The same test as a sentence about `what` ("checkpoint model.pt.ckpt", "model file model.pt"), "" when
// `saved` and `now` describe the same training.
std::string fingerprint_difference(const nlohmann::json& saved, const nlohmann::json& now, const std::string& what);

}  // namespace simbi::train
