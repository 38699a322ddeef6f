#include "simbi/store/sim_store.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "simbi/core/error.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/store/disk_space.hpp"
#include "simbi/store/hdf5_util.hpp"

namespace simbi::store {

namespace {

// HDF5 chunk rows of a float32 dataset `cols` wide: a power of two, at most the work chunk and at most
// about 4 MiB per HDF5 chunk (one row when a row alone is larger: lorenz96's 1.6 MB rows get 2-row
// chunks of /x, while its 4-wide /theta keeps chunks as long as the work chunk allows).
hsize_t hdf5_chunk_rows(int64_t chunk_rows, int64_t cols) {
  const int64_t by_size = std::max<int64_t>(1, (int64_t{4} << 20) / (4 * std::max<int64_t>(cols, 1)));
  const int64_t cap = std::max<int64_t>(1, std::min(chunk_rows, by_size));
  int64_t rows = 1;
  while (rows * 2 <= cap) rows *= 2;
  return static_cast<hsize_t>(rows);
}

// ": <reason>" for a failed HDF5 write to `path`, when the file system says why (a full disk).
std::string failure_suffix(const std::string& path, int saved_errno, int64_t bytes_needed) {
  const std::string reason = disk_full_reason(path, saved_errno, bytes_needed);
  return reason.empty() ? "" : ": " + reason;
}

h5::Handle create_matrix_dataset(const std::string& path, hid_t file, const char* name, int64_t rows, int64_t cols,
                                 hsize_t chunk) {
  const hsize_t dims[2] = {static_cast<hsize_t>(rows), static_cast<hsize_t>(cols)};
  const hsize_t chunk_dims[2] = {std::min<hsize_t>(chunk, dims[0]), dims[1]};
  h5::Handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
  h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_chunk(dcpl.get(), 2, chunk_dims);
  // All space allocated at creation (the chunk index is then complete and flushed before any row is
  // written); rows are not pre-filled — /status says which rows hold data.
  H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY);
  H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER);
  errno = 0;
  h5::Handle d(H5Dcreate2(file, name, H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), H5Dclose);
  if (!d.valid())
    throw Error(ErrorKind::io, path + ": cannot create dataset " + name + failure_suffix(path, errno, 4 * rows * cols));
  return d;
}

h5::Handle create_status_dataset(const std::string& path, hid_t file, int64_t rows, hsize_t chunk) {
  const hsize_t dims[1] = {static_cast<hsize_t>(rows)};
  const hsize_t chunk_dims[1] = {std::min<hsize_t>(std::max<hsize_t>(chunk, 4096), dims[0])};
  h5::Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_chunk(dcpl.get(), 1, chunk_dims);
  H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY);
  const uint8_t fill = kNotSimulated;
  H5Pset_fill_value(dcpl.get(), H5T_NATIVE_UINT8, &fill);
  H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_ALLOC);
  errno = 0;
  h5::Handle d(H5Dcreate2(file, "/status", H5T_STD_U8LE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), H5Dclose);
  if (!d.valid())
    throw Error(ErrorKind::io, path + ": cannot create dataset /status" + failure_suffix(path, errno, rows));
  return d;
}

