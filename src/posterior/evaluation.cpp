#include "simbi/posterior/evaluation.hpp"

#include <sched.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <thread>

#include "simbi/core/error.hpp"
#include "simbi/core/log.hpp"
#include "simbi/core/text.hpp"
#include "simbi/core/timing.hpp"
#include "simbi/core/version.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/metrics/c2st.hpp"
#include "simbi/metrics/mmd.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/table.hpp"

namespace simbi::posterior {

namespace {

struct Wanted {
  bool c2st = false, mmd = false;
};

Wanted parse_metrics(const std::string& text) {
  Wanted w;
  for (const std::string& item : split_list(text)) {
    if (item == "c2st")
      w.c2st = true;
    else if (item == "mmd")
      w.mmd = true;
    else
      throw Error(ErrorKind::invalid_argument, "--metrics: unknown metric '" + item + "' (expected c2st, mmd)");
  }
  require(w.c2st || w.mmd, ErrorKind::invalid_argument, "--metrics: '" + text + "' names no metric (c2st, mmd)");
  return w;
}

// The first `max_rows` rows (all when max_rows <= 0), checked finite.
Matrix read_samples(const std::string& path, int64_t max_rows, int64_t min_rows, const std::string& why_min) {
  Matrix all = store::read_matrix(path, "/samples", nullptr);
  const int64_t rows = max_rows > 0 ? std::min(max_rows, all.rows()) : all.rows();
  require(rows >= min_rows, ErrorKind::format, path + ": " + std::to_string(all.rows()) + " rows, " + why_min);
  Matrix m(rows, all.cols());
  std::copy(all.data(), all.data() + rows * all.cols(), m.data());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < m.cols(); ++j)
      require(std::isfinite(m(i, j)), ErrorKind::numeric,
              path + ": row " + std::to_string(i + 1) + ", column " + std::to_string(j + 1) + " is " +
                  std::to_string(m(i, j)) + "; evaluate needs finite samples");
  return m;
}

// Default threads per rank: the node's cores shared by its ranks. C2ST folds are independent work
// (no synchronisation between them), so, unlike training, evaluate uses every core.
int default_threads() {
  cpu_set_t set;
  int cores = 1;
  if (sched_getaffinity(0, sizeof set, &set) == 0) cores = CPU_COUNT(&set);
  int node_ranks = 1;
  if (dist::mpi_active()) {
    MPI_Comm node;
    MPI_Comm_split_type(dist::comm(), MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &node_ranks);
    MPI_Comm_free(&node);
    // mpiexec binds each rank to one core by default: count the node's cores, not this rank's mask.
    cores = std::max(cores, static_cast<int>(std::thread::hardware_concurrency()));
  }
  return std::max(1, cores / std::max(1, node_ranks));
}

// The inputs, checked: which metrics, and the samples and reference rows (agreed across the ranks).
struct Inputs {
  Wanted want;
  Matrix samples, reference;
};

Inputs read_inputs(const EvaluationRequest& a) {
  Inputs in;
  dist::run_agreed([&] {
    in.want = parse_metrics(a.metrics);
    require(a.folds >= 2, ErrorKind::invalid_argument, "--folds must be >= 2 (got " + std::to_string(a.folds) + ")");
    require(a.max_samples >= 0, ErrorKind::invalid_argument, "--max-samples must be >= 0 (0: all rows)");
    const int64_t min_rows = in.want.c2st ? 2 * a.folds : 2;
    require(a.max_samples == 0 || a.max_samples >= min_rows, ErrorKind::invalid_argument,
            "--max-samples " + std::to_string(a.max_samples) + " is too small: expected at least " +
                std::to_string(min_rows) + (in.want.c2st ? " (2 x the C2ST folds)" : "") + ", or 0 for all rows");
    const std::string why = in.want.c2st ? "expected at least " + std::to_string(min_rows) + " (2 x " +
                                               std::to_string(a.folds) + " C2ST folds)"
                                         : "expected at least 2";
    if (dist::is_root() && !a.out.empty()) store::require_writable_output(a.out, "--out");
    in.reference = read_samples(a.reference, a.max_samples, min_rows, why);
    in.samples = read_samples(a.samples, a.max_samples, min_rows, why);
    require(in.samples.cols() == in.reference.cols(), ErrorKind::format,
            a.samples + " has " + std::to_string(in.samples.cols()) + " columns but " + a.reference + " has " +
                std::to_string(in.reference.cols()) + "; expected samples of the same parameters");
  });
  return in;
}

// Every figure, the same on every rank: each fold was computed on exactly one rank, MMD on one rank.
struct Figures {
  std::vector<double> fold_acc, fold_sec, fold_loss;
  std::vector<int64_t> fold_epochs, fold_conv;
  double c2st_mean = 0.0;
  metrics::MmdResult mmd;
  double mmd_seconds = 0.0;
};

Figures compute(const EvaluationRequest& a, const Inputs& in, const metrics::C2stOptions& co, int threads) {
  const int rank = dist::rank(), size = dist::size();
  const int mmd_rank = (a.folds % size) % size;  // the rank with the fewest folds
  metrics::C2stResult c2st;
  Figures f;
  dist::run_agreed([&] {
    try {
      if (in.want.c2st && !co.fold_subset.empty()) c2st = metrics::c2st(in.reference.view(), in.samples.view(), co);
      if (in.want.mmd && rank == mmd_rank) {
        const auto m0 = SteadyClock::now();
        metrics::MmdOptions mo;
        mo.threads = threads;
        f.mmd = metrics::mmd(in.reference.view(), in.samples.view(), mo);
        f.mmd_seconds = seconds_since(m0);
      }
    } catch (const Error& e) {  // name the files (the metrics see only matrices)
      throw Error(e.kind(), a.samples + " vs " + a.reference + ": " + e.what());
    }
  });
  const double none = -std::numeric_limits<double>::infinity();
  const size_t folds = static_cast<size_t>(a.folds);
  f.fold_acc.assign(folds, 0.0);
  f.fold_sec = f.fold_loss = f.fold_acc;
  f.fold_epochs.assign(folds, 0);
  f.fold_conv = f.fold_epochs;
  if (in.want.c2st) {
    std::vector<const metrics::C2stFold*> mine(folds, nullptr);
    for (const metrics::C2stFold& fold : c2st.computed) mine[static_cast<size_t>(fold.fold)] = &fold;
    for (size_t k = 0; k < folds; ++k) {
      const metrics::C2stFold* p = mine[k];
      f.fold_acc[k] = dist::allreduce_max(p ? p->accuracy : none);
      f.fold_sec[k] = dist::allreduce_max(p ? p->seconds : none);
      f.fold_loss[k] = dist::allreduce_max(p ? p->final_loss : none);
      f.fold_epochs[k] = dist::allreduce_sum(p ? p->epochs : 0);
      f.fold_conv[k] = dist::allreduce_sum(p && p->converged ? 1 : 0);
      f.c2st_mean += f.fold_acc[k];
    }
    f.c2st_mean /= a.folds;
  }
  if (in.want.mmd) {  // NaN (a degenerate reference) travels as a flag: MPI_MAX is undefined on NaN
    const bool mine = rank == mmd_rank, nan = mine && std::isnan(f.mmd.mmd2);
    const bool any_nan = dist::allreduce_sum(nan ? 1 : 0) > 0;
    f.mmd.mmd2 = dist::allreduce_max(mine && !nan ? f.mmd.mmd2 : none);
    f.mmd.bandwidth = dist::allreduce_max(mine && std::isfinite(f.mmd.bandwidth) ? f.mmd.bandwidth : none);
    if (any_nan) f.mmd.mmd2 = std::nan("");
    if (f.mmd.bandwidth == none) f.mmd.bandwidth = std::nan("");
    f.mmd_seconds = dist::allreduce_max(mine ? f.mmd_seconds : none);
  }
  return f;
}

// The JSON record and the one-line summary.
Evaluation describe(const EvaluationRequest& a, const Inputs& in, const metrics::C2stOptions& co, const Figures& f,
                    int threads, double seconds) {
  Evaluation result;
  result.has_c2st = in.want.c2st;
  result.c2st = f.c2st_mean;
  const int64_t dim = in.samples.cols();
  nlohmann::json& j = result.record;
  j = {{"samples", a.samples},
       {"reference", a.reference},
       {"n_samples", in.samples.rows()},
       {"n_reference", in.reference.rows()},
       {"dim", dim},
       {"max_samples", a.max_samples},
       {"seed", a.seed},
       {"ranks", dist::size()},
       {"threads_per_rank", threads},
       {"seconds", seconds},
       {"simbi_version", kVersion}};
  std::string& line = result.line;
  if (in.want.c2st) {
    j["c2st"] = f.c2st_mean;
    j["c2st_folds"] = f.fold_acc;
    j["c2st_fold_epochs"] = f.fold_epochs;
    std::vector<bool> conv;
    for (int64_t c : f.fold_conv) conv.push_back(c > 0);
    j["c2st_fold_converged"] = conv;
    j["c2st_fold_seconds"] = f.fold_sec;
    j["c2st_fold_final_loss"] = f.fold_loss;
    j["c2st_settings"] = {{"folds", co.folds},
                          {"z_score", co.z_score},
                          {"hidden", {co.hidden_factor * dim, co.hidden_factor * dim}},
                          {"batch", co.batch},
                          {"lr", co.lr},
                          {"alpha", co.alpha},
                          {"tol", co.tol},
                          {"n_iter_no_change", co.n_iter_no_change},
                          {"max_epochs", co.max_epochs},
                          {"precision", co.double_precision ? "float64" : "float32"}};
    line += "c2st " + format_number(f.c2st_mean, "%.4f") + " (folds";
    for (double v : f.fold_acc) line += " " + format_number(v, "%.4f");
    line += ")";
  }
  if (in.want.mmd) {
    j["mmd"] = std::isfinite(f.mmd.mmd2) ? nlohmann::json(f.mmd.mmd2) : nlohmann::json(nullptr);
    j["mmd_bandwidth"] = std::isfinite(f.mmd.bandwidth) ? nlohmann::json(f.mmd.bandwidth) : nlohmann::json(nullptr);
    j["mmd_seconds"] = f.mmd_seconds;
    line += std::string(line.empty() ? "" : "  ") + "mmd " + format_number(f.mmd.mmd2, "%.4g");
  }
  line += "  [" + std::to_string(in.samples.rows()) + " vs " + std::to_string(in.reference.rows()) + " samples, " +
          std::to_string(dim) + "-D, " + format_number(seconds, "%.1f s") + "]";
  return result;
}

}  // namespace

