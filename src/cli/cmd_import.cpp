// `simbi import`: turn (θ, x) simulated elsewhere (CSV files or HDF5 datasets) into a simbi store.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "simbi/core/log.hpp"
#include "simbi/core/version.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/disk_space.hpp"
#include "simbi/store/hdf5_util.hpp"
#include "simbi/store/sim_store.hpp"
#include "simbi/store/store_lock.hpp"
#include "simbi/store/table.hpp"

namespace simbi::cli {

namespace {

struct ImportArgs {
  TaskSource source;
  std::string name;
  std::string theta;
  std::string x;
  std::string status;
  std::string out;
  bool force = false;
  bool break_lock = false;
};

int run_import(const ImportArgs& a) {
  dist::run_agreed([&] {
    if (!dist::is_root()) return;
    store::require_writable_output(a.out, "--out");
    const store::StoreLock lock = store::StoreLock::acquire(a.out, a.break_lock);
    require(!std::filesystem::exists(a.out) || a.force, ErrorKind::invalid_argument,
            a.out + ": output exists; pass --force to overwrite it");
    std::vector<std::string> theta_header;
    Matrix theta = store::read_matrix(a.theta, "/theta", &theta_header);
    Matrix x = store::read_matrix(a.x.empty() ? a.theta : a.x, "/x", nullptr);
    require(theta.rows() == x.rows(), ErrorKind::format,
            "theta has " + std::to_string(theta.rows()) + " rows but x has " + std::to_string(x.rows()));
    require(theta.rows() > 0, ErrorKind::format, a.theta + ": no rows to import");

    store::SimStoreMeta meta;
    meta.theta_dim = theta.cols();
    meta.x_dim = x.cols();
    meta.theta_labels = theta_header.empty() ? sim::default_theta_labels(theta.cols()) : theta_header;
    if (a.source.given()) {
      const TaskSource::Identity task = a.source.identity();
      require(task.theta_dim == theta.cols() && task.x_dim == x.cols(), ErrorKind::format,
              "imported data has theta_dim " + std::to_string(theta.cols()) + " and x_dim " + std::to_string(x.cols()) +
                  " but task '" + task.name + "' has " + std::to_string(task.theta_dim) + " and " +
                  std::to_string(task.x_dim));
      meta.task = task.name;
      meta.prior_json = task.prior_json;
      meta.theta_labels = task.theta_labels;
      meta.x_shape = task.x_shape;
    } else {
      meta.task = a.name.empty() ? "imported" : a.name;
    }
    meta.budget = theta.rows();
    meta.chunk_rows = std::min<int64_t>(1024, meta.budget);
    meta.simulator = "imported:" + a.theta;
    meta.simbi_version = kVersion;
    meta.created = store::utc_now_iso8601();

    std::vector<uint8_t> status(static_cast<size_t>(theta.rows()), store::kOk);
    if (!a.status.empty()) {
      const Matrix s = store::read_matrix(a.status, "/status", nullptr);
      require(s.rows() == theta.rows() && s.cols() == 1, ErrorKind::format,
              a.status + ": status must be one value per row (" + std::to_string(theta.rows()) + " rows)");
      for (int64_t i = 0; i < s.rows(); ++i) {
        const float v = s(i, 0);
        require(v == 0.0f || v == 1.0f || v == 2.0f, ErrorKind::format,
                a.status + ": row " + std::to_string(i + 1) + " has status " + std::to_string(v) +
                    ", expected 0 (not simulated), 1 (ok) or 2 (failed)");
        status[static_cast<size_t>(i)] = static_cast<uint8_t>(v);
      }
    }
    int64_t failed = 0;
    for (int64_t i = 0; i < theta.rows(); ++i) {
      for (int64_t j = 0; j < theta.cols(); ++j)
        require(std::isfinite(theta(i, j)), ErrorKind::format,
                a.theta + ": theta row " + std::to_string(i + 1) + " is not finite (every parameter must be a number)");
      bool finite = true;
      for (int64_t j = 0; j < x.cols(); ++j) finite = finite && std::isfinite(x(i, j));
      if (!finite && status[static_cast<size_t>(i)] == store::kOk) status[static_cast<size_t>(i)] = store::kFailed;
      if (status[static_cast<size_t>(i)] == store::kFailed) ++failed;
    }
    store::require_free_space(a.out, store::store_row_bytes(meta.budget, meta.theta_dim, meta.x_dim),
                              std::to_string(meta.budget) + " rows of float32 theta and x + 1 status byte per row");
    // Written under a temporary name and renamed: a failure (full disk) leaves no partial store at --out.
    const std::string tmp = a.out + ".tmp";
    try {
      store::SimStore s = store::SimStore::create(tmp, meta, MPI_COMM_SELF);
      s.write_rows(0, theta.view(), x.view(), status);
      s.close();
      std::filesystem::rename(tmp, a.out);
    } catch (...) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw;
    }
    std::printf("imported %lld rows (theta_dim %lld, x_dim %lld; %lld failed) into %s as task '%s'\n",
                static_cast<long long>(theta.rows()), static_cast<long long>(theta.cols()),
                static_cast<long long>(x.cols()), static_cast<long long>(failed), a.out.c_str(), meta.task.c_str());
  });
  return 0;
}

}  // namespace

void add_import_command(CLI::App& app, std::vector<Command>& commands) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* sub = app.add_subcommand("import", "Import (theta, x) simulated elsewhere (CSV or HDF5) into a store");
  sub->add_option("--theta", args->theta, "theta.csv, or file.h5[:/dataset] (default dataset /theta)")->required();
  sub->add_option("--x", args->x, "x.csv, or file.h5[:/dataset] (default: the --theta file's /x)");
  sub->add_option("--status", args->status, "Optional per-row status (0/1/2), CSV or file.h5:/dataset");
  sub->add_option("--out", args->out, "Output store (HDF5)")->required();
  sub->add_option("--name", args->name, "Task name to record when no --task/--simulator-config is given");
  args->source.add_options(*sub, false);
  sub->add_flag("--force", args->force, "Overwrite an existing output");
  sub->add_flag("--break-lock", args->break_lock,
                "Take the store's lock even if another job holds it (only when that job is gone)");
  commands.push_back({sub, [args] { return run_import(*args); }});
}

}  // namespace simbi::cli