// /round of a sequential store: row i holds its round, i / round_rows + 1 (fixed at creation).
void write_round_dataset(const std::string& path, hid_t file, const SimStoreMeta& meta) {
  const hsize_t dims[1] = {static_cast<hsize_t>(meta.budget)};
  h5::Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  errno = 0;
  h5::Handle d(H5Dcreate2(file, "/round", H5T_STD_I32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  std::vector<int32_t> rounds(static_cast<size_t>(meta.budget));
  for (int64_t i = 0; i < meta.budget; ++i)
    rounds[static_cast<size_t>(i)] = static_cast<int32_t>(i / meta.round_rows + 1);
  if (!d.valid() || H5Dwrite(d.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, rounds.data()) < 0)
    throw Error(ErrorKind::io, path + ": cannot write dataset /round" + failure_suffix(path, errno, 4 * meta.budget));
}

// File and memory dataspaces selecting rows [first, first + rows) (all columns; cols = 0 for 1-D).
std::pair<h5::Handle, h5::Handle> row_selection(hid_t dataset, int64_t first, int64_t rows, int64_t cols) {
  h5::Handle fspace(H5Dget_space(dataset), H5Sclose);
  const int rank = cols > 0 ? 2 : 1;
  const hsize_t start[2] = {static_cast<hsize_t>(first), 0};
  const hsize_t count[2] = {static_cast<hsize_t>(rows), static_cast<hsize_t>(cols)};
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  h5::Handle mspace(H5Screate_simple(rank, count, nullptr), H5Sclose);
  return {std::move(fspace), std::move(mspace)};
}

std::string rows_text(int64_t first, int64_t rows) {
  return "rows " + std::to_string(first) + ".." + std::to_string(first + rows - 1);
}

void write_block(const std::string& path, hid_t dataset, hid_t mem_type, int64_t first, int64_t rows, int64_t cols,
                 const void* data, hid_t xfer, const std::string& where) {
  if (rows == 0) return;
  const auto [fspace, mspace] = row_selection(dataset, first, rows, cols);
  errno = 0;
  if (H5Dwrite(dataset, mem_type, mspace.get(), fspace.get(), xfer, data) < 0) {
    const int saved_errno = errno;
    const int64_t bytes = rows * (cols > 0 ? 4 * cols : 1);
    throw Error(ErrorKind::io,
                where + ": writing " + rows_text(first, rows) + " failed" + failure_suffix(path, saved_errno, bytes));
  }
}

void read_block(hid_t dataset, hid_t mem_type, int64_t first, int64_t rows, int64_t cols, void* data,
                const std::string& where) {
  if (rows == 0) return;
  const auto [fspace, mspace] = row_selection(dataset, first, rows, cols);
  require(H5Dread(dataset, mem_type, mspace.get(), fspace.get(), H5P_DEFAULT, data) >= 0, ErrorKind::format,
          where + ": reading " + rows_text(first, rows) + " failed (file truncated or damaged?)");
}

std::string shape_string(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// Product of a shape's extents; -1 when one is not positive or the product overflows.
int64_t shape_product(const std::vector<int64_t>& s) {
  int64_t p = 1;
  for (int64_t e : s) {
    if (e <= 0 || p > std::numeric_limits<int64_t>::max() / e) return -1;
    p *= e;
  }
  return p;
}

}  // namespace

int64_t store_row_bytes(int64_t rows, int64_t theta_dim, int64_t x_dim) {
  // Plus 1 MiB for the file's structure: HDF5 itself must not be the one to find the disk full while
  // writing a new store's layout (it cannot be closed cleanly after that).
  const long double bytes = static_cast<long double>(rows) * (4.0L * (theta_dim + x_dim) + 1.0L) + (1 << 20);
  return bytes >= static_cast<long double>(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max()
                                                                                : static_cast<int64_t>(bytes);
}

StatusCounts count_status(const std::vector<uint8_t>& status) {
  StatusCounts c;
  for (uint8_t s : status) {
    if (s == kOk)
      ++c.ok;
    else if (s == kFailed)
      ++c.failed;
    else
      ++c.not_simulated;
  }
  return c;
}

std::string utc_now_iso8601() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

SimStore::~SimStore() {
  try {
    close();
  } catch (...) {
  }
}

SimStore::SimStore(SimStore&& o) noexcept { *this = std::move(o); }

SimStore& SimStore::operator=(SimStore&& o) noexcept {
  if (this != &o) {
    try {
      close();
    } catch (...) {
    }
    path_ = std::move(o.path_);
    meta_ = std::move(o.meta_);
    file_ = o.file_;
    theta_ = o.theta_;
    x_ = o.x_;
    status_ = o.status_;
    round_ = o.round_;
    independent_xfer_ = o.independent_xfer_;
    o.file_ = o.theta_ = o.x_ = o.status_ = o.round_ = o.independent_xfer_ = -1;
  }
  return *this;
}

namespace {

// The whole layout of a new store (datasets allocated, attributes, status "not simulated"), written by
// one process under `path`.tmp and renamed over `path` only once closed: a failure (a full disk) leaves
// no damaged file under `path`, and an older store there stays untouched until the new one is complete.
void create_layout(const std::string& path, const SimStoreMeta& meta) {
  const std::string tmp = path + ".tmp";
  try {
    h5::Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    H5Pset_file_locking(fapl.get(), false, true);  // the store's own lock guards writers (store_lock.hpp)
    errno = 0;
    h5::Handle file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose);
    if (!file.valid()) {
      const std::string full = disk_full_reason(path, errno, meta.budget);
      throw Error(ErrorKind::io, path + ": cannot create the file" +
                                     (full.empty() ? " (is the directory there and writable?)" : ": " + full));
    }
    const hsize_t theta_chunk = hdf5_chunk_rows(meta.chunk_rows, meta.theta_dim);
    const hsize_t x_chunk = hdf5_chunk_rows(meta.chunk_rows, meta.x_dim);
    {
      const h5::Handle theta =
          create_matrix_dataset(path, file.get(), "/theta", meta.budget, meta.theta_dim, theta_chunk);
      const h5::Handle x = create_matrix_dataset(path, file.get(), "/x", meta.budget, meta.x_dim, x_chunk);
      const h5::Handle status = create_status_dataset(path, file.get(), meta.budget, std::max(theta_chunk, x_chunk));
      if (meta.is_sequential()) write_round_dataset(path, file.get(), meta);
    }
    const hid_t root = file.get();
    try {
      h5::write_string_attribute(root, "format", kSimsFormat);
      h5::write_int_attribute(root, "version", kSimsVersion);
      h5::write_string_attribute(root, "task", meta.task);
      h5::write_int_attribute(root, "theta_dim", meta.theta_dim);
      h5::write_int_attribute(root, "x_dim", meta.x_dim);
      h5::write_uint_attribute(root, "seed", meta.seed);
      h5::write_int_attribute(root, "chunk_rows", meta.chunk_rows);
      h5::write_int_attribute(root, "budget", meta.budget);
      h5::write_string_attribute(root, "simulator", meta.simulator);
      h5::write_string_attribute(root, "prior", meta.prior_json);
      h5::write_string_array_attribute(root, "theta_labels", meta.theta_labels);
      if (!meta.x_shape.empty()) h5::write_int_array_attribute(root, "x_shape", meta.x_shape);
      h5::write_string_attribute(root, "simbi_version", meta.simbi_version);
      h5::write_string_attribute(root, "created", meta.created);
      if (meta.is_sequential()) {
        h5::write_int_attribute(root, "rounds", meta.rounds);
        h5::write_int_attribute(root, "round_rows", meta.round_rows);
        h5::write_string_attribute(root, "sequential", meta.sequential);
        h5::write_string_attribute(root, round_proposal_attribute(1), prior_proposal_description(meta.seed));
      }
    } catch (const Error& e) {
      throw Error(e.kind(), path + ": " + e.what() + failure_suffix(path, errno, meta.budget));
    }
    // Everything but the rows' contents is on disk from here on: a crash later loses no structure.
    errno = 0;
    if (H5Fclose(file.release()) < 0)
      throw Error(ErrorKind::io, path + ": writing the new store failed" + failure_suffix(path, errno, meta.budget));
    errno = 0;
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
      throw Error(ErrorKind::io, path + ": cannot move the new store into place: " + std::strerror(errno));
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

}  // namespace

SimStore SimStore::create(const std::string& path, const SimStoreMeta& meta, MPI_Comm comm) {
  h5::silence_errors();
  require(meta.budget > 0 && meta.theta_dim > 0 && meta.x_dim > 0 && meta.chunk_rows > 0, ErrorKind::internal,
          "SimStore::create: invalid meta");
  require(meta.x_shape.empty() || shape_product(meta.x_shape) == meta.x_dim, ErrorKind::internal,
          "SimStore::create: x_shape " + shape_string(meta.x_shape) + " does not match x_dim");
  require(!meta.is_sequential() || (meta.round_rows > 0 && meta.rounds * meta.round_rows == meta.budget),
          ErrorKind::internal, "SimStore::create: rounds x round_rows differs from the budget");
  int rank = 0;
  if (dist::mpi_active()) MPI_Comm_rank(comm, &rank);
  // One process writes the layout (a failure there is one rank's, agreed below, instead of a collective
  // HDF5 call failing on some ranks only); then every rank opens the finished file.
  dist::run_agreed(
      [&] {
        if (rank == 0) create_layout(path, meta);
      },
      comm);
  return open(path, comm, true);
}

SimStore SimStore::open(const std::string& path, MPI_Comm comm, bool writable) {
  h5::silence_errors();
  require(std::filesystem::exists(path), ErrorKind::io, path + ": no such file");
  require(H5Fis_hdf5(path.c_str()) > 0, ErrorKind::format, path + ": not an HDF5 file (expected a simbi store)");
  h5::Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (comm != MPI_COMM_NULL) {
    H5Pset_fapl_mpio(fapl.get(), comm, MPI_INFO_NULL);
  } else {
    H5Pset_file_locking(fapl.get(), false, true);
  }
  h5::Handle file(H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl.get()), H5Fclose);
  require(file.valid(), ErrorKind::format,
          path + ": HDF5 file is truncated or damaged (HDF5 cannot open it" + (writable ? " for writing)" : ")"));
  SimStore s;
  s.path_ = path;
  s.file_ = file.release();
  s.read_meta();
  s.theta_ = H5Dopen2(s.file_, "/theta", H5P_DEFAULT);
  s.x_ = H5Dopen2(s.file_, "/x", H5P_DEFAULT);
  s.status_ = H5Dopen2(s.file_, "/status", H5P_DEFAULT);
  if (s.meta_.is_sequential()) s.round_ = H5Dopen2(s.file_, "/round", H5P_DEFAULT);
  if (comm != MPI_COMM_NULL) {
    s.independent_xfer_ = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(s.independent_xfer_, H5FD_MPIO_INDEPENDENT);
  }
  return s;
}

SimStore SimStore::open_for_resume(const std::string& path, MPI_Comm comm) { return open(path, comm, true); }
SimStore SimStore::open_read(const std::string& path) { return open(path, MPI_COMM_NULL, false); }
SimStore SimStore::open_serial_for_write(const std::string& path) { return open(path, MPI_COMM_NULL, true); }

std::string round_proposal_attribute(int64_t round) { return "round_" + std::to_string(round) + "_proposal"; }

std::string prior_proposal_description(uint64_t seed) {
  return nlohmann::json{{"kind", "prior"}, {"seed", seed}}.dump();
}

void SimStore::read_meta() {
  const std::string& where = path_;
  require(h5::has_attribute(file_, "format"), ErrorKind::format,
          where + ": not a simbi simulation store (root attribute 'format' is missing; expected '" +
              std::string(kSimsFormat) + "'; use `simbi import` for (theta, x) data written elsewhere)");
  const std::string format = h5::read_string_attribute(file_, "format", where);
  require(format == kSimsFormat, ErrorKind::format,
          where + ": attribute 'format' is '" + format + "', expected '" + kSimsFormat + "'");
  meta_.version = h5::read_int_attribute(file_, "version", where);
  require(meta_.version >= 1 && meta_.version <= kSimsVersion, ErrorKind::format,
          where + ": store format version " + std::to_string(meta_.version) + " is not supported (this simbi reads " +
              std::to_string(kSimsVersion) + ")");
  meta_.task = h5::read_string_attribute(file_, "task", where);
  meta_.theta_dim = h5::read_int_attribute(file_, "theta_dim", where);
  meta_.x_dim = h5::read_int_attribute(file_, "x_dim", where);
  meta_.seed = h5::read_uint_attribute(file_, "seed", where);
  meta_.chunk_rows = h5::read_int_attribute(file_, "chunk_rows", where);
  meta_.budget = h5::read_int_attribute(file_, "budget", where);
  meta_.simulator = h5::read_string_attribute(file_, "simulator", where);
  meta_.prior_json = h5::read_string_attribute(file_, "prior", where);
  meta_.theta_labels = h5::read_string_array_attribute(file_, "theta_labels", where);
  meta_.x_shape.clear();
  if (h5::has_attribute(file_, "x_shape")) {
    meta_.x_shape = h5::read_int_array_attribute(file_, "x_shape", where);
    require(!meta_.x_shape.empty() && shape_product(meta_.x_shape) == meta_.x_dim, ErrorKind::format,
            where + ": attribute 'x_shape' " + shape_string(meta_.x_shape) +
                " does not multiply to x_dim = " + std::to_string(meta_.x_dim));
  }
  meta_.simbi_version = h5::read_string_attribute(file_, "simbi_version", where);
  meta_.created = h5::read_string_attribute(file_, "created", where);
  std::vector<std::pair<std::string, std::vector<int64_t>>> expected = {
      {"/theta", {meta_.budget, meta_.theta_dim}}, {"/x", {meta_.budget, meta_.x_dim}}, {"/status", {meta_.budget}}};
  meta_.rounds = meta_.round_rows = 0;
  meta_.sequential.clear();
  if (h5::has_attribute(file_, "rounds")) {
    meta_.rounds = h5::read_int_attribute(file_, "rounds", where);
    meta_.round_rows = h5::read_int_attribute(file_, "round_rows", where);
    meta_.sequential = h5::read_string_attribute(file_, "sequential", where);
    require(meta_.rounds >= 1 && meta_.round_rows >= 1 && meta_.rounds * meta_.round_rows == meta_.budget,
            ErrorKind::format,
            where + ": attributes 'rounds' (" + std::to_string(meta_.rounds) + ") x 'round_rows' (" +
                std::to_string(meta_.round_rows) + ") differ from the budget " + std::to_string(meta_.budget));
    expected.push_back({"/round", {meta_.budget}});
  }
  for (const auto& [name, shape] : expected) {
    const auto found = h5::dataset_shape(file_, name);
    require(!found.empty(), ErrorKind::format, where + ": dataset " + name + " is missing");
    require(found == shape, ErrorKind::format,
            where + ": dataset " + name + " has shape " + shape_string(found) + ", expected " + shape_string(shape) +
                " from the root attributes");
  }
}

void SimStore::write_rows(int64_t first, ConstMatrixView theta, ConstMatrixView x, const std::vector<uint8_t>& status) {
  require(theta.rows == x.rows && static_cast<int64_t>(status.size()) == x.rows && theta.cols == meta_.theta_dim &&
              x.cols == meta_.x_dim && first >= 0 && first + x.rows <= meta_.budget,
          ErrorKind::internal, "SimStore::write_rows: rows do not fit the store");
  const hid_t xfer = independent_xfer_ >= 0 ? independent_xfer_ : H5P_DEFAULT;
  write_block(path_, theta_, H5T_NATIVE_FLOAT, first, theta.rows, theta.cols, theta.data, xfer, path_ + " /theta");
  write_block(path_, x_, H5T_NATIVE_FLOAT, first, x.rows, x.cols, x.data, xfer, path_ + " /x");
  // Status last: a row counts as simulated only once its data is in the file.
  write_block(path_, status_, H5T_NATIVE_UINT8, first, x.rows, 0, status.data(), xfer, path_ + " /status");
}

std::vector<uint8_t> SimStore::read_status() const { return read_status(0, meta_.budget); }

std::vector<uint8_t> SimStore::read_status(int64_t first, int64_t count) const {
  require(first >= 0 && count >= 0 && first + count <= meta_.budget, ErrorKind::internal,
          "SimStore::read_status: range outside the store");
  std::vector<uint8_t> status(static_cast<size_t>(count));
  read_block(status_, H5T_NATIVE_UINT8, first, count, 0, status.data(), path_ + " /status");
  return status;
}

void SimStore::read_rows(int64_t first, int64_t count, Matrix& theta, Matrix& x, std::vector<uint8_t>& status) const {
  require(first >= 0 && count >= 0 && first + count <= meta_.budget, ErrorKind::internal,
          "SimStore::read_rows: range outside the store");
  theta = Matrix(count, meta_.theta_dim);
  x = Matrix(count, meta_.x_dim);
  status.assign(static_cast<size_t>(count), 0);
  read_block(theta_, H5T_NATIVE_FLOAT, first, count, meta_.theta_dim, theta.data(), path_ + " /theta");
  read_block(x_, H5T_NATIVE_FLOAT, first, count, meta_.x_dim, x.data(), path_ + " /x");
  read_block(status_, H5T_NATIVE_UINT8, first, count, 0, status.data(), path_ + " /status");
}

Matrix SimStore::read_theta(int64_t first, int64_t count) const {
  require(first >= 0 && count >= 0 && first + count <= meta_.budget, ErrorKind::internal,
          "SimStore::read_theta: range outside the store");
  Matrix theta(count, meta_.theta_dim);
  const hid_t xfer = independent_xfer_ >= 0 ? independent_xfer_ : H5P_DEFAULT;
  if (count == 0) return theta;
  const auto [fspace, mspace] = row_selection(theta_, first, count, meta_.theta_dim);
  require(H5Dread(theta_, H5T_NATIVE_FLOAT, mspace.get(), fspace.get(), xfer, theta.data()) >= 0, ErrorKind::format,
          path_ + " /theta: reading " + rows_text(first, count) + " failed (file truncated or damaged?)");
  return theta;
}

std::string SimStore::round_proposal(int64_t round) const {
  require(meta_.is_sequential() && round >= 1 && round <= meta_.rounds, ErrorKind::internal,
          "SimStore::round_proposal: no round " + std::to_string(round) + " in " + path_);
  const std::string name = round_proposal_attribute(round);
  return h5::has_attribute(file_, name) ? h5::read_string_attribute(file_, name, path_) : "";
}

void SimStore::write_proposal(int64_t round, ConstMatrixView theta, const std::string& description) {
  require(meta_.is_sequential() && round >= 1 && round <= meta_.rounds && theta.rows == meta_.round_rows &&
              theta.cols == meta_.theta_dim,
          ErrorKind::internal, "SimStore::write_proposal: θ do not fit round " + std::to_string(round));
  const int64_t first = meta_.round_first(round);
  write_block(path_, theta_, H5T_NATIVE_FLOAT, first, theta.rows, theta.cols, theta.data, H5P_DEFAULT,
              path_ + " /theta");
  errno = 0;
  require(H5Fflush(file_, H5F_SCOPE_GLOBAL) >= 0, ErrorKind::io,
          path_ + ": writing round " + std::to_string(round) + "'s proposal failed" +
              failure_suffix(path_, errno, 4 * theta.rows * theta.cols));
  h5::write_string_attribute(file_, round_proposal_attribute(round), description);
  require(H5Fflush(file_, H5F_SCOPE_GLOBAL) >= 0, ErrorKind::io,
          path_ + ": writing round " + std::to_string(round) + "'s proposal failed" + failure_suffix(path_, errno, 0));
}

void SimStore::close() {
  for (hid_t* d : {&theta_, &x_, &status_, &round_}) {
    if (*d >= 0) H5Dclose(*d);
    *d = -1;
  }
  if (independent_xfer_ >= 0) H5Pclose(independent_xfer_);
  independent_xfer_ = -1;
  if (file_ >= 0) {
    errno = 0;
    const herr_t rc = H5Fclose(file_);
    const int saved_errno = errno;
    file_ = -1;
    require(rc >= 0, ErrorKind::io, path_ + ": closing the file failed" + failure_suffix(path_, saved_errno, 0));
  }
}

void check_resume_compatible(const SimStoreMeta& existing, const SimStoreMeta& requested, const std::string& path) {
  auto mismatch = [&](const std::string& field, const std::string& found, const std::string& wanted) {
    throw Error(ErrorKind::format, path + ": cannot resume: the store has " + field + " = " + found +
                                       " but this run asks for " + wanted + " (use --force to start over)");
  };
  if (existing.task != requested.task) mismatch("task", "'" + existing.task + "'", "'" + requested.task + "'");
  if (existing.seed != requested.seed) mismatch("seed", std::to_string(existing.seed), std::to_string(requested.seed));
  if (existing.theta_dim != requested.theta_dim)
    mismatch("theta_dim", std::to_string(existing.theta_dim), std::to_string(requested.theta_dim));
  if (existing.x_dim != requested.x_dim)
    mismatch("x_dim", std::to_string(existing.x_dim), std::to_string(requested.x_dim));
  if (existing.budget != requested.budget)
    mismatch("budget", std::to_string(existing.budget), std::to_string(requested.budget));
  if (existing.chunk_rows != requested.chunk_rows)
    mismatch("chunk_rows", std::to_string(existing.chunk_rows), std::to_string(requested.chunk_rows));
  if (!existing.prior_json.empty() && !requested.prior_json.empty() && existing.prior_json != requested.prior_json)
    mismatch("prior", existing.prior_json, requested.prior_json);
  if (existing.x_shape != requested.x_shape)
    mismatch("x_shape", shape_string(existing.x_shape), shape_string(requested.x_shape));
  if (existing.rounds != requested.rounds)
    mismatch("rounds", std::to_string(existing.rounds), std::to_string(requested.rounds));
  if (existing.round_rows != requested.round_rows)
    mismatch("round_rows", std::to_string(existing.round_rows), std::to_string(requested.round_rows));
  if (existing.sequential != requested.sequential) mismatch("sequential", existing.sequential, requested.sequential);
}

}  // namespace simbi::store
