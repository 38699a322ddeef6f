#include "simbi/dist/work_counter.hpp"

#include <chrono>

#include "simbi/core/error.hpp"
#include "simbi/dist/world.hpp"

namespace simbi::dist {

namespace {
constexpr int kTagRequest = 701;
constexpr int kTagReply = 702;
// Request payload: {kind, units_done, units_failed, item_completed}
constexpr int64_t kAskNext = 0;
constexpr int64_t kAbort = 1;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

WorkCounter::WorkCounter(int64_t total, std::function<void(const WorkProgress&)> progress_cb, double progress_seconds)
    : total_(total), progress_cb_(std::move(progress_cb)), progress_seconds_(progress_seconds) {
  MPI_Comm_dup(dist::comm(), &comm_);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  dynamic_ = size_ == 1 || thread_multiple();
  round_robin_next_ = rank_;
  last_report_ = now_seconds();
  if (dynamic_ && size_ > 1 && rank_ == 0) server_ = std::thread([this] { serve(); });
}

WorkCounter::~WorkCounter() {
  if (!finished_) {
    // Destroyed during unwinding without finish(): make sure the server thread ends.
    aborted_ = true;
    if (server_.joinable()) server_.detach();
  }
  if (comm_ != MPI_COMM_NULL && finished_) MPI_Comm_free(&comm_);
}

int64_t WorkCounter::claim_local() {
  if (aborted_) return -1;
  const int64_t item = next_item_.fetch_add(1);
  return item < total_ ? item : -1;
}

void WorkCounter::account(int64_t done, int64_t failed, bool item_completed) {
  std::lock_guard<std::mutex> lock(progress_mutex_);
  progress_.units_done += done;
  progress_.units_failed += failed;
  if (item_completed) progress_.items_done += 1;
  if (rank_ == 0 && progress_cb_ && now_seconds() - last_report_ >= progress_seconds_) {
    last_report_ = now_seconds();
    progress_cb_(progress_);
  }
}

int64_t WorkCounter::next(int64_t units_done_since_last, int64_t units_failed_since_last) {
  const bool completed = holding_item_;
  holding_item_ = false;
  if (exhausted_) return -1;
  int64_t item = -1;
  if (!dynamic_) {
    account(units_done_since_last, units_failed_since_last, completed);
    if (!aborted_ && round_robin_next_ < total_) {
      item = round_robin_next_;
      round_robin_next_ += size_;
    }
  } else if (rank_ == 0) {
    account(units_done_since_last, units_failed_since_last, completed);
    item = claim_local();
  } else {
    int64_t request[4] = {kAskNext, units_done_since_last, units_failed_since_last, completed ? 1 : 0};
    MPI_Send(request, 4, MPI_INT64_T, 0, kTagRequest, comm_);
    MPI_Recv(&item, 1, MPI_INT64_T, 0, kTagReply, comm_, MPI_STATUS_IGNORE);
  }
  if (item < 0) exhausted_ = true;
  holding_item_ = item >= 0;
  return item;
}

void WorkCounter::abort() {
  aborted_ = true;
  if (dynamic_ && size_ > 1 && rank_ != 0 && !exhausted_) {
    int64_t request[4] = {kAbort, 0, 0, 0};
    MPI_Send(request, 4, MPI_INT64_T, 0, kTagRequest, comm_);
    exhausted_ = true;  // the server counts an abort as this rank's last request
  }
  exhausted_ = true;
  holding_item_ = false;
}

void WorkCounter::serve() {
  // Every non-root rank ends its conversation with exactly one request answered by -1 (or an abort).
  int open_ranks = size_ - 1;
  int64_t request[4];
  MPI_Request pending;
  MPI_Status status;
  MPI_Irecv(request, 4, MPI_INT64_T, MPI_ANY_SOURCE, kTagRequest, comm_, &pending);
  // Poll instead of blocking: a blocking receive busy-waits inside Open MPI and would steal a core
  // from rank 0's own simulations. The pause grows while idle and drops back when requests arrive,
  // so short chunks are answered quickly and long ones cost almost nothing.
  int pause_us = 20;
  while (open_ranks > 0) {
    int flag = 0;
    MPI_Test(&pending, &flag, &status);
    if (!flag) {
      std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
      pause_us = std::min(pause_us * 2, 2000);
      if (progress_cb_) account(0, 0, false);
      continue;
    }
    pause_us = 20;
    const int source = status.MPI_SOURCE;
    if (request[0] == kAbort) {
      aborted_ = true;
      --open_ranks;
    } else {
      account(request[1], request[2], request[3] != 0);
      const int64_t item = claim_local();
      MPI_Send(&item, 1, MPI_INT64_T, source, kTagReply, comm_);
      if (item < 0) --open_ranks;
    }
    if (open_ranks > 0) MPI_Irecv(request, 4, MPI_INT64_T, MPI_ANY_SOURCE, kTagRequest, comm_, &pending);
  }
}

WorkProgress WorkCounter::finish() {
  // Drain: a rank that still holds work must have called next() until -1 before finishing.
  if (!exhausted_) abort();  // a rank that stops early must not leave items unclaimed silently
  if (server_.joinable()) server_.join();
  MPI_Barrier(comm_);
  finished_ = true;
  std::lock_guard<std::mutex> lock(progress_mutex_);
  return progress_;
}

}  // namespace simbi::dist
