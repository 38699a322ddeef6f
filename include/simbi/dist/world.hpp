// The MPI world and the collectives the rest of simbi uses. Contract: one World per process, created
// on the main thread before anything else uses MPI; every function here is collective over the world
// communicator unless it says otherwise, and must be called by all ranks in the same order.
#pragma once
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "simbi/core/error.hpp"

namespace simbi::dist {

// RAII owner of MPI_Init_thread / MPI_Finalize (asks for MPI_THREAD_MULTIPLE: the work counter
// serves requests from a thread on rank 0). With init_mpi = false (a serial command not started by an
// MPI launcher) MPI is not started at all and the functions below act as one rank of one.
class World {
 public:
  World(int* argc, char*** argv, bool init_mpi = true);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;
};

// Whether this process was started by an MPI launcher (mpiexec, srun), from the environment.
bool launched_by_mpi();
// Whether MPI is running in this process (initialised and not finalised).
bool mpi_active();

MPI_Comm comm();
int rank();
int size();
bool is_root();
int local_rank();  // rank among the processes of this node (device choice)
int local_size();  // number of processes on this node (MPI_COMM_TYPE_SHARED); 1 without MPI
bool thread_multiple();  // whether MPI granted MPI_THREAD_MULTIPLE

void barrier();
void broadcast(std::string& s, int root = 0);
void broadcast(std::vector<int64_t>& v, int root = 0);
void broadcast(int64_t& v, int root = 0);
// Every rank's string at `root` (index = rank); an empty vector on the other ranks.
std::vector<std::string> gather(const std::string& s, int root = 0);
int64_t allreduce_sum(int64_t v);                // integers only: a double would be truncated
void allreduce_sum(std::vector<double>& v);       // element-wise, in place
double allreduce_max(double v);

// An error every rank agreed on (thrown identically on all ranks by run_agreed); the CLI prints it
// once (rank 0) and every rank exits non-zero without MPI_Abort.
class AgreedError : public Error {
 public:
  AgreedError(ErrorKind kind, const std::string& message, int failing_rank)
      : Error(kind, message), failing_rank_(failing_rank) {}
  int failing_rank() const { return failing_rank_; }

 private:
  int failing_rank_;
};

// Runs f on every rank. If f throws on any rank, every rank throws an AgreedError carrying the message
// of the lowest failing rank (so a check made on one rank — e.g. "file exists" on rank 0 — ends all
// ranks cleanly instead of leaving them in a collective).
// `comm`: the communicator to agree over (MPI_COMM_NULL = the world), e.g. MPI_COMM_SELF for one rank's
// work alone.
void run_agreed(const std::function<void()>& f, MPI_Comm comm = MPI_COMM_NULL);
// Like run_agreed, for a failure already caught on this rank (empty message = no failure here).
void agree_on_failure(const std::string& local_message, ErrorKind local_kind = ErrorKind::runtime,
                      MPI_Comm comm = MPI_COMM_NULL);

// Ends every rank after a failure that could not be agreed on (one rank stuck in a collective).
[[noreturn]] void abort_all(int code);

}  // namespace simbi::dist
