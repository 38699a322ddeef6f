// A flag any rank can raise to tell every other rank, without a collective, that it is stopping (a
// fatal error, a stop signal), so that ranks busy with their own work learn it within one poll instead
// of after their batch. raise() sends one small message to each other rank; raised() tests for one with
// MPI_Test (microseconds, no blocking), so polling it between simulator calls and during a long external
// call costs no throughput. finish() is collective and receives every message still in flight, so the
// communicator is left clean whatever the number of ranks that raised it.
// Contract: construction and finish() are collective over `comm` (default: the world); raise() and
// raised() are for the thread that owns the flag. See docs/architecture.md §4.
#pragma once
#include <mpi.h>

#include <vector>

namespace simbi::dist {

class StopFlag {
 public:
  explicit StopFlag(MPI_Comm comm = MPI_COMM_NULL);
  ~StopFlag();
  StopFlag(const StopFlag&) = delete;
  StopFlag& operator=(const StopFlag&) = delete;

  // Raises the flag with a reason code > 0 (the caller's meaning, e.g. failure or stop). Only the first
  // raise on a rank is sent.
  void raise(int code);
  // This rank's own code if it raised the flag, else the code of a rank whose message arrived, else 0.
  int raised();
  // This rank's own code (0 if it did not raise the flag).
  int own_code() const { return own_code_; }
  // The code received from another rank (0 if none arrived yet), whether or not this rank raised.
  int peer_code();
  // Collective: drains the messages in flight and frees the communicator; raised() stays answerable.
  void finish();

 private:
  void test_peer();

  MPI_Comm comm_ = MPI_COMM_NULL;
  int size_ = 1;
  int own_code_ = 0;
  int peer_code_ = 0;
  int recv_buf_ = 0;
  int send_buf_ = 0;
  MPI_Request recv_ = MPI_REQUEST_NULL;
  std::vector<MPI_Request> sends_;
  bool finished_ = false;
};

}  // namespace simbi::dist
