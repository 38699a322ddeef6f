// `simbi evaluate`: C2ST and MMD of posterior samples against reference samples, as sbibm reports them
// (first --max-samples rows of each file). C2ST folds are dealt round-robin to the ranks; MMD runs on
// the rank with the fewest folds; rank 0 prints one line and writes the JSON.
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "simbi/core/text.hpp"
#include "simbi/core/timing.hpp"
#include "simbi/store/table.hpp"
#include "simbi/core/log.hpp"
#include "simbi/core/version.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/metrics/c2st.hpp"
#include "simbi/metrics/mmd.hpp"

namespace simbi::cli {

namespace {

struct EvaluateArgs {
  std::string samples, reference, out;
  std::string metrics = "c2st,mmd";
  uint64_t seed = 1;
  int64_t max_samples = 10000;
  int folds = 5;
  bool double_precision = false;
  int threads = 0;
};

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
  require(rows >= min_rows, ErrorKind::format,
          path + ": " + std::to_string(all.rows()) + " rows, " + why_min);
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


int run_evaluate(const EvaluateArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  Wanted want;
  Matrix samples, reference;
  dist::run_agreed([&] {
    want = parse_metrics(a.metrics);
    require(a.folds >= 2, ErrorKind::invalid_argument, "--folds must be >= 2 (got " + std::to_string(a.folds) + ")");
    require(a.max_samples >= 0, ErrorKind::invalid_argument, "--max-samples must be >= 0 (0: all rows)");
    const int64_t min_rows = want.c2st ? 2 * a.folds : 2;
    require(a.max_samples == 0 || a.max_samples >= min_rows, ErrorKind::invalid_argument,
            "--max-samples " + std::to_string(a.max_samples) + " is too small: expected at least " +
                std::to_string(min_rows) + (want.c2st ? " (2 x the C2ST folds)" : "") + ", or 0 for all rows");
    const std::string why = want.c2st ? "expected at least " + std::to_string(min_rows) + " (2 x " +
                                             std::to_string(a.folds) + " C2ST folds)"
                                       : "expected at least 2";
    reference = read_samples(a.reference, a.max_samples, min_rows, why);
    samples = read_samples(a.samples, a.max_samples, min_rows, why);
    require(samples.cols() == reference.cols(), ErrorKind::format,
            a.samples + " has " + std::to_string(samples.cols()) + " columns but " + a.reference + " has " +
                std::to_string(reference.cols()) + "; expected samples of the same parameters");
  });
  // Parallelism within a rank comes from worker threads (C2ST folds, MMD blocks), each running torch
  // single-threaded: OpenMP intra-op threads spin and collapse when another process shares the cores.
  set_torch_threads(1);
  const int threads = a.threads > 0 ? a.threads : default_threads();
  const int rank = dist::rank(), size = dist::size();
  const int64_t dim = samples.cols();
  log::info("evaluate: " + std::to_string(samples.rows()) + " samples vs " + std::to_string(reference.rows()) +
            " reference rows, " + std::to_string(dim) + "-D, on " + std::to_string(size) + " rank(s) x " +
            std::to_string(threads) + " thread(s)");

  // Local work: this rank's folds, and MMD on the rank with the fewest folds.
  metrics::C2stOptions co;
  co.seed = a.seed;
  co.folds = a.folds;
  co.double_precision = a.double_precision;
  co.threads = threads;
  co.fold_subset = metrics::folds_of_rank(a.folds, rank, size);
  co.on_fold = [&](const metrics::C2stFold& f) {
    log::info("c2st fold " + std::to_string(f.fold + 1) + "/" + std::to_string(a.folds) + ": accuracy " +
              format_number(f.accuracy, "%.4f") + " (" + std::to_string(f.epochs) + " epochs, " + format_number(f.seconds, "%.1f s") +
              ")");
  };
  const int mmd_rank = (a.folds % size) % size;
  metrics::C2stResult c2st;
  metrics::MmdResult mmd;
  double mmd_seconds = 0.0;
  dist::run_agreed([&] {
    try {
      if (want.c2st && !co.fold_subset.empty()) c2st = metrics::c2st(reference.view(), samples.view(), co);
      if (want.mmd && rank == mmd_rank) {
        const auto m0 = std::chrono::steady_clock::now();
        metrics::MmdOptions mo;
        mo.threads = threads;
        mmd = metrics::mmd(reference.view(), samples.view(), mo);
        mmd_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - m0).count();
      }
    } catch (const Error& e) {  // name the files (the metrics see only matrices)
      throw Error(e.kind(), a.samples + " vs " + a.reference + ": " + e.what());
    }
  });

