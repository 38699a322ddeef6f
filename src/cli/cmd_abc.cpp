// `simbi abc`: rejection ABC with the kernel exp(−β·d(x_i, x_o)) on the stored simulations — the ACE
// paper's simple baseline (docs/methods.md §6), on the same simulations ACE trains on. Rows are split over the
// ranks; row i's uniform depends on (seed, observation, i) only, so the accepted set is the same for any
// rank count (mcmc/rejection.hpp rejection_abc). Output files are named as `simbi sample` names them.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "commands.hpp"
#include "simbi/core/log.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/mcmc/rejection.hpp"
#include "simbi/posterior/sampling.hpp"
#include "simbi/sim/distance.hpp"
#include "simbi/sim/task.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/sim_store.hpp"
#include "simbi/store/table.hpp"
#include "simbi/store/usable_rows.hpp"

namespace simbi::cli {

namespace {

struct AbcArgs {
  std::string data, observation, out, distance;
  std::vector<double> betas;
  uint64_t seed = 1;
};

int run_abc(const AbcArgs& a) {
  store::SimStoreMeta meta;
  Matrix theta, x, observations;
  std::vector<uint8_t> usable;
  std::unique_ptr<sim::Distance> distance;
  int64_t failed = 0;
  dist::run_agreed([&] {
    if (dist::is_root()) store::require_writable_output(a.out, "--out");
    require(!a.betas.empty(), ErrorKind::invalid_argument, "--beta is required, e.g. --beta 10,100");
    for (double b : a.betas)
      require(std::isfinite(b) && b > 0, ErrorKind::invalid_argument,
              "--beta must be positive, got " + format_number(b));
    // Every rank reads the whole store: a z-scored distance is fitted on all of it (as ACE fits it on
    // its training x), which must not depend on how the rows are split.
    const store::SimStore s = store::SimStore::open_read(a.data);
    meta = s.meta();
    std::vector<uint8_t> status;
    s.read_rows(0, meta.budget, theta, x, status);
    usable.assign(static_cast<size_t>(meta.budget), 0);
    for (int64_t i : store::usable_rows(status, theta, x)) usable[static_cast<size_t>(i)] = 1;
    failed = meta.budget - std::count(usable.begin(), usable.end(), uint8_t{1});
    require(failed < meta.budget, ErrorKind::format,
            a.data + ": no usable rows (" + std::to_string(meta.budget) + " rows, none simulated successfully)");
    if (!a.distance.empty())
      distance = sim::make_distance(a.distance, meta.x_dim);
    else {
      require(sim::is_builtin_task(meta.task), ErrorKind::invalid_argument,
              a.data + ": task '" + meta.task + "' is not a built-in task; name the distance with --distance (" +
                  "mse, mmd2 or zmae)");
      distance = sim::make_distance(sim::make_task(meta.task));
    }
    if (distance->needs_fit()) {
      Matrix fit_rows(meta.budget - failed, x.cols());
      for (int64_t i = 0, r = 0; i < meta.budget; ++i)
        if (usable[static_cast<size_t>(i)]) std::copy(x.row(i), x.row(i) + x.cols(), fit_rows.row(r++));
      distance->fit(fit_rows.view());
    }
    observations = store::read_matrix(a.observation, "/x", nullptr);
    require(observations.rows() > 0, ErrorKind::format, a.observation + ": no observation rows");
    require(observations.cols() == meta.x_dim, ErrorKind::format,
            a.observation + ": an observation has " + std::to_string(observations.cols()) + " values, but " + a.data +
                " (" + meta.task + ") simulates " + std::to_string(meta.x_dim));
    for (float v : observations.storage())
      require(std::isfinite(v), ErrorKind::format, a.observation + ": observations must be finite numbers");
  });
  std::vector<std::string> labels = meta.theta_labels;
  if (static_cast<int64_t>(labels.size()) != meta.theta_dim) labels = sim::default_theta_labels(meta.theta_dim);
  const int64_t m = observations.rows();
  for (int64_t k = 0; k < m; ++k) {
    const float* x_o = observations.row(k);
    mcmc::AbcOptions o;
    o.seed = a.seed;
    o.stream_index = static_cast<uint64_t>(k);
    const mcmc::AbcResult r = mcmc::rejection_abc(
        meta.budget, usable,
        [&](int64_t first, int64_t count, double* out) { distance->to_one(x.row(first), count, x_o, out); }, a.betas,
        o);
    if (r.nonfinite > 0)
      log::warn("observation " + std::to_string(k + 1) + ": the distance is not finite for " +
                std::to_string(r.nonfinite) + " stored simulation(s); they are skipped");
    for (size_t b = 0; b < a.betas.size(); ++b) {
      dist::run_agreed([&] {  // a full disk on rank 0 ends every rank with its one error line
        if (!dist::is_root()) return;
        const std::vector<int64_t>& rows = r.accepted[b];
        Matrix accepted(static_cast<int64_t>(rows.size()), meta.theta_dim);
        for (size_t i = 0; i < rows.size(); ++i)
          std::copy(theta.row(rows[i]), theta.row(rows[i]) + meta.theta_dim, accepted.row(static_cast<int64_t>(i)));
        const std::string path = posterior::samples_path(a.out, k + 1, m, a.betas[b], a.betas.size());
        store::write_samples_csv(path, labels, accepted.view());
        std::printf(
            "ABC for observation %lld at beta %g: accepted %lld of %lld simulations (acceptance rate %.3g; %s "
            "distance, %lld failed row(s) skipped) -> %s\n",
            static_cast<long long>(k + 1), a.betas[b], static_cast<long long>(r.accepted_count[b]),
            static_cast<long long>(r.usable),
            r.usable > 0 ? static_cast<double>(r.accepted_count[b]) / static_cast<double>(r.usable) : 0.0,
            distance->name().c_str(), static_cast<long long>(failed), path.c_str());
        if (rows.empty()) log::warn(path + ": no simulation accepted (a smaller beta, or more simulations)");
        std::fflush(stdout);
      });
    }
  }
  return 0;
}

}  // namespace

void add_abc_command(CLI::App& app, std::vector<Command>& commands) {
  auto a = std::make_shared<AbcArgs>();
  CLI::App* sub = app.add_subcommand(
      "abc", "Rejection ABC on stored simulations: accept θ_i with probability exp(−β·d(x_i, x_o)) (split over ranks)");
  sub->add_option("--data", a->data, "Simulation store (sims.h5)")->required();
  sub->add_option("--observation", a->observation, "Observations (CSV or FILE.h5[:/dataset])")->required();
  sub->add_option("--beta", a->betas, "Inverse temperature(s), e.g. 10,100")->delimiter(',')->required();
  sub->add_option("--out", a->out,
                  "Output CSV (as simbi sample: <stem>_obs<k>.csv with several observations, _beta<β> with several β)")
      ->required();
  sub->add_option("--distance", a->distance,
                  "mse | mmd2 | zmae (default: the store's task's own; zmae's scales fitted on the stored x)");
  add_integer_option(sub, "--seed", a->seed, "Seed of the acceptance draws")->capture_default_str();
  commands.push_back({sub, [a] { return run_abc(*a); }});
}

}  // namespace simbi::cli
