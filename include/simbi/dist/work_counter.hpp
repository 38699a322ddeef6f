// Dynamic work distribution: items 0..total-1 are handed out one at a time to whichever rank asks
// next, so no rank idles while others have work when item costs vary. Contract: construction and
// finish() are collective; next()/abort() are called by the main thread of each rank only. Rank 0
// serves the other ranks' requests from a helper thread (MPI_THREAD_MULTIPLE); without that thread
// level, items are assigned round-robin (still each exactly once, just not adaptive).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <mpi.h>

namespace simbi::dist {

struct WorkProgress {
  int64_t items_done = 0;   // items whose work is complete (reported by the ranks)
  int64_t units_done = 0;   // caller-defined units (e.g. rows) reported with completed items
  int64_t units_failed = 0; // caller-defined failure count (e.g. failed rows)
};

class WorkCounter {
 public:
  // total: number of items. progress_cb (rank 0 only, may be empty) is called at most every
  // progress_seconds from the serving thread with the running totals.
  WorkCounter(int64_t total, std::function<void(const WorkProgress&)> progress_cb = {},
              double progress_seconds = 5.0);
  ~WorkCounter();
  WorkCounter(const WorkCounter&) = delete;
  WorkCounter& operator=(const WorkCounter&) = delete;

  // The next item for this rank, or -1 when there is none left (or the work was aborted). Reports
  // the units done/failed since this rank's previous call.
  int64_t next(int64_t units_done_since_last = 0, int64_t units_failed_since_last = 0);
  // Stop handing out work on every rank (after a failure on this rank). Ranks finish the item they
  // hold, then next() returns -1.
  void abort();
  // Collective: waits until every rank has stopped asking and returns the final totals (on rank 0;
  // other ranks get their own contribution).
  WorkProgress finish();

 private:
  void serve();
  int64_t claim_local();
  void account(int64_t done, int64_t failed, bool item_completed);

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  int64_t total_ = 0;
  bool dynamic_ = true;
  std::atomic<int64_t> next_item_{0};
  std::atomic<bool> aborted_{false};
  int64_t round_robin_next_ = 0;  // when not dynamic
  bool exhausted_ = false;
  bool holding_item_ = false;
  std::mutex progress_mutex_;
  WorkProgress progress_;
  std::function<void(const WorkProgress&)> progress_cb_;
  double progress_seconds_ = 5.0;
  double last_report_ = 0.0;
  std::thread server_;
  bool finished_ = false;
};

}  // namespace simbi::dist
