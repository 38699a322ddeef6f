#include "simbi/store/simulation_run.hpp"

#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "simbi/core/log.hpp"
#include "simbi/core/stop_signal.hpp"
#include "simbi/core/version.hpp"
#include "simbi/dist/work_counter.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/store/disk_space.hpp"
#include "simbi/store/store_lock.hpp"

namespace simbi::store {

namespace {

namespace fs = std::filesystem;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

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
  const fs::path parent = fs::absolute(o.out).parent_path();
  require(fs::is_directory(parent), ErrorKind::io, o.out + ": directory " + parent.string() + " does not exist");
  lock = StoreLock::acquire(o.out, o.break_lock);
  const bool exists = fs::exists(o.out);
  if (exists && o.existing == ExistingOutput::refuse)
    throw Error(ErrorKind::invalid_argument,
                o.out + ": output exists; pass --resume to finish it or --force to overwrite it");
  if (exists) require(!fs::is_directory(o.out), ErrorKind::io, o.out + ": is a directory, expected a file path");
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
  return m;
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
  const int64_t n_chunks = (o.budget + chunk_rows - 1) / chunk_rows;
  dist::run_agreed([&] {
    if (!dist::is_root()) return;
    if (summary.resumed) {
      const std::vector<uint8_t> status = store.read_status();
      for (int64_t c = 0; c < n_chunks; ++c) {
        const int64_t end = std::min(o.budget, (c + 1) * chunk_rows);
        for (int64_t r = c * chunk_rows; r < end; ++r)
          if (status[static_cast<size_t>(r)] == kNotSimulated) {
            todo.push_back(c);
            break;
          }
      }
      const int64_t missing = count_status(status).not_simulated;
      require_free_space(o.out, store_row_bytes(missing, task.theta_dim(), task.x_dim()),
                         rows_bytes_text(missing, task) + " still to write");
      log::info("resuming " + o.out + ": " + std::to_string(todo.size()) + " of " + std::to_string(n_chunks) +
                " chunks still to simulate");
    } else {
      todo.resize(static_cast<size_t>(n_chunks));
      for (int64_t c = 0; c < n_chunks; ++c) todo[static_cast<size_t>(c)] = c;
    }
  });
  dist::broadcast(todo);
  int64_t rows_todo = 0;
  for (int64_t c : todo) rows_todo += std::min(o.budget, (c + 1) * chunk_rows) - c * chunk_rows;
  log::info("simulate " + task.name + ": " + std::to_string(rows_todo) + " rows in " + std::to_string(todo.size()) +
            " chunks of " + std::to_string(chunk_rows) + " on " + std::to_string(dist::size()) + " rank(s) -> " +
            o.out);

