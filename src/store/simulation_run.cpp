#include "simbi/store/simulation_run.hpp"

#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "simbi/core/log.hpp"
#include "simbi/core/stop_signal.hpp"
#include "simbi/core/timing.hpp"
#include "simbi/core/version.hpp"
#include "simbi/dist/stop_flag.hpp"
#include "simbi/dist/work_counter.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/disk_space.hpp"
#include "simbi/store/store_lock.hpp"

namespace simbi::store {

namespace {

namespace fs = std::filesystem;

bool row_is_finite(const float* x, int64_t n) {
  for (int64_t j = 0; j < n; ++j)
    if (!std::isfinite(x[j])) return false;
  return true;
}

// Disk blocks of an existing file (what replacing it gives back), 0 when unknown.
int64_t allocated_bytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_blocks) * 512 : 0;
}

std::string rows_bytes_text(int64_t rows, const sim::Task& task) {
  return std::to_string(rows) + " rows x (" + std::to_string(task.theta_dim()) + " + " + std::to_string(task.x_dim()) +
         ") float32 values + 1 status byte per row + 1 MiB";
}

// Rank 0 takes the store's lock, then decides whether to create or resume, from the options and the
// file system, and refuses a new store whose rows cannot fit the free space.
bool decide_resume(const SimulationOptions& o, const sim::Task& task, StoreLock& lock) {
  require_writable_output(o.out, "--out");
  lock = StoreLock::acquire(o.out, o.break_lock);
  const bool exists = fs::exists(o.out);
  if (exists && o.existing == ExistingOutput::refuse)
    throw Error(ErrorKind::invalid_argument,
                o.out + ": output exists; pass --resume to finish it or --force to overwrite it");
  const bool resume = exists && o.existing == ExistingOutput::resume;
  if (!resume)
    require_free_space(o.out, store_row_bytes(o.budget, task.theta_dim(), task.x_dim()),
                       rows_bytes_text(o.budget, task), exists ? allocated_bytes(o.out) : 0);
  return resume;
}

SimStoreMeta requested_meta(const SimulationOptions& o, const sim::Task& task, int64_t chunk_rows) {
  SimStoreMeta m;
  m.task = task.name;
  m.theta_dim = task.theta_dim();
  m.x_dim = task.x_dim();
  m.budget = o.budget;
  m.chunk_rows = chunk_rows;
  m.seed = o.seed;
  m.simulator = o.simulator_description;
  m.prior_json = task.prior->to_json().dump();
  m.theta_labels = task.theta_labels;
  m.x_shape = task.x_shape;
  m.simbi_version = kVersion;
  m.rounds = o.rounds;
  m.round_rows = o.round_rows;
  m.sequential = o.sequential;
  return m;
}

// Reasons for raising the stop flag (dist/stop_flag.hpp).
constexpr int kStopFailure = 1;  // a rank's simulation failed: every rank stops, the error is agreed
constexpr int kStopSignal = 2;   // SIGTERM/SIGUSR1 on a rank: every rank stops cleanly, exit 0

// The rows a run simulates: the requested round's, or the whole budget. Chunks are counted from `first`.
struct RowRange {
  int64_t first = 0, end = 0;
  int64_t chunks(int64_t chunk_rows) const { return (end - first + chunk_rows - 1) / chunk_rows; }
  int64_t chunk_first(int64_t c, int64_t chunk_rows) const { return first + c * chunk_rows; }
  int64_t chunk_end(int64_t c, int64_t chunk_rows) const { return std::min(end, first + (c + 1) * chunk_rows); }
};

// Rank 0: the chunks of the range with a row not yet simulated (all of them for a new store).
// A resumed store's missing rows must fit the free space.
std::vector<int64_t> chunks_to_simulate(const SimulationOptions& o, const sim::Task& task, SimStore& store,
                                        int64_t chunk_rows, const RowRange& range, bool resumed) {
  const int64_t n_chunks = range.chunks(chunk_rows);
  std::vector<int64_t> todo;
  if (!resumed) {
    todo.resize(static_cast<size_t>(n_chunks));
    for (int64_t c = 0; c < n_chunks; ++c) todo[static_cast<size_t>(c)] = c;
    return todo;
  }
  const std::vector<uint8_t> status = store.read_status(range.first, range.end - range.first);
  for (int64_t c = 0; c < n_chunks; ++c) {
    for (int64_t r = range.chunk_first(c, chunk_rows); r < range.chunk_end(c, chunk_rows); ++r)
      if (status[static_cast<size_t>(r - range.first)] == kNotSimulated) {
        todo.push_back(c);
        break;
      }
  }
  const int64_t missing = count_status(status).not_simulated;
  if (missing > 0)
    require_free_space(o.out, store_row_bytes(missing, task.theta_dim(), task.x_dim()),
                       rows_bytes_text(missing, task) + " still to write");
  log::info("resuming " + o.out + ": " + std::to_string(todo.size()) + " of " + std::to_string(n_chunks) +
            " chunks still to simulate");
  return todo;
}

