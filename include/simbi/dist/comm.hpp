// Collectives over an arbitrary communicator (simbi's world, or MPI_COMM_SELF for one rank's work
// alone), for variable-size gathers: every count and displacement is checked against MPI's int limit
// (2^31 - 1 elements) before the call, so an oversized gather is a clear error, never an overflow.
// Without MPI running, every function acts as one rank of one. Contract: collective over the
// communicator, called by every rank in the same order.
#pragma once
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "simbi/core/error.hpp"

namespace simbi::dist {

class Comm {
 public:
  // MPI_COMM_NULL: simbi's world (dist::comm()) when MPI runs, else serial.
  explicit Comm(MPI_Comm comm);
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool serial() const { return comm_ == MPI_COMM_NULL; }

  // f on every rank; when it throws on any rank, every rank throws a dist::AgreedError with the
  // message and kind of the lowest failing rank.
  void run_agreed(const std::function<void()>& f) const;
  int64_t sum(int64_t v) const;
  double max(double v) const;
  // Every rank's values concatenated in rank order, on every rank (counts may differ per rank).
  std::vector<double> allgather(const std::vector<double>& mine) const;
  // The same, on rank 0 only (empty elsewhere).
  std::vector<float> gather_to_root(const std::vector<float>& mine) const;
  std::vector<int64_t> gather_to_root(const std::vector<int64_t>& mine) const;
  void broadcast(std::vector<double>& v) const;  // from rank 0; v's size must agree on every rank

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace simbi::dist