  // Combine: every fold was computed on exactly one rank.
  const double none = -std::numeric_limits<double>::infinity();
  std::vector<double> fold_acc(static_cast<size_t>(a.folds)), fold_sec(static_cast<size_t>(a.folds)),
      fold_loss(static_cast<size_t>(a.folds));
  std::vector<int64_t> fold_epochs(static_cast<size_t>(a.folds)), fold_conv(static_cast<size_t>(a.folds));
  double c2st_mean = 0.0;
  if (want.c2st) {
    std::vector<const metrics::C2stFold*> mine(static_cast<size_t>(a.folds), nullptr);
    for (const metrics::C2stFold& f : c2st.computed) mine[static_cast<size_t>(f.fold)] = &f;
    for (int f = 0; f < a.folds; ++f) {
      const metrics::C2stFold* p = mine[static_cast<size_t>(f)];
      fold_acc[f] = dist::allreduce_max(p ? p->accuracy : none);
      fold_sec[f] = dist::allreduce_max(p ? p->seconds : none);
      fold_loss[f] = dist::allreduce_max(p ? p->final_loss : none);
      fold_epochs[f] = dist::allreduce_sum(p ? p->epochs : 0);
      fold_conv[f] = dist::allreduce_sum(p && p->converged ? 1 : 0);
      c2st_mean += fold_acc[f];
    }
    c2st_mean /= a.folds;
  }
  if (want.mmd) {  // NaN (a degenerate reference) travels as a flag: MPI_MAX is undefined on NaN
    const bool mine = rank == mmd_rank, nan = mine && std::isnan(mmd.mmd2);
    const bool any_nan = dist::allreduce_sum(nan ? 1 : 0) > 0;
    mmd.mmd2 = dist::allreduce_max(mine && !nan ? mmd.mmd2 : none);
    mmd.bandwidth = dist::allreduce_max(mine && std::isfinite(mmd.bandwidth) ? mmd.bandwidth : none);
    if (any_nan) mmd.mmd2 = std::nan("");
    if (mmd.bandwidth == none) mmd.bandwidth = std::nan("");
    mmd_seconds = dist::allreduce_max(rank == mmd_rank ? mmd_seconds : none);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  dist::run_agreed([&] {
    if (!dist::is_root()) return;
    nlohmann::json j = {{"samples", a.samples},
                        {"reference", a.reference},
                        {"n_samples", samples.rows()},
                        {"n_reference", reference.rows()},
                        {"dim", dim},
                        {"max_samples", a.max_samples},
                        {"seed", a.seed},
                        {"ranks", size},
                        {"threads_per_rank", threads},
                        {"seconds", seconds},
                        {"simbi_version", kVersion}};
    std::string line;
    if (want.c2st) {
      j["c2st"] = c2st_mean;
      j["c2st_folds"] = fold_acc;
      j["c2st_fold_epochs"] = fold_epochs;
      std::vector<bool> conv;
      for (int64_t c : fold_conv) conv.push_back(c > 0);
      j["c2st_fold_converged"] = conv;
      j["c2st_fold_seconds"] = fold_sec;
      j["c2st_fold_final_loss"] = fold_loss;
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
      line += "c2st " + format_number(c2st_mean, "%.4f") + " (folds";
      for (double v : fold_acc) line += " " + format_number(v, "%.4f");
      line += ")";
    }
    if (want.mmd) {
      j["mmd"] = std::isfinite(mmd.mmd2) ? nlohmann::json(mmd.mmd2) : nlohmann::json(nullptr);
      j["mmd_bandwidth"] = std::isfinite(mmd.bandwidth) ? nlohmann::json(mmd.bandwidth) : nlohmann::json(nullptr);
      j["mmd_seconds"] = mmd_seconds;
      line += std::string(line.empty() ? "" : "  ") + "mmd " + format_number(mmd.mmd2, "%.4g");
    }
    line += "  [" + std::to_string(samples.rows()) + " vs " + std::to_string(reference.rows()) + " samples, " +
            std::to_string(dim) + "-D, " + format_number(seconds, "%.1f s") + "]";
    if (!a.out.empty()) {
      std::ofstream out(a.out);
      require(out.good(), ErrorKind::io, a.out + ": cannot open for writing the metrics JSON");
      out << j.dump(2) << "\n";
      out.close();
      require(out.good(), ErrorKind::io, a.out + ": writing the metrics JSON failed");
    }
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  });
  return 0;
}

}  // namespace

void add_evaluate_command(CLI::App& app, std::vector<Command>& commands) {
  auto a = std::make_shared<EvaluateArgs>();
  CLI::App* sub = app.add_subcommand(
      "evaluate", "C2ST and MMD of posterior samples against reference samples (sbibm's metrics)");
  sub->add_option("--config", "TOML file with any of these options (keys without dashes; command line wins)");
  sub->add_option("--samples", a->samples, "Posterior samples to evaluate (CSV with a header, or file.h5:/dataset)")
      ->required();
  sub->add_option("--reference", a->reference, "Reference posterior samples (CSV with a header, or file.h5:/dataset)")
      ->required();
  sub->add_option("--out", a->out, "Write every figure as JSON to this file");
  sub->add_option("--metrics", a->metrics, "Comma-separated metrics: c2st, mmd")->capture_default_str();
  sub->add_option("--seed", a->seed, "Seed of the C2ST folds, initialisation and shuffling")->capture_default_str();
  sub->add_option("--max-samples", a->max_samples, "Use the first N rows of each file (0: all; sbibm: 10000)")
      ->capture_default_str();
  sub->add_option("--folds", a->folds, "C2ST cross-validation folds")->capture_default_str();
  sub->add_flag("--double", a->double_precision, "C2ST classifier in float64 (default float32, as sbibm's inputs)");
  sub->add_option("--threads", a->threads,
                  "Threads per rank: C2ST folds run concurrently on them (default: cores per node / ranks per node)");
  commands.push_back({sub, [a] { return run_evaluate(*a); }});
}

}  // namespace simbi::cli