// The progress line rank 0 prints every progress_seconds.
std::function<void(const dist::WorkProgress&)> progress_reporter(int64_t rows_todo,
                                                                 std::chrono::steady_clock::time_point t0) {
  return [rows_todo, t0](const dist::WorkProgress& p) {
    const double secs = seconds_since(t0);
    const double rate = p.units_done / std::max(secs, 1e-9);
    const double eta = rate > 0 ? (rows_todo - p.units_done) / rate : NAN;
    char pct[16];
    std::snprintf(pct, sizeof pct, "%.1f%%", 100.0 * p.units_done / std::max<int64_t>(rows_todo, 1));
    log::info("simulate: " + log::human_count(p.units_done) + "/" + log::human_count(rows_todo) + " rows (" + pct +
              "), " + log::human_count(rate) + " rows/s, ETA " + log::human_duration(eta) + ", " +
              std::to_string(p.units_failed) + " failed");
  };
}

// What this rank did in the chunk loop.
struct LocalWork {
  int64_t rows = 0, failed = 0;
  double busy_seconds = 0.0;
  std::string error;  // empty: no failure on this rank
  ErrorKind kind = ErrorKind::runtime;
};

// Simulates one chunk into the store and returns its failed rows. Row r uses the streams (seed,
// purpose, r) only; its θ is a prior draw, or the round's proposal already in the store when
// theta_in_store. Throws sim::Interrupted when the stop flag goes up between slices.
class ChunkSimulator {
 public:
  ChunkSimulator(const SimulationOptions& o, sim::Task& task, SimStore& store, int64_t chunk_rows,
                 const RowRange& range, bool theta_in_store)
      : o_(o),
        task_(task),
        store_(store),
        range_(range),
        theta_in_store_(theta_in_store),
        chunk_rows_(chunk_rows),
        slice_rows_(std::min(chunk_rows, automatic_chunk_rows(task.x_dim()))),
        theta_base_(o.seed, StreamPurpose::prior_draw, 0),
        sim_base_(o.seed, StreamPurpose::simulation, 0) {}

  int64_t run(int64_t c, const std::function<bool()>& stop_requested) {
    const int64_t chunk_first = range_.chunk_first(c, chunk_rows_);
    const int64_t chunk_end = range_.chunk_end(c, chunk_rows_);
    int64_t failed = 0;
    // The chunk in slices of at most slice_rows, each simulated and then written (data, then status):
    // memory per rank stays bounded whatever --chunk-rows is. A crash between slices leaves the
    // chunk's later rows "not simulated", so resume redoes the whole chunk, with identical rows.
    for (int64_t first = chunk_first; first < chunk_end; first += slice_rows_) {
      if (stop_requested()) throw sim::Interrupted("simulate: stopped between slices");
      const int64_t rows = std::min(slice_rows_, chunk_end - first);
      if (theta_.rows() != rows) {
        theta_ = Matrix(rows, task_.theta_dim());
        x_ = Matrix(rows, task_.x_dim());
      }
      if (theta_in_store_)
        theta_ = store_.read_theta(first, rows);
      else
        task_.prior->sample(theta_.view(), RowStreams{theta_base_, first});
      task_.simulator->simulate(theta_.view(), x_.view(), RowStreams{sim_base_, first});
      status_.assign(static_cast<size_t>(rows), kOk);
      for (int64_t i = 0; i < rows; ++i)
        if (!row_is_finite(x_.row(i), x_.cols())) {
          status_[static_cast<size_t>(i)] = kFailed;
          ++failed;
        }
      store_.write_rows(first, theta_.view(), x_.view(), status_);
    }
    return failed;
  }
  int64_t rows_of(int64_t c) const { return range_.chunk_end(c, chunk_rows_) - range_.chunk_first(c, chunk_rows_); }