  // 3. Claim chunks until none is left. Row r uses the streams (seed, purpose, r) only.
  const RandomStream theta_base(o.seed, StreamPurpose::prior_draw, 0);
  const RandomStream sim_base(o.seed, StreamPurpose::simulation, 0);
  auto report = [rows_todo, t0](const dist::WorkProgress& p) {
    const double secs = seconds_since(t0);
    const double rate = p.units_done / std::max(secs, 1e-9);
    const double eta = rate > 0 ? (rows_todo - p.units_done) / rate : NAN;
    char pct[16];
    std::snprintf(pct, sizeof pct, "%.1f%%", 100.0 * p.units_done / std::max<int64_t>(rows_todo, 1));
    log::info("simulate: " + log::human_count(p.units_done) + "/" + log::human_count(rows_todo) + " rows (" + pct +
              "), " + log::human_count(rate) + " rows/s, ETA " + log::human_duration(eta) + ", " +
              std::to_string(p.units_failed) + " failed");
  };
  dist::WorkCounter counter(static_cast<int64_t>(todo.size()), report, o.progress_seconds);
  std::string local_error;
  ErrorKind local_kind = ErrorKind::runtime;
  int64_t my_rows = 0, my_failed = 0, pending_done = 0, pending_failed = 0;
  double my_busy = 0.0;
  Matrix theta, x;
  std::vector<uint8_t> status;
  const int64_t slice_rows = std::min(chunk_rows, automatic_chunk_rows(task.x_dim()));
  for (;;) {
    // A stop signal on any rank: no new chunks for anyone; the chunks in progress are finished.
    if (stop_signal() != 0) counter.abort();
    const int64_t item = counter.next(pending_done, pending_failed);
    pending_done = pending_failed = 0;
    if (item < 0) break;
    const auto chunk_start = std::chrono::steady_clock::now();
    try {
      const int64_t c = todo[static_cast<size_t>(item)];
      const int64_t chunk_first = c * chunk_rows;
      const int64_t chunk_end = std::min(o.budget, chunk_first + chunk_rows);
      int64_t failed = 0;
      // The chunk in slices of at most slice_rows, each simulated and then written (data, then status):
      // memory per rank stays bounded whatever --chunk-rows is. A crash between slices leaves the
      // chunk's later rows "not simulated", so resume redoes the whole chunk, with identical rows.
      for (int64_t first = chunk_first; first < chunk_end; first += slice_rows) {
        const int64_t rows = std::min(slice_rows, chunk_end - first);
        if (theta.rows() != rows) {
          theta = Matrix(rows, task.theta_dim());
          x = Matrix(rows, task.x_dim());
        }
        task.prior->sample(theta.view(), RowStreams{theta_base, first});
        task.simulator->simulate(theta.view(), x.view(), RowStreams{sim_base, first});
        status.assign(static_cast<size_t>(rows), kOk);
        for (int64_t i = 0; i < rows; ++i)
          if (!row_is_finite(x.row(i), x.cols())) {
            status[static_cast<size_t>(i)] = kFailed;
            ++failed;
          }
        store.write_rows(first, theta.view(), x.view(), status);
      }
      const int64_t rows = chunk_end - chunk_first;
      my_rows += rows;
      my_failed += failed;
      pending_done = rows;
      pending_failed = failed;
      my_busy += seconds_since(chunk_start);
    } catch (const std::exception& e) {
      local_error = e.what();
      if (const auto* se = dynamic_cast<const Error*>(&e)) local_kind = se->kind();
      counter.abort();
      break;
    }
  }
  counter.finish();
  try {
    store.close();  // collective
  } catch (const Error& e) {
    if (local_error.empty()) {
      local_error = e.what();
      local_kind = e.kind();
    }
  }
  dist::agree_on_failure(local_error, local_kind);
  lock.release();

  // 4. Summary: rows of this run from every rank, and the state of the whole store.
  summary.seconds = seconds_since(t0);
  summary.rows_this_run = dist::allreduce_sum(my_rows);
  summary.failed_this_run = dist::allreduce_sum(my_failed);
  summary.rows_per_rank.assign(static_cast<size_t>(dist::size()), 0);
  summary.busy_seconds_per_rank.assign(static_cast<size_t>(dist::size()), 0.0);
  MPI_Gather(&my_rows, 1, MPI_INT64_T, summary.rows_per_rank.data(), 1, MPI_INT64_T, 0, dist::comm());
  MPI_Gather(&my_busy, 1, MPI_DOUBLE, summary.busy_seconds_per_rank.data(), 1, MPI_DOUBLE, 0, dist::comm());
  std::vector<int64_t> counts(3, 0);
  if (dist::is_root()) {
    const StatusCounts c = count_status(SimStore::open_read(o.out).read_status());
    counts = {c.not_simulated, c.ok, c.failed};
  }
  dist::broadcast(counts);
  summary.store = StatusCounts{counts[0], counts[1], counts[2]};
  const int64_t signal = static_cast<int64_t>(dist::allreduce_max(static_cast<double>(stop_signal())));
  if (summary.store.completed() < o.budget) summary.stopped_by = static_cast<int>(signal);
  return summary;
}

}  // namespace simbi::store
