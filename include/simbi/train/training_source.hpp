// Where the trainer's rows come from (docs/architecture.md §4). Two sources, one interface:
//  - in memory: every rank holds all usable rows; rank-count invariant (each global batch is the same
//    rows on any number of ranks). The default whenever the data fit.
//  - streaming: each rank reads only its shard of the store, a window of chunks at a time, so a store
//    larger than memory trains with bounded memory per rank. Per epoch the training chunks are
//    shuffled globally and dealt round-robin to the ranks; each rank shuffles the rows of each window
//    of chunks it reads. Deterministic for a given seed and rank count (not across rank counts).
// Both split train/validation by seed and give every step's rows with their place in the global batch
// (lo, hi), so the trainer keys the reparameterisation noise by global position in either case.
// Contract: every method is called by every rank in the same order (no MPI inside; the sources
// compute every rank's share from data all ranks hold, so they never need to communicate).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace simbi::train {

struct TrainingData;

// This rank's rows of one step: global rows [lo, hi) of a global batch of `rows`.
struct Batch {
  torch::Tensor theta, x;
  int64_t rows = 0, lo = 0, hi = 0;
};

// A piece of this rank's validation rows; its noise is rows [lo, lo + theta.size(0)) of a draw of
// `noise_rows` rows keyed by `noise_key` (fixed across epochs).
struct ValidationPiece {
  torch::Tensor theta, x;
  uint64_t noise_key = 0;
  int64_t noise_rows = 0, lo = 0;
};

class TrainingSource {
 public:
  virtual ~TrainingSource() = default;
  virtual std::string mode() const = 0;      // "memory" | "stream"
  virtual int64_t train_rows() const = 0;    // all ranks
  virtual int64_t val_rows() const = 0;      // all ranks
  virtual int64_t dropped_rows() const = 0;  // failed / unsimulated rows left out
  // Rows for the z-score statistics, the same on every rank: all training rows in memory, a seeded
  // sample of training chunks (about 130k rows) when streaming.
  virtual std::pair<torch::Tensor, torch::Tensor> standardization_rows() = 0;
  // Steps in `epoch` at global batch `batch_size` (the same on every rank).
  virtual int64_t steps(int64_t epoch, int64_t batch_size) const = 0;
  // Global rows in `epoch`'s steps (the training loss's denominator).
  virtual int64_t epoch_rows(int64_t epoch, int64_t batch_size) const = 0;
  // Positions the source at step `first_step` of `epoch`; then next_batch() gives the steps in order.
  virtual void begin_epoch(int64_t epoch, int64_t first_step, int64_t batch_size) = 0;
  virtual Batch next_batch() = 0;
  // Calls `f` on each piece of this rank's validation rows (the same pieces every epoch).
  virtual void for_each_validation_piece(const std::function<void(const ValidationPiece&)>& f) = 0;
  // What the data are, for the checkpoint fingerprint: {store, rows, dropped_rows, hash, loading}.
  virtual nlohmann::json fingerprint() const = 0;
};

std::unique_ptr<TrainingSource> make_in_memory_source(TrainingData data, const std::string& store_path, uint64_t seed,
                                                      double validation_fraction);
// Streaming from a simulation store; `buffer_bytes` bounds the window of chunks each rank holds.
std::unique_ptr<TrainingSource> make_streaming_source(const std::string& store_path, uint64_t seed,
                                                      double validation_fraction, int64_t buffer_bytes);

}  // namespace simbi::train
