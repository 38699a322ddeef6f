#include "simbi/dist/world.hpp"

#include <cstdlib>

#include "simbi/core/log.hpp"

namespace simbi::dist {

namespace {
bool g_initialised_here = false;
bool g_thread_multiple = false;
int g_local_rank = 0;
int g_local_size = 1;

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    throw Error(ErrorKind::runtime, std::string("MPI ") + what + " failed: " + std::string(msg, len));
  }
}
}  // namespace

bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"})
    if (std::getenv(var)) return true;
  return false;
}

bool mpi_active() {
  int initialised = 0, finalised = 0;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalised);
  return initialised && !finalised;
}

World::World(int* argc, char*** argv, bool init_mpi) {
  if (!init_mpi && !mpi_active()) return;  // serial command: every helper below acts as rank 0 of 1
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    int provided = 0;
    MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided);
    g_thread_multiple = provided >= MPI_THREAD_MULTIPLE;
    g_initialised_here = true;
  } else {
    int provided = 0;
    MPI_Query_thread(&provided);
    g_thread_multiple = provided >= MPI_THREAD_MULTIPLE;
  }
  // Errors are reported through return codes and turned into simbi::Error.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &g_local_rank);
  MPI_Comm_size(node, &g_local_size);
  MPI_Comm_free(&node);
  log::set_rank(rank(), size());
}

World::~World() {
  if (g_initialised_here) {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (!finalised) MPI_Finalize();
  }
}

MPI_Comm comm() { return MPI_COMM_WORLD; }
int rank() {
  int r = 0;
  if (mpi_active()) MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
int size() {
  int s = 1;
  if (mpi_active()) MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}
bool is_root() { return rank() == 0; }
int local_rank() { return g_local_rank; }
int local_size() { return g_local_size; }
bool thread_multiple() { return g_thread_multiple; }

void barrier() {
  if (mpi_active()) check(MPI_Barrier(MPI_COMM_WORLD), "barrier");
}

void broadcast(std::string& s, int root) {
  if (!mpi_active()) return;
  int64_t n = static_cast<int64_t>(s.size());
  broadcast(n, root);
  s.resize(static_cast<size_t>(n));
  if (n > 0) check(MPI_Bcast(s.data(), static_cast<int>(n), MPI_CHAR, root, MPI_COMM_WORLD), "broadcast");
}

void broadcast(std::vector<int64_t>& v, int root) {
  if (!mpi_active()) return;
  int64_t n = static_cast<int64_t>(v.size());
  broadcast(n, root);
  v.resize(static_cast<size_t>(n));
  // Chunks of at most 2^30 elements: MPI counts are int.
  for (int64_t off = 0; off < n; off += (int64_t{1} << 30)) {
    const int count = static_cast<int>(std::min<int64_t>(n - off, int64_t{1} << 30));
    check(MPI_Bcast(v.data() + off, count, MPI_INT64_T, root, MPI_COMM_WORLD), "broadcast");
  }
}

void broadcast(int64_t& v, int root) {
  if (mpi_active()) check(MPI_Bcast(&v, 1, MPI_INT64_T, root, MPI_COMM_WORLD), "broadcast");
}

std::vector<std::string> gather(const std::string& s, int root) {
  if (!mpi_active()) return {s};
  const int n = static_cast<int>(s.size());
  require(s.size() <= (size_t{1} << 30), ErrorKind::internal, "gather: string too long for one MPI call");
  std::vector<int> counts(static_cast<size_t>(size())), offsets(counts.size());
  check(MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, root, MPI_COMM_WORLD), "gather");
  std::string all;
  if (rank() == root) {
    int64_t total = 0;
    for (size_t r = 0; r < counts.size(); ++r) {
      offsets[r] = static_cast<int>(total);
      total += counts[r];
    }
    require(total <= (int64_t{1} << 30), ErrorKind::internal, "gather: strings too long for one MPI call");
    all.resize(static_cast<size_t>(total));
  }
  check(MPI_Gatherv(s.data(), n, MPI_CHAR, all.data(), counts.data(), offsets.data(), MPI_CHAR, root, MPI_COMM_WORLD),
        "gather");
  std::vector<std::string> out;
  if (rank() == root)
    for (size_t r = 0; r < counts.size(); ++r)
      out.push_back(all.substr(static_cast<size_t>(offsets[r]), static_cast<size_t>(counts[r])));
  return out;
}

int64_t allreduce_sum(int64_t v) {
  if (!mpi_active()) return v;
  int64_t out = 0;
  check(MPI_Allreduce(&v, &out, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD), "allreduce");
  return out;
}

void allreduce_sum(std::vector<double>& v) {
  if (!mpi_active() || v.empty()) return;
  check(MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(v.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
        "allreduce");
}

double allreduce_max(double v) {
  if (!mpi_active()) return v;
  double out = 0;
  check(MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD), "allreduce");
  return out;
}

void agree_on_failure(const std::string& local_message, ErrorKind local_kind, MPI_Comm comm) {
  if (!mpi_active()) {
    if (!local_message.empty()) throw AgreedError(local_kind, local_message, 0);
    return;
  }
  if (comm == MPI_COMM_NULL) comm = MPI_COMM_WORLD;
  int me = 0, n = 1;
  check(MPI_Comm_rank(comm, &me), "comm_rank");
  check(MPI_Comm_size(comm, &n), "comm_size");
  if (n == 1) {  // nothing to agree on
    if (!local_message.empty()) throw AgreedError(local_kind, local_message, 0);
    return;
  }
  const int mine = local_message.empty() ? n : me;
  int first = n;
  check(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm), "allreduce");
  if (first == n) return;
  // The lowest failing rank's message and kind, to every rank.
  std::string message = local_message;
  int64_t header[2] = {static_cast<int64_t>(message.size()), static_cast<int64_t>(local_kind)};
  check(MPI_Bcast(header, 2, MPI_INT64_T, first, comm), "broadcast");
  message.resize(static_cast<size_t>(header[0]));
  check(MPI_Bcast(message.data(), static_cast<int>(header[0]), MPI_CHAR, first, comm), "broadcast");
  throw AgreedError(static_cast<ErrorKind>(header[1]), message, first);
}

void run_agreed(const std::function<void()>& f, MPI_Comm comm) {
  std::string message;
  ErrorKind kind = ErrorKind::runtime;
  try {
    f();
  } catch (const AgreedError&) {
    throw;  // already agreed by a nested call on every rank
  } catch (const Error& e) {
    message = e.what();
    kind = e.kind();
  } catch (const std::exception& e) {
    message = e.what();
    kind = ErrorKind::internal;
  }
  if (!message.empty() && message.find_first_not_of(' ') == std::string::npos) message = "unknown error";
  agree_on_failure(message, kind, comm);
}

void abort_all(int code) {
  if (mpi_active() && size() > 1) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

}  // namespace simbi::dist
