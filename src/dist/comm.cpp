#include "simbi/dist/comm.hpp"

#include <limits>

#include "simbi/dist/world.hpp"

namespace simbi::dist {

namespace {

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    throw Error(ErrorKind::runtime, std::string("MPI ") + what + " failed: " + std::string(msg, len));
  }
}

// Per-rank counts and displacements (in elements) of a variable-size gather; MPI counts are int.
void counts_of(MPI_Comm comm, int size, int64_t mine, std::vector<int>& counts, std::vector<int>& displs) {
  std::vector<int64_t> all(static_cast<size_t>(size));
  check(MPI_Allgather(&mine, 1, MPI_INT64_T, all.data(), 1, MPI_INT64_T, comm), "allgather");
  counts.resize(static_cast<size_t>(size));
  displs.resize(static_cast<size_t>(size));
  int64_t total = 0;
  for (int r = 0; r < size; ++r) {
    counts[r] = static_cast<int>(all[r]);
    displs[r] = static_cast<int>(total);
    total += all[r];
  }
  require(total <= std::numeric_limits<int>::max(), ErrorKind::invalid_argument,
          "too many values to gather in one MPI call (" + std::to_string(total) +
              ", at most 2^31 - 1); ask for fewer samples per call");
}

}  // namespace

Comm::Comm(MPI_Comm comm) {
  if (!dist::mpi_active()) return;
  comm_ = comm == MPI_COMM_NULL ? dist::comm() : comm;
  check(MPI_Comm_rank(comm_, &rank_), "comm_rank");
  check(MPI_Comm_size(comm_, &size_), "comm_size");
}

void Comm::run_agreed(const std::function<void()>& f) const { dist::run_agreed(f, comm_); }

int64_t Comm::sum(int64_t v) const {
  if (serial()) return v;
  int64_t out = 0;
  check(MPI_Allreduce(&v, &out, 1, MPI_INT64_T, MPI_SUM, comm_), "allreduce");
  return out;
}

double Comm::max(double v) const {
  if (serial()) return v;
  double out = 0;
  check(MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_MAX, comm_), "allreduce");
  return out;
}

std::vector<double> Comm::allgather(const std::vector<double>& mine) const {
  if (serial()) return mine;
  std::vector<int> counts, displs;
  counts_of(comm_, size_, static_cast<int64_t>(mine.size()), counts, displs);
  std::vector<double> out(static_cast<size_t>(displs.back() + counts.back()));
  check(MPI_Allgatherv(mine.data(), static_cast<int>(mine.size()), MPI_DOUBLE, out.data(), counts.data(), displs.data(),
                       MPI_DOUBLE, comm_),
        "allgatherv");
  return out;
}

std::vector<float> Comm::gather_to_root(const std::vector<float>& mine) const {
  if (serial()) return mine;
  std::vector<int> counts, displs;
  counts_of(comm_, size_, static_cast<int64_t>(mine.size()), counts, displs);
  std::vector<float> out;
  if (rank_ == 0) out.resize(static_cast<size_t>(displs.back() + counts.back()));
  check(MPI_Gatherv(mine.data(), static_cast<int>(mine.size()), MPI_FLOAT, out.data(), counts.data(), displs.data(),
                    MPI_FLOAT, 0, comm_),
        "gatherv");
  return out;
}

std::vector<int64_t> Comm::gather_to_root(const std::vector<int64_t>& mine) const {
  if (serial()) return mine;
  std::vector<int> counts, displs;
  counts_of(comm_, size_, static_cast<int64_t>(mine.size()), counts, displs);
  std::vector<int64_t> out;
  if (rank_ == 0) out.resize(static_cast<size_t>(displs.back() + counts.back()));
  check(MPI_Gatherv(mine.data(), static_cast<int>(mine.size()), MPI_INT64_T, out.data(), counts.data(), displs.data(),
                    MPI_INT64_T, 0, comm_),
        "gatherv");
  return out;
}

void Comm::broadcast(std::vector<double>& v) const {
  if (serial() || v.empty()) return;
  check(MPI_Bcast(v.data(), static_cast<int>(v.size()), MPI_DOUBLE, 0, comm_), "broadcast");
}

}  // namespace simbi::dist
