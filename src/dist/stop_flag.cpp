#include "simbi/dist/stop_flag.hpp"

#include "simbi/dist/world.hpp"

namespace simbi::dist {

namespace {
constexpr int kTagStop = 711;
}  // namespace

StopFlag::StopFlag(MPI_Comm comm) {
  if (!mpi_active()) return;
  MPI_Comm_dup(comm == MPI_COMM_NULL ? dist::comm() : comm, &comm_);
  MPI_Comm_size(comm_, &size_);
  if (size_ > 1) MPI_Irecv(&recv_buf_, 1, MPI_INT, MPI_ANY_SOURCE, kTagStop, comm_, &recv_);
}

StopFlag::~StopFlag() {
  // Unwinding without finish(): the process is on its way out; leave the requests to MPI_Finalize
  // rather than block here.
  if (!finished_ && recv_ != MPI_REQUEST_NULL) {
    MPI_Cancel(&recv_);
    MPI_Request_free(&recv_);
  }
}

void StopFlag::raise(int code) {
  if (own_code_ != 0 || code <= 0) return;
  own_code_ = code;
  send_buf_ = code;
  if (comm_ == MPI_COMM_NULL || size_ == 1 || finished_) return;
  int me = 0;
  MPI_Comm_rank(comm_, &me);
  for (int r = 0; r < size_; ++r) {
    if (r == me) continue;
    sends_.emplace_back();
    MPI_Isend(&send_buf_, 1, MPI_INT, r, kTagStop, comm_, &sends_.back());
  }
}

void StopFlag::test_peer() {
  if (recv_ == MPI_REQUEST_NULL) return;
  int done = 0;
  MPI_Test(&recv_, &done, MPI_STATUS_IGNORE);
  if (done) peer_code_ = recv_buf_;  // recv_ is now MPI_REQUEST_NULL; later messages wait for finish()
}

int StopFlag::peer_code() {
  test_peer();
  return peer_code_;
}

int StopFlag::raised() {
  if (own_code_ != 0) return own_code_;
  return peer_code();
}

void StopFlag::finish() {
  if (finished_ || comm_ == MPI_COMM_NULL) {
    finished_ = true;
    return;
  }
  // Every raising rank sent one message to each other rank: receive exactly the ones addressed here.
  int raisers = 0;
  const int mine = own_code_ != 0 ? 1 : 0;
  MPI_Allreduce(&mine, &raisers, 1, MPI_INT, MPI_SUM, comm_);
  int expected = raisers - mine;
  if (recv_ != MPI_REQUEST_NULL) {
    if (expected > 0) {
      MPI_Wait(&recv_, MPI_STATUS_IGNORE);
      peer_code_ = recv_buf_;
      --expected;
    } else {
      MPI_Cancel(&recv_);
      MPI_Wait(&recv_, MPI_STATUS_IGNORE);
    }
  } else if (peer_code_ != 0) {
    --expected;  // the one already received
  }
  for (; expected > 0; --expected) {
    int code = 0;
    MPI_Recv(&code, 1, MPI_INT, MPI_ANY_SOURCE, kTagStop, comm_, MPI_STATUS_IGNORE);
  }
  if (!sends_.empty()) MPI_Waitall(static_cast<int>(sends_.size()), sends_.data(), MPI_STATUSES_IGNORE);
  sends_.clear();
  MPI_Comm_free(&comm_);
  finished_ = true;
}

}  // namespace simbi::dist
