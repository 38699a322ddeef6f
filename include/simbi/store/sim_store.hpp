// The simulation store (sims.h5, format "simbi-sims" version 1; docs/file_formats.md): /theta, /x,
// /status and root attributes, written by all ranks through parallel HDF5 (MPI-IO). A sequential store
// (the rounds of `simbi run`) adds /round and one proposal attribute per round.
// Contract: create/open_for_resume/close are collective over the communicator given; write_rows is
// independent (any rank, any time, disjoint rows); open_read is serial (one process, no MPI-IO).
#pragma once
#include <hdf5.h>
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "simbi/core/matrix.hpp"

namespace simbi::store {

inline constexpr const char* kSimsFormat = "simbi-sims";
inline constexpr int64_t kSimsVersion = 1;

enum RowStatus : uint8_t { kNotSimulated = 0, kOk = 1, kFailed = 2 };

struct SimStoreMeta {
  std::string task;
  int64_t theta_dim = 0;
  int64_t x_dim = 0;
  int64_t budget = 0;      // rows N
  int64_t chunk_rows = 0;  // rows per unit of work (and per resume unit)
  uint64_t seed = 0;
  std::string simulator = "builtin";  // builtin | plugin:<path> | command:<cmd> | imported:<source>
  std::string prior_json;             // Prior::to_json() dump ("" when unknown, e.g. imported data)
  std::vector<std::string> theta_labels;
  // Shape of one x row, row-major (e.g. {channels, length}), product x_dim; empty = flat. Optional
  // attribute `x_shape` (stores written before it existed, or by tasks with flat rows, have none).
  std::vector<int64_t> x_shape;
  std::string simbi_version;
  std::string created;  // ISO-8601 UTC
  int64_t version = kSimsVersion;
  // Sequential stores (0: a store of one round drawn from the prior): `rounds` rounds of `round_rows`
  // rows, row i in round i / round_rows + 1 (dataset /round, int32), budget = rounds · round_rows.
  // `sequential` is the run's identity (method, observation, ...; JSON) that a resumed run must match.
  int64_t rounds = 0, round_rows = 0;
  std::string sequential;
  bool is_sequential() const { return rounds > 0; }
  // Rows [first, end) of round r (1-based); [0, budget) for r = 0.
  int64_t round_first(int64_t round) const { return round > 0 ? (round - 1) * round_rows : 0; }
  int64_t round_end(int64_t round) const { return round > 0 ? round * round_rows : budget; }
};

// The attribute holding round r's proposal description.
std::string round_proposal_attribute(int64_t round);
// Round 1's proposal (written when a sequential store is created): the prior, with the store's seed.
std::string prior_proposal_description(uint64_t seed);

// Row counts by status.
struct StatusCounts {
  int64_t not_simulated = 0, ok = 0, failed = 0;
  int64_t completed() const { return ok + failed; }
};
StatusCounts count_status(const std::vector<uint8_t>& status);

// Bytes that `rows` rows of a store take on disk at least: float32 θ and x plus one status byte per row,
// plus 1 MiB for HDF5's own structures. Saturates at INT64_MAX.
int64_t store_row_bytes(int64_t rows, int64_t theta_dim, int64_t x_dim);

class SimStore {
 public:
  SimStore() = default;
  ~SimStore();
  SimStore(SimStore&& other) noexcept;
  SimStore& operator=(SimStore&& other) noexcept;
  SimStore(const SimStore&) = delete;
  SimStore& operator=(const SimStore&) = delete;

  // Collective over comm: creates `path` (replacing an existing file) with every dataset allocated up
  // front and on disk, so rows written later survive a crash of all writers. Rank 0 writes the layout
  // under `path`.tmp and renames it into place when complete: a failure (a full disk: the error says
  // "no space left on device") leaves nothing under `path` and an older file there untouched.
  static SimStore create(const std::string& path, const SimStoreMeta& meta, MPI_Comm comm);
  // Collective over comm: opens an existing store for writing more rows (resume).
  static SimStore open_for_resume(const std::string& path, MPI_Comm comm);
  // Serial read-only open (inspect, training data loading on one rank).
  static SimStore open_read(const std::string& path);
  // Serial read-write open by one process while no other has the file open (the proposal of a round).
  static SimStore open_serial_for_write(const std::string& path);

  const SimStoreMeta& meta() const { return meta_; }
  const std::string& path() const { return path_; }

  // Independent write of rows [first, first + theta.rows): data first, then status (a crash between
  // the two leaves the rows "not simulated", so resume redoes them). A failure names the file, the rows
  // and, when the disk is full, "no space left on device".
  void write_rows(int64_t first, ConstMatrixView theta, ConstMatrixView x, const std::vector<uint8_t>& status);
  std::vector<uint8_t> read_status() const;  // all N entries
  std::vector<uint8_t> read_status(int64_t first, int64_t count) const;
  void read_rows(int64_t first, int64_t count, Matrix& theta, Matrix& x, std::vector<uint8_t>& status) const;
  Matrix read_theta(int64_t first, int64_t count) const;

  // Sequential stores. The proposal description (JSON) of round r, "" while it has not been drawn.
  std::string round_proposal(int64_t round) const;
  // Round r's θ (round_rows of them, status left "not simulated"), then its description — in that
  // order, so a recorded proposal means its θ are on disk (a crash in between draws them again).
  void write_proposal(int64_t round, ConstMatrixView theta, const std::string& description);
  void close();  // collective when opened collectively

 private:
  static SimStore open(const std::string& path, MPI_Comm comm, bool writable);
  void read_meta();

  std::string path_;
  SimStoreMeta meta_;
  hid_t file_ = -1;
  hid_t theta_ = -1, x_ = -1, status_ = -1, round_ = -1;
  hid_t independent_xfer_ = -1;
};

// Raises Error(format) unless the existing store was made by the same task/seed/dims/budget/chunking.
void check_resume_compatible(const SimStoreMeta& existing, const SimStoreMeta& requested, const std::string& path);

// Current UTC time as ISO-8601.
std::string utc_now_iso8601();

}  // namespace simbi::store
