// `simbi simulate` as a library call: ranks claim chunks of the budget dynamically, simulate them and
// write their rows into one shared store; a resumed run simulates only the chunks not yet written.
// Contract: collective over the world communicator; every rank passes the same options and a Task of
// its own (simulators are per-process). Errors are agreed: every rank throws the same AgreedError, and a
// failure on one rank stops the others within a poll period (dist/stop_flag.hpp), interrupting an
// external command part-way. Rank 0 holds the store's lock (store_lock.hpp) from before the output is
// looked at until the store is closed, on success, error and stop signal alike. A budget whose rows
// cannot fit the free space is refused before anything is written. A stop signal (core/stop_signal.hpp,
// with a StopSignalScope alive) on any rank stops every rank cleanly: finished chunks stay in the store,
// `stopped_by` is set, no error; --resume finishes the store.
#pragma once
#include <cstdint>
#include <string>

#include "simbi/sim/task.hpp"
#include "simbi/store/sim_store.hpp"

namespace simbi::store {

enum class ExistingOutput { refuse, resume, overwrite };

// The largest --budget accepted (rank 0 reads one status byte per row into memory).
inline constexpr int64_t kMaxBudget = 10'000'000'000;

struct SimulationOptions {
  std::string out;
  int64_t budget = 0;
  uint64_t seed = 0;
  int64_t chunk_rows = 0;  // 0 = automatic (1024, fewer for very wide x; the store's value on resume)
  ExistingOutput existing = ExistingOutput::refuse;
  std::string simulator_description = "builtin";
  double progress_seconds = 5.0;
  bool break_lock = false;  // take the store's lock even when another process holds it
  // A sequential store (`simbi run` with rounds): `rounds` rounds of `round_rows` rows (budget must be
  // their product) and the run's identity, recorded in the store (SimStoreMeta). 0: a plain store.
  int64_t rounds = 0, round_rows = 0;
  std::string sequential;
  // Simulate only the rows of this round (1-based; 0: every row). Round 1's θ are prior draws; a later
  // round's θ are the proposal already written into the store (SimStore::write_proposal).
  int64_t round = 0;
};

struct SimulationSummary {
  int64_t budget = 0;
  int64_t rows_this_run = 0;  // rows simulated by this run (all ranks)
  int64_t failed_this_run = 0;
  StatusCounts store;  // whole store after the run
  StatusCounts range;  // the rows this run was asked for (options.round's, or the whole store)
  double seconds = 0.0;
  std::vector<int64_t> rows_per_rank;         // on rank 0
  std::vector<double> busy_seconds_per_rank;  // time spent simulating and writing, on rank 0
  bool resumed = false;
  int stopped_by = 0;  // the stop signal that ended the run before the store was complete (0: none)
};

// The rows per chunk used when the user gives none.
int64_t automatic_chunk_rows(int64_t x_dim);

SimulationSummary run_simulation(const SimulationOptions& options, sim::Task& task);

}  // namespace simbi::store
