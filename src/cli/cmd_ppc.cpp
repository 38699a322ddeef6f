// `simbi ppc`: the posterior-predictive distance of posterior samples (docs/methods.md §5, the ACE paper's
// headline metric): simulate one x per θ draw with the task's simulator and average the task's
// distance d(x, x_o). The draws are split over the ranks (row i uses the simulation stream (seed, i):
// the result does not depend on the rank count); failed simulations are left out and counted.
// --out-sims writes the simulated x themselves (rank 0, in sample order: a posterior-predictive check of
// the features); --model takes the distance from an ACE model file (a fitted z-scored MAE needs the
// scales of the training simulations, which the model keeps).
#include <cmath>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "simbi/core/random.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/sim/distance.hpp"
#include "simbi/sim/task.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/model_file.hpp"
#include "simbi/store/table.hpp"

namespace simbi::cli {

namespace {

struct PpcArgs {
  std::string task, samples, observation, out, distance, model, out_sims;
  int64_t observation_row = 1;
  int64_t max_samples = 0;
  uint64_t seed = 1;
};

int run_ppc(const PpcArgs& a) {
  sim::Task task;
  Matrix theta, observations;
  std::unique_ptr<sim::Distance> distance;
  dist::run_agreed([&] {
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
  if (!a.out_sims.empty()) {
    // Every rank's rows (contiguous, in rank order) to rank 0 as bytes; failed simulations stay NaN rows.
    const std::string mine(reinterpret_cast<const char*>(x.data()),
                           static_cast<size_t>(x.rows() * x.cols()) * sizeof(float));
    const std::vector<std::string> parts = dist::gather(mine);
    dist::run_agreed([&] {
      if (!dist::is_root()) return;
      store::Table table;
      for (int64_t k = 1; k <= task.x_dim(); ++k) table.header.push_back("data_" + std::to_string(k));
      table.values = Matrix(n, task.x_dim());
      size_t offset = 0;
      for (const std::string& p : parts) {
        std::memcpy(reinterpret_cast<char*>(table.values.data()) + offset, p.data(), p.size());
        offset += p.size();
      }
      require(offset == static_cast<size_t>(n * task.x_dim()) * sizeof(float), ErrorKind::runtime,
              "ppc: gathered " + std::to_string(offset) + " bytes of simulations, expected " +
                  std::to_string(n * task.x_dim() * static_cast<int64_t>(sizeof(float))));
      store::write_csv(a.out_sims, table);
    });
  }
  std::vector<double> totals{sum, sum_sq, used};
  dist::allreduce_sum(totals);  // as doubles (the int64 overload once truncated these sums)
  sum = totals[0];
  sum_sq = totals[1];
  used = totals[2];
  require(used > 0, ErrorKind::numeric, "ppc: every simulation of the " + std::to_string(n) + " samples failed");
  const double mean = sum / used;
  const double sd = std::sqrt(std::max(0.0, sum_sq / used - mean * mean));
  if (dist::is_root()) {
    const nlohmann::json result = {{"task", task.name},
                                   {"distance", distance->to_json()},
                                   {"samples", n},
                                   {"failed_simulations", n - static_cast<int64_t>(used)},
                                   {"ppc_distance_mean", mean},
                                   {"ppc_distance_std", sd},
                                   {"ppc_distance_sem", sd / std::sqrt(used)}};
    if (!a.out.empty()) store::write_file_atomically(a.out, result.dump(2) + "\n");
    std::printf("posterior-predictive %s distance of %s: %.6g ± %.2g (std %.4g over %lld simulations, %lld failed)%s\n",
                distance->name().c_str(), a.samples.c_str(), mean, sd / std::sqrt(used), sd,
                static_cast<long long>(used), static_cast<long long>(n - static_cast<int64_t>(used)),
                a.out.empty() ? "" : (" -> " + a.out).c_str());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

void add_ppc_command(CLI::App& app, std::vector<Command>& commands) {
  auto a = std::make_shared<PpcArgs>();
  CLI::App* sub = app.add_subcommand(
      "ppc", "Posterior-predictive distance: simulate one x per posterior sample, average the distance to x_o");
  sub->add_option("--task", a->task, "Built-in task whose simulator and distance to use")->required();
  sub->add_option("--samples", a->samples, "Posterior samples (CSV from simbi sample, or FILE.h5[:/dataset])")
      ->required();
  sub->add_option("--observation", a->observation, "Observations (CSV or FILE.h5[:/dataset])")->required();
  sub->add_option("--observation-row", a->observation_row, "Which observation row (1-based)")->capture_default_str();
  auto* distance = sub->add_option("--distance", a->distance, "mse | mmd2 | ... (default: the task's own distance)");
  sub->add_option("--model", a->model,
                  "Take the distance from this ACE model file (with its fitted scales: what a z-scored MAE needs)")
      ->excludes(distance);
  sub->add_option("--max-samples", a->max_samples, "Use at most this many samples (0 = all)");
  sub->add_option("--seed", a->seed, "Seed of the simulations")->capture_default_str();
  sub->add_option("--out", a->out, "Also write the result as JSON");
  sub->add_option("--out-sims", a->out_sims,
                  "Also write the simulated x as CSV (header data_1.., one row per sample in order; a failed "
                  "simulation is a row of nan)");
  commands.push_back({sub, [a] { return run_ppc(*a); }});
}

}  // namespace simbi::cli
