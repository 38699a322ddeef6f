#include "simbi/posterior/predictive.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "simbi/core/error.hpp"
#include "simbi/core/random.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/sim/distance.hpp"
#include "simbi/sim/task.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/model_file.hpp"
#include "simbi/store/table.hpp"

namespace simbi::posterior {

namespace {

// Every rank's simulated rows (contiguous, in rank order) to rank 0 as bytes, written there as CSV;
// failed simulations stay NaN rows. Collective.
void write_simulations(const std::string& path, const Matrix& x, int64_t n, int64_t x_dim) {
  const std::string mine(reinterpret_cast<const char*>(x.data()),
                         static_cast<size_t>(x.rows() * x.cols()) * sizeof(float));
  const std::vector<std::string> parts = dist::gather(mine);
  dist::run_agreed([&] {
    if (!dist::is_root()) return;
    store::Table table;
    for (int64_t k = 1; k <= x_dim; ++k) table.header.push_back("data_" + std::to_string(k));
    table.values = Matrix(n, x_dim);
    size_t offset = 0;
    for (const std::string& p : parts) {
      std::memcpy(reinterpret_cast<char*>(table.values.data()) + offset, p.data(), p.size());
      offset += p.size();
    }
    require(offset == static_cast<size_t>(n * x_dim) * sizeof(float), ErrorKind::runtime,
            "ppc: gathered " + std::to_string(offset) + " bytes of simulations, expected " +
                std::to_string(n * x_dim * static_cast<int64_t>(sizeof(float))));
    store::write_csv(path, table);
  });
}

}  // namespace

PredictiveDistance predictive_distance(const PredictiveRequest& a) {
  sim::Task task;
  Matrix theta, observations;
  std::unique_ptr<sim::Distance> distance;
  dist::run_agreed([&] {
    if (dist::is_root() && !a.out.empty()) store::require_writable_output(a.out, "--out");
    if (dist::is_root() && !a.out_sims.empty()) store::require_writable_output(a.out_sims, "--out-sims");
    task = sim::make_task(a.task);
    theta = store::read_matrix(a.samples, "/theta", nullptr);
    observations = store::read_matrix(a.observation, "/x", nullptr);
    require(theta.cols() == task.theta_dim(), ErrorKind::format,
            a.samples + ": samples have " + std::to_string(theta.cols()) + " columns, task " + task.name + " has " +
                std::to_string(task.theta_dim()) + " parameters");
    require(theta.rows() > 0, ErrorKind::format, a.samples + ": no samples");
    require(observations.cols() == task.x_dim(), ErrorKind::format,
            a.observation + ": an observation has " + std::to_string(observations.cols()) + " values, task " +
                task.name + " simulates " + std::to_string(task.x_dim()));
    require(a.observation_row >= 1 && a.observation_row <= observations.rows(), ErrorKind::invalid_argument,
            "--observation-row " + std::to_string(a.observation_row) + ": " + a.observation + " has " +
                std::to_string(observations.rows()) + " observation(s)");
    if (!a.model.empty()) {
      const store::ModelMeta meta = store::read_model_meta(a.model);
      require(meta.estimator.contains("distance"), ErrorKind::invalid_argument,
              "--model " + a.model + ": not an ACE model (" + meta.method + "); only ACE models carry a distance");
      distance = sim::distance_from_json(meta.estimator["distance"]);
      require(distance->dim() == task.x_dim(), ErrorKind::invalid_argument,
              "--model " + a.model + ": its distance compares rows of " + std::to_string(distance->dim()) +
                  " values, task " + task.name + " simulates " + std::to_string(task.x_dim()));
    } else {
      distance = a.distance.empty() ? sim::make_distance(task) : sim::make_distance(a.distance, task.x_dim());
    }
    require(distance->ready(), ErrorKind::invalid_argument,
            "distance " + distance->name() +
                " needs scales fitted on training data; give the ACE model's distance with --model, or use mse");
  });
  const int64_t n = a.max_samples > 0 ? std::min(a.max_samples, theta.rows()) : theta.rows();
  const int64_t lo = n * dist::rank() / dist::size(), hi = n * (dist::rank() + 1) / dist::size();
  Matrix x(hi - lo, task.x_dim());
  double sum = 0.0, sum_sq = 0.0, used = 0.0;
  dist::run_agreed([&] {
    if (hi == lo) return;
    const ConstMatrixView mine{theta.row(lo), hi - lo, theta.cols()};
    task.simulator->simulate(mine, x.view(), RowStreams{RandomStream(a.seed, StreamPurpose::simulation, 0), lo});
    std::vector<double> d(static_cast<size_t>(hi - lo));
    distance->to_one(x.data(), hi - lo, observations.row(a.observation_row - 1), d.data());
    for (double v : d) {
      if (!std::isfinite(v)) continue;  // a failed simulation (NaN x)
      sum += v;
      sum_sq += v * v;
      used += 1.0;
    }
  });
  if (!a.out_sims.empty()) write_simulations(a.out_sims, x, n, task.x_dim());
  std::vector<double> totals{sum, sum_sq, used};
  dist::allreduce_sum(totals);  // as doubles (the int64 overload once truncated these sums)
  sum = totals[0];
  sum_sq = totals[1];
  used = totals[2];
  require(used > 0, ErrorKind::numeric, "ppc: every simulation of the " + std::to_string(n) + " samples failed");
  const double mean = sum / used;
  const double sd = std::sqrt(std::max(0.0, sum_sq / used - mean * mean));
  PredictiveDistance r;
  r.distance = distance->name();
  r.mean = mean;
  r.sd = sd;
  r.sem = sd / std::sqrt(used);
  r.used = static_cast<int64_t>(used);
  r.failed = n - r.used;
  r.record = {{"task", task.name},
              {"distance", distance->to_json()},
              {"samples", n},
              {"failed_simulations", r.failed},
              {"ppc_distance_mean", mean},
              {"ppc_distance_std", sd},
              {"ppc_distance_sem", r.sem}};
  dist::run_agreed([&] {
    if (dist::is_root() && !a.out.empty()) store::write_file_atomically(a.out, r.record.dump(2) + "\n");
  });
  return r;
}

}  // namespace simbi::posterior