 private:
  const SimulationOptions& o_;
  sim::Task& task_;
  SimStore& store_;
  const RowRange range_;
  const bool theta_in_store_;
  const int64_t chunk_rows_, slice_rows_;
  const RandomStream theta_base_, sim_base_;
  Matrix theta_, x_;
  std::vector<uint8_t> status_;
};

// Claims chunks until none is left, a simulation fails, or a stop signal arrives, on this rank or any
// other: the stop flag is polled before each chunk, between slices and (through the simulator's
// interrupt check) every 50 ms of an external command's call, so every rank stops within a poll period
// of the first failure instead of after its own batch.
LocalWork simulate_chunks(const SimulationOptions& o, sim::Task& task, SimStore& store,
                          const std::vector<int64_t>& todo, int64_t chunk_rows, const RowRange& range,
                          bool theta_in_store, dist::WorkCounter& counter, dist::StopFlag& flag) {
  LocalWork w;
  ChunkSimulator chunks(o, task, store, chunk_rows, range, theta_in_store);
  const std::function<bool()> stop_requested = [&flag] {
    if (stop_signal() != 0) flag.raise(kStopSignal);
    return flag.raised() != 0;
  };
  task.simulator->set_interrupt_check(stop_requested);
  int64_t pending_done = 0, pending_failed = 0;
  for (;;) {
    if (stop_requested()) break;
    const int64_t item = counter.next(pending_done, pending_failed);
    pending_done = pending_failed = 0;
    if (item < 0) break;
    const auto chunk_start = std::chrono::steady_clock::now();
    const int64_t c = todo[static_cast<size_t>(item)];
    try {
      pending_failed = chunks.run(c, stop_requested);
    } catch (const sim::Interrupted&) {
      break;  // the flag is up; its reason is agreed after the loop
    } catch (const std::exception& e) {
      w.error = e.what();
      if (const auto* se = dynamic_cast<const Error*>(&e)) w.kind = se->kind();
      flag.raise(kStopFailure);
      break;
    }
    pending_done = chunks.rows_of(c);
    w.rows += pending_done;
    w.failed += pending_failed;
    w.busy_seconds += seconds_since(chunk_start);
  }
  task.simulator->set_interrupt_check({});
  counter.abort();  // no-op when the counter ran out; else stop handing out chunks
  return w;
}

// Collective: this run's rows from every rank and the state of the whole store, into the summary.
void add_totals(SimulationSummary& summary, const LocalWork& w, const std::string& out, const RowRange& range) {
  summary.rows_this_run = dist::allreduce_sum(w.rows);
  summary.failed_this_run = dist::allreduce_sum(w.failed);
  summary.rows_per_rank.assign(static_cast<size_t>(dist::size()), 0);
  summary.busy_seconds_per_rank.assign(static_cast<size_t>(dist::size()), 0.0);
  MPI_Gather(&w.rows, 1, MPI_INT64_T, summary.rows_per_rank.data(), 1, MPI_INT64_T, 0, dist::comm());
  MPI_Gather(&w.busy_seconds, 1, MPI_DOUBLE, summary.busy_seconds_per_rank.data(), 1, MPI_DOUBLE, 0, dist::comm());
  std::vector<int64_t> counts(6, 0);
  if (dist::is_root()) {
    const std::vector<uint8_t> status = SimStore::open_read(out).read_status();
    const StatusCounts c = count_status(status);
    const StatusCounts r = count_status(std::vector<uint8_t>(status.begin() + range.first, status.begin() + range.end));
    counts = {c.not_simulated, c.ok, c.failed, r.not_simulated, r.ok, r.failed};
  }
  dist::broadcast(counts);
  summary.store = StatusCounts{counts[0], counts[1], counts[2]};
  summary.range = StatusCounts{counts[3], counts[4], counts[5]};
}

}  // namespace

int64_t automatic_chunk_rows(int64_t x_dim) {
  // At most ~64 MiB of x per chunk in memory, at most 1024 rows (lorenz96's 1.6 MB rows: 42 rows).
  const int64_t by_memory = (int64_t{64} << 20) / (4 * std::max<int64_t>(x_dim, 1));
  return std::max<int64_t>(1, std::min<int64_t>(1024, by_memory));
}

