#include "simbi/posterior/sampling.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "simbi/core/error.hpp"
#include "simbi/core/memory.hpp"
#include "simbi/core/timing.hpp"
#include "simbi/dist/comm.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/table.hpp"

namespace simbi::posterior {

namespace {

// The observation rows, checked against the model: x_dim values each, finite, at least one row.
Matrix read_observations(const std::string& spec, const LoadedModel& model) {
  Matrix obs = store::read_matrix(spec, "/x", nullptr);
  const int64_t x_dim = model.meta.x_dim;
  require(obs.cols() == x_dim, ErrorKind::format,
          spec + ": an observation has " + std::to_string(obs.cols()) + " values, but the model (" +
              (model.meta.task.empty() ? std::string("?") : model.meta.task) + ", x_dim " + std::to_string(x_dim) +
              ") expects " + std::to_string(x_dim));
  require(obs.rows() > 0, ErrorKind::format, spec + ": no observation rows");
  for (float v : obs.storage())
    require(std::isfinite(v), ErrorKind::format, spec + ": observations must be finite numbers");
  return obs;
}

// The per-chain mode table: one row per chain, its share of draws in each mode (modes ordered by the
// pool's share, largest first).
store::Table mode_table(const mcmc::ModeOccupancy& o) {
  store::Table t;
  t.header.push_back("chain");
  for (int64_t j = 1; j <= o.modes; ++j) t.header.push_back("mode_" + std::to_string(j));
  const int64_t m = o.chain_shares.size(0);
  t.values = Matrix(m, o.modes + 1);
  for (int64_t c = 0; c < m; ++c) {
    t.values.row(c)[0] = static_cast<float>(c + 1);
    for (int64_t j = 0; j < o.modes; ++j)
      t.values.row(c)[j + 1] = static_cast<float>(o.chain_shares[c][j].item<double>());
  }
  return t;
}

}  // namespace

std::vector<WrittenSamples> sample_to_files(const SamplingRequest& request,
                                            const std::function<void(const WrittenSamples&)>& on_written) {
  const dist::Comm comm(request.options.comm);
  LoadedModel model;
  Matrix observations;
  std::unique_ptr<Posterior> posterior;
  comm.run_agreed([&] {
    require(request.options.num_samples > 0, ErrorKind::invalid_argument,
            "--num-samples must be positive, got " + std::to_string(request.options.num_samples));
    if (comm.rank() == 0) store::require_writable_output(request.out, "--out");
    model = load_model(request.model);
    require(request.task.empty() || request.task == model.meta.task, ErrorKind::invalid_argument,
            "task mismatch: " + request.model + " was trained on task '" + model.meta.task + "', but --task (or the " +
                "config's task) is '" + request.task + "'");
    observations = read_observations(request.observation, model);
    // Rank 0 holds every draw of one observation (for each β) before writing them.
    const size_t sets = std::max<size_t>(1, request.options.betas.size());
    const std::string shortfall = memory_shortfall(
        4.0 * static_cast<double>(request.options.num_samples) * static_cast<double>(model.meta.theta_dim) *
            static_cast<double>(sets),
        "--num-samples " + std::to_string(request.options.num_samples) + ": " + std::to_string(sets) +
            " set(s) of draws of " + std::to_string(model.meta.theta_dim) + " parameters (4 bytes each)");
    require(shortfall.empty(), ErrorKind::invalid_argument, shortfall);
    posterior = make_posterior(model, request.options);
  });
  const std::vector<std::string> labels = model.meta.labels();
  // With iid_observations all rows are one observation set: one posterior, written to `out`.
  const bool iid = request.options.iid_observations;
  const int64_t m = iid ? 1 : observations.rows();
  std::vector<WrittenSamples> written;
  for (int64_t k = 0; k < m; ++k) {
    const torch::Tensor x_o =
        iid ? torch::from_blob(observations.row(0), {observations.rows(), observations.cols()}, torch::kFloat).clone()
            : torch::from_blob(observations.row(k), {observations.cols()}, torch::kFloat).clone();
    for (DrawSet& set : posterior->sample(x_o, static_cast<uint64_t>(k))) {
      WrittenSamples w;
      w.observation = k + 1;
      w.path = samples_path(request.out, k + 1, m, set.beta, posterior->sets());
      comm.run_agreed([&] {  // a full disk on rank 0 ends every rank with its one error line
        if (comm.rank() != 0) return;
        const torch::Tensor t = set.samples.contiguous();
        store::write_samples_csv(w.path, labels, ConstMatrixView{t.data_ptr<float>(), t.size(0), t.size(1)});
        if (set.occupancy.modes > 0) store::write_csv(modes_path(w.path), mode_table(set.occupancy));
      });
      if (comm.rank() != 0) continue;
      set.samples = torch::Tensor();
      w.draws = std::move(set);
      if (on_written) on_written(w);
      written.push_back(std::move(w));
    }
  }
  return written;
}

LogProbResult log_prob_to_file(const LogProbRequest& r) {
  const auto t0 = SteadyClock::now();
  const dist::Comm comm(r.comm);
  LoadedModel model;
  Matrix observations, theta;
  std::unique_ptr<Posterior> posterior;
  comm.run_agreed([&] {
    if (comm.rank() == 0) store::require_writable_output(r.out, "--out");
    model = load_model(r.model);
    observations = read_observations(r.observation, model);
    require(r.observation_row >= 1 && r.observation_row <= observations.rows(), ErrorKind::invalid_argument,
            "--observation-row " + std::to_string(r.observation_row) + ": " + r.observation + " has " +
                std::to_string(observations.rows()) + " observation(s)");
    theta = store::read_matrix(r.theta, "/theta", nullptr);
    require(theta.cols() == model.meta.theta_dim, ErrorKind::format,
            r.theta + ": a θ row has " + std::to_string(theta.cols()) + " values, the model's θ has " +
                std::to_string(model.meta.theta_dim));
    PosteriorOptions o;
    o.comm = r.comm;
    posterior = make_posterior(model, o);
    require(posterior->has_log_prob(), ErrorKind::invalid_argument,
            r.model + " is a " + model.meta.method +
                " model, which has no normalised posterior density (log-prob is for npe, fmpe and npse models)");
  });
  const int64_t n = theta.rows(), d = theta.cols();
  const int64_t lo = n * comm.rank() / comm.size(), hi = n * (comm.rank() + 1) / comm.size();
  const torch::Tensor x_o =
      torch::from_blob(observations.row(r.observation_row - 1), {observations.cols()}, torch::kFloat).clone();
  std::vector<float> mine;
  comm.run_agreed([&] {
    if (hi == lo) return;
    const torch::Tensor t = torch::from_blob(theta.row(lo), {hi - lo, d}, torch::kFloat).clone();
    const torch::Tensor lp = posterior->log_prob(t, x_o).to(torch::kFloat).contiguous();
    mine.assign(lp.data_ptr<float>(), lp.data_ptr<float>() + lp.numel());
    for (float v : mine)
      require(!std::isnan(v), ErrorKind::numeric, r.model + ": log_prob is NaN for a θ row (a damaged model?)");
  });
  const std::vector<float> all = comm.gather_to_root(mine);
  LogProbResult result;
  result.rows = n;
  comm.run_agreed([&] {
    if (comm.rank() != 0) return;
    store::Table table{{"log_prob"}, Matrix(n, 1)};
    std::copy(all.begin(), all.end(), table.values.data());
    store::write_csv(r.out, table);
    for (float v : all) result.outside += std::isinf(v) && v < 0 ? 1 : 0;
  });
  result.seconds = seconds_since(t0);
  return result;
}

std::string modes_path(const std::string& samples) {
  const std::filesystem::path p(samples);
  return (p.parent_path() / (p.stem().string() + "_modes" + p.extension().string())).string();
}

std::string samples_path(const std::string& out, int64_t k, int64_t m, double beta, size_t betas) {
  if (m <= 1 && betas <= 1) return out;
  const std::filesystem::path p(out);
  std::string stem = p.stem().string();
  if (m > 1) stem += "_obs" + std::to_string(k);
  if (betas > 1) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", beta);
    stem += std::string("_beta") + b;
  }
  return (p.parent_path() / (stem + p.extension().string())).string();
}

}  // namespace simbi::posterior
