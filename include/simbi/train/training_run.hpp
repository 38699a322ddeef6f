// `simbi train` as a library call: fit the requested estimator to a simulation store, data-parallel over
// the ranks, with checkpoints, resume and stop signals, and write the model file (weights + typed
// metadata with the training history). Contract: COLLECTIVE over simbi's world; every validation error
// is a simbi::Error agreed across the ranks before any work (the options before the store is opened);
// rank 0 writes the model and checkpoints. With --resume, a model file that is already the finished
// result of this request is kept and nothing is trained; one of another request is an error unless a
// checkpoint of this request continues (and then replaces it).
#pragma once
#include <cstdint>
#include <string>

#include "simbi/store/sim_store.hpp"
#include "simbi/train/estimator_options.hpp"
#include "simbi/train/trainer.hpp"

namespace simbi::train {

struct TrainRequest {
  std::string data;  // simulation store
  std::string out;   // model file; its checkpoint is checkpoint_path(out)
  EstimatorOptions estimator;
  TrainOptions options;  // the loop's options; seed and max_seconds are set from the fields below
  uint64_t seed = 1;
  std::string device = "cpu", backend = "mpi";  // cpu | cuda; mpi | nccl
  std::string data_loading = "auto";            // auto | memory | stream
  double stream_buffer_mb = 16;
  // Continue from the checkpoint if there is one; when `out` is already the finished model of this
  // request (same estimator, options, data and max_epochs), train nothing (TrainOutcome::skipped).
  bool resume = false;
  double max_minutes = 0;  // 0 = no limit
  int64_t checkpoint_every_epochs = 1;
  double checkpoint_seconds = 0;
  int threads = 1;   // torch threads per rank (recorded in the model file)
  std::string task;  // when set, the store must hold this task's simulations (Error(invalid_argument) otherwise)
  // Train on the store's rows [0, rows_end) only (0: all rows): a sequential run's rounds so far, so a
  // round's model never depends on later rounds' rows. In-memory loading only.
  int64_t rows_end = 0;
  // Start from this model's weights and standardization instead of a fresh initialisation (a sequential
  // run's previous round): it must be a model of the same estimator config. Recorded in the training
  // options (TrainOptions::warm_start) as its file name and creation time.
  std::string init_from;
};

struct TrainOutcome {
  TrainHistory history;
  store::SimStoreMeta store;  // the training data's metadata
  std::string checkpoint;     // the checkpoint's path
  int64_t rows = 0;           // usable rows (training + validation)
  // The run stopped on SIGTERM/SIGUSR1: the checkpoint holds it and no model file was written.
  bool stopped() const { return history.stop_signal != 0; }
  int64_t checkpoint_bytes = 0;  // size of the removed checkpoint (rank 0), for the report
  // --resume found `out` finished for this request and trained nothing: what the model is. The history
  // is then empty and the model file untouched.
  std::string skipped;
};

TrainOutcome run_training(TrainRequest request);

}  // namespace simbi::train