SimulationSummary run_simulation(const SimulationOptions& o, sim::Task& task) {
  const auto t0 = std::chrono::steady_clock::now();
  SimulationSummary summary;
  summary.budget = o.budget;

  // 1. Checks every rank makes identically, then the lock and the file-system checks of rank 0.
  StoreLock lock;  // rank 0; declared before the store, so released only after the store is closed
  int64_t resume_flag = 0;
  dist::run_agreed([&] {
    require(o.budget >= 1 && o.budget <= kMaxBudget, ErrorKind::invalid_argument,
            "--budget must be a positive number of simulations, from 1 to " + std::to_string(kMaxBudget) + ", got " +
                std::to_string(o.budget));
    require(o.chunk_rows >= 0, ErrorKind::invalid_argument,
            "--chunk-rows must be positive, got " + std::to_string(o.chunk_rows));
    require(!o.out.empty(), ErrorKind::invalid_argument, "--out is required");
    require(o.rounds >= 0 && (o.rounds == 0 || (o.round_rows >= 1 && o.rounds * o.round_rows == o.budget)) &&
                o.round >= 0 && o.round <= o.rounds,
            ErrorKind::internal, "run_simulation: rounds, round_rows, round and budget do not agree");
    require(task.theta_dim() == task.simulator->theta_dim(), ErrorKind::invalid_argument,
            "task '" + task.name + "': prior dimension " + std::to_string(task.theta_dim()) +
                " differs from the simulator's theta dimension " + std::to_string(task.simulator->theta_dim()));
    if (dist::is_root()) resume_flag = decide_resume(o, task, lock) ? 1 : 0;
  });
  dist::broadcast(resume_flag);
  summary.resumed = resume_flag != 0;

  // 2. Create or open the store (collective), and find the chunks still to simulate.
  SimStore store;
  std::vector<int64_t> todo;
  int64_t chunk_rows = o.chunk_rows > 0 ? o.chunk_rows : automatic_chunk_rows(task.x_dim());
  dist::run_agreed([&] {
    if (summary.resumed) {
      store = SimStore::open_for_resume(o.out, dist::comm());
      if (o.chunk_rows == 0) chunk_rows = store.meta().chunk_rows;
      check_resume_compatible(store.meta(), requested_meta(o, task, chunk_rows), o.out);
    } else {
      SimStoreMeta meta = requested_meta(o, task, chunk_rows);
      std::string created = utc_now_iso8601();
      meta.created = created;
      store = SimStore::create(o.out, meta, dist::comm());
    }
  });
  const RowRange range{store.meta().round_first(o.round), store.meta().round_end(o.round)};
  // A later round's θ are its proposal, written into the store before the round is simulated.
  bool theta_in_store = false;
  dist::run_agreed([&] {
    if (o.round <= 1) return;
    const std::string proposal = store.round_proposal(o.round);
    require(!proposal.empty(), ErrorKind::internal,
            o.out + ": round " + std::to_string(o.round) + " has no proposal yet; it cannot be simulated");
    theta_in_store = true;
  });
  dist::run_agreed([&] {
    if (dist::is_root()) todo = chunks_to_simulate(o, task, store, chunk_rows, range, summary.resumed);
  });
  dist::broadcast(todo);
  int64_t rows_todo = 0;
  for (int64_t c : todo) rows_todo += range.chunk_end(c, chunk_rows) - range.chunk_first(c, chunk_rows);
  log::info("simulate " + task.name + ": " + std::to_string(rows_todo) + " rows in " + std::to_string(todo.size()) +
            " chunks of " + std::to_string(chunk_rows) + " on " + std::to_string(dist::size()) + " rank(s) -> " +
            o.out);

  // 3. Claim chunks until none is left, a rank fails or a stop signal arrives.
  dist::WorkCounter counter(static_cast<int64_t>(todo.size()), progress_reporter(rows_todo, t0), o.progress_seconds);
  dist::StopFlag flag;
  const LocalWork w = simulate_chunks(o, task, store, todo, chunk_rows, range, theta_in_store, counter, flag);
  counter.finish();
  std::string error = w.error;
  ErrorKind kind = w.kind;
  try {
    store.close();  // collective
  } catch (const Error& e) {
    if (error.empty()) {
      error = e.what();
      kind = e.kind();
    }
  }
  flag.finish();
  dist::agree_on_failure(error, kind);
  lock.release();

  // 4. Summary: rows of this run from every rank, and the state of the whole store.
  summary.seconds = seconds_since(t0);
  add_totals(summary, w, o.out, range);
  const int64_t signal = static_cast<int64_t>(dist::allreduce_max(static_cast<double>(stop_signal())));
  if (summary.range.not_simulated > 0) summary.stopped_by = static_cast<int>(signal);
  return summary;
}

}  // namespace simbi::store