Evaluation evaluate_samples(const EvaluationRequest& a) {
  const auto t0 = SteadyClock::now();
  const Inputs in = read_inputs(a);
  // Parallelism within a rank comes from worker threads (C2ST folds, MMD blocks), each running torch
  // single-threaded: OpenMP intra-op threads spin and collapse when another process shares the cores.
  torch::set_num_threads(1);
  const int threads = a.threads > 0 ? a.threads : default_threads();
  log::info("evaluate: " + std::to_string(in.samples.rows()) + " samples vs " + std::to_string(in.reference.rows()) +
            " reference rows, " + std::to_string(in.samples.cols()) + "-D, on " + std::to_string(dist::size()) +
            " rank(s) x " + std::to_string(threads) + " thread(s)");
  metrics::C2stOptions co;
  co.seed = a.seed;
  co.folds = a.folds;
  co.double_precision = a.double_precision;
  co.threads = threads;
  co.fold_subset = metrics::folds_of_rank(a.folds, dist::rank(), dist::size());
  co.on_fold = [&](const metrics::C2stFold& f) {
    log::info("c2st fold " + std::to_string(f.fold + 1) + "/" + std::to_string(a.folds) + ": accuracy " +
              format_number(f.accuracy, "%.4f") + " (" + std::to_string(f.epochs) + " epochs, " +
              format_number(f.seconds, "%.1f s") + ")");
  };
  const Figures figures = compute(a, in, co, threads);
  Evaluation result = describe(a, in, co, figures, threads, seconds_since(t0));
  dist::run_agreed([&] {
    if (!dist::is_root() || a.out.empty()) return;
    store::write_file_atomically(a.out, result.record.dump(2) + "\n");
  });
  return result;
}

}  // namespace simbi::posterior
