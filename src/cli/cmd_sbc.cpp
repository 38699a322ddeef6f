// `simbi sbc`: simulation-based calibration and expected coverage (METHODS.md §5, docs/sbc.md) of a model
// with a direct posterior sampler (CP-VAE, UP-VAE). M test pairs (θ*, x*) come from the prior
// predictive of the model's task, L posterior draws per x*, and the ranks of θ* among them (per dimension
// and jointly) feed metrics/sbc.hpp's uniformity tests and coverage curves. The tests are split over the
// ranks; test j's θ*, x* and draws use streams keyed by (seed, j) only, so the result does not depend on
// the rank count. Rank 0 writes the JSON and prints a one-paragraph summary.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "simbi/core/log.hpp"
#include "simbi/core/random.hpp"
#include "simbi/core/version.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/estimators/estimator.hpp"
#include "simbi/metrics/sbc.hpp"
#include "simbi/sim/prior.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/model_file.hpp"
#include "simbi/store/sim_store.hpp"

namespace simbi::cli {

namespace {

// Index of SBC's streams within the prior_draw, simulation and sampling purposes. `simbi simulate` uses
// index 0 and `simbi sample` the observation number, so SBC's test pairs never coincide with the rows of
// a store (the model's training data) or with a sample run, whatever the seeds.
constexpr uint64_t kSbcStream = 0x5bc0000000ull;
constexpr const char* kSbcStreamText = "0x5bc0000000";

struct SbcArgs {
  std::string model, out;
  TaskSource source;
  int64_t num_tests = 1000, num_posterior_samples = 1000;
  uint64_t seed = 1;
  double alpha = 0.01;
  int64_t bins = 0;
  int threads = 0;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The model, its sampler, and the task whose prior predictive makes the test pairs.
struct Setup {
  nlohmann::json meta;
  std::shared_ptr<estimators::Estimator> model;
  estimators::PosteriorSampler* sampler = nullptr;
  sim::Task task;
  std::unique_ptr<sim::Prior> model_prior;  // the prior recorded with the training data, if any
  const sim::Prior* prior = nullptr;        // model_prior, else the task's
  std::vector<std::string> labels;
};

// Every rank builds its own copy; throws Error naming the option at fault.
Setup load_setup(const SbcArgs& a) {
  require(a.num_tests >= 2, ErrorKind::invalid_argument,
          "--num-tests must be at least 2, got " + std::to_string(a.num_tests));
  require(a.num_posterior_samples >= 2, ErrorKind::invalid_argument,
          "--num-posterior-samples must be at least 2, got " + std::to_string(a.num_posterior_samples));
  require(a.alpha > 0.0 && a.alpha < 1.0, ErrorKind::invalid_argument,
          "--alpha must be in (0, 1), got " + std::to_string(a.alpha));
  require(a.bins == 0 || (a.bins >= 2 && a.bins <= a.num_posterior_samples + 1), ErrorKind::invalid_argument,
          "--bins must be 0 (automatic) or 2.." + std::to_string(a.num_posterior_samples + 1) +
              " (the number of rank values), got " + std::to_string(a.bins));
  Setup s;
  s.meta = store::read_model_metadata(a.model);
  s.model = estimators::make_estimator(s.meta.at("estimator"));
  s.sampler = dynamic_cast<estimators::PosteriorSampler*>(s.model.get());
  require(s.sampler != nullptr, ErrorKind::invalid_argument,
          "--model " + a.model + " (method " + s.model->method() +
              ") has no direct posterior sampler: sbc needs a CP-VAE or UP-VAE model");
  store::load_model_weights(a.model, *s.model);
  const std::string task_name = s.meta.value("task", std::string());
  if (a.source.given()) {
    s.task = a.source.make();
  } else {
    require(sim::is_builtin_task(task_name), ErrorKind::invalid_argument,
            "--model " + a.model + " was trained on '" + task_name +
                "', not a built-in task: give its simulator with --simulator-lib or --simulator-cmd and "
                "--simulator-config");
    s.task = sim::make_task(task_name);
  }
  const int64_t d = s.meta.at("theta_dim").get<int64_t>(), x_dim = s.meta.at("x_dim").get<int64_t>();
  require(s.task.theta_dim() == d && s.task.x_dim() == x_dim, ErrorKind::invalid_argument,
          "task " + s.task.name + " has theta_dim " + std::to_string(s.task.theta_dim()) + " and x_dim " +
              std::to_string(s.task.x_dim()) + ", but --model " + a.model + " expects " + std::to_string(d) + " and " +
              std::to_string(x_dim));
  // Calibration is with respect to the prior the model was trained under: the one its store recorded.
  const std::string prior_json = s.meta.value("prior", std::string());
  if (!prior_json.empty()) s.model_prior = sim::prior_from_json(nlohmann::json::parse(prior_json), a.model);
  s.prior = s.model_prior ? s.model_prior.get() : s.task.prior.get();
  require(s.prior->dim() == d, ErrorKind::format,
          a.model + ": its prior has " + std::to_string(s.prior->dim()) + " dimensions, expected theta_dim " +
              std::to_string(d));
  s.labels = s.meta.value("theta_labels", std::vector<std::string>{});
  if (static_cast<int64_t>(s.labels.size()) != d) s.labels = sim::default_theta_labels(d);
  return s;
}

// This rank's tests [lo, hi): D + 1 ranks per test (the dimensions, then the joint one), or -1s where
// the simulation failed (a non-finite x*).
struct LocalRanks {
  std::vector<int64_t> values;  // (hi − lo) · (D + 1)
  double simulate_seconds = 0.0, sample_seconds = 0.0;
};

// Test pairs are simulated in batches of this many (x* of a large simulator, e.g. a 396,000-value time
// series, would not fit for all of a rank's tests at once); rows depend on their global index only.
constexpr int64_t kBatchTests = 256;

LocalRanks rank_tests(const SbcArgs& a, Setup& s, int64_t lo, int64_t hi) {
  const int64_t n = hi - lo, d = s.prior->dim(), x_dim = s.task.x_dim(), L = a.num_posterior_samples;
  LocalRanks out;
  out.values.assign(static_cast<size_t>(n * (d + 1)), -1);
  const auto t_start = std::chrono::steady_clock::now();
  auto last_progress = t_start;
  torch::NoGradGuard no_grad;
  const RandomStream prior_draws(a.seed, StreamPurpose::prior_draw, kSbcStream);
  const RandomStream simulations(a.seed, StreamPurpose::simulation, kSbcStream);
  const RandomStream sampling(a.seed, StreamPurpose::sampling, kSbcStream);
  for (int64_t b0 = 0; b0 < n; b0 += kBatchTests) {
    const int64_t nb = std::min(kBatchTests, n - b0);
    Matrix theta(nb, d), x(nb, x_dim);
    const auto t_sim = std::chrono::steady_clock::now();
    s.prior->sample(theta.view(), RowStreams{prior_draws, lo + b0});
    s.task.simulator->simulate(theta.view(), x.view(), RowStreams{simulations, lo + b0});
    out.simulate_seconds += seconds_since(t_sim);
    for (int64_t i = 0; i < nb; ++i) {
      const float* xi = x.row(i);
      if (!std::all_of(xi, xi + x_dim, [](float v) { return std::isfinite(v); })) continue;  // failed: skipped
      const int64_t j = lo + b0 + i;
      at::Generator gen = at::detail::createCPUGenerator(sampling.substream(static_cast<uint64_t>(j)).next_u64());
      const torch::Tensor x_o = torch::from_blob(const_cast<float*>(xi), {x_dim}, torch::kFloat).clone();
      const torch::Tensor draws = s.sampler->sample_posterior(x_o, L, gen).to(torch::kFloat).contiguous();
      require(draws.dim() == 2 && draws.size(0) == L && draws.size(1) == d, ErrorKind::internal,
              "sbc: the sampler returned a tensor of the wrong shape");
      const ConstMatrixView view{draws.data_ptr<float>(), L, d};
      int64_t* r = out.values.data() + (b0 + i) * (d + 1);
      try {
        metrics::marginal_ranks(theta.row(i), view, r);
        r[d] = metrics::mahalanobis_rank(theta.row(i), view);
      } catch (const Error& e) {
        throw Error(e.kind(), "test " + std::to_string(j + 1) + " (" + a.model + "): " + e.what());
      }
    }
    if (seconds_since(last_progress) > 10.0) {
      last_progress = std::chrono::steady_clock::now();
      log::info("sbc: rank 0 done " + std::to_string(b0 + nb) + " of its " + std::to_string(n) + " tests (" +
                log::human_duration(seconds_since(t_start)) + ")");
    }
  }
  out.sample_seconds = seconds_since(t_start) - out.simulate_seconds;
  return out;
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

nlohmann::json statistic_json(const metrics::SbcStatistic& st, bool tested) {
  nlohmann::json j = {{"name", st.name},
                      {"ranks", st.ranks},
                      {"coverage", st.coverage},
                      {"max_coverage_deviation", st.max_coverage_deviation},
                      {"worst_level", st.worst_level},
                      {"mean_coverage_deviation", st.mean_coverage_deviation}};
  if (tested) {
    j["histogram"] = {{"edges", st.test.edges}, {"counts", st.test.counts}, {"expected", st.test.expected}};
    j["chi_square"] = st.test.statistic;
    j["df"] = st.test.df;
    j["p_value"] = st.test.p_value;
  } else {
    j["p_value"] = nullptr;
  }
  return j;
}

// The one-paragraph verdict on stdout.
std::string summary_paragraph(const SbcArgs& a, const Setup& s, const metrics::SbcSummary& r, int64_t failed,
                              double seconds) {
  const metrics::SbcStatistic& joint = r.statistics.back();
  std::string p = "SBC of " + a.model + " (" + s.model->method() + " on " + s.task.name +
                  "): " + std::to_string(r.tests) + " test pairs from the prior predictive (" + std::to_string(failed) +
                  " failed simulations skipped), " + std::to_string(r.samples) + " posterior samples each, seed " +
                  std::to_string(a.seed) + ", " + std::to_string(dist::size()) + " rank(s), " + fmt("%.1f s", seconds) +
                  ". ";
  if (r.tested) {
    const metrics::SbcStatistic& worst = r.statistics[r.min_p_index];
    p += "Rank uniformity (chi-square, " + std::to_string(r.bins) + " bins, " + std::to_string(r.statistics.size()) +
         " tests: each dimension and the joint Mahalanobis rank): smallest p-value " + fmt("%.3g", r.min_p_value) +
         " (" + worst.name + "), Bonferroni-adjusted " + fmt("%.3g", r.adjusted_p_value) + ", " +
         (r.rejected ? "uniformity REJECTED" : "uniformity not rejected") + " at alpha = " + fmt("%g", r.alpha) + ". ";
  } else {
    p += "Too few tests for the chi-square uniformity test (it needs at least 10 to expect 5 per bin). ";
  }
  const metrics::SbcStatistic* worst_marginal = &r.statistics.front();
  for (const auto& st : r.statistics)
    if (!st.joint && st.max_coverage_deviation > worst_marginal->max_coverage_deviation) worst_marginal = &st;
  p += "Expected coverage: max |coverage - nominal| " + fmt("%.3f", r.max_marginal_coverage_deviation) +
       " over the central intervals of the dimensions (" + worst_marginal->name + " at level " +
       fmt("%.2f", worst_marginal->worst_level) + "), " + fmt("%.3f", r.max_joint_coverage_deviation) +
       " for the joint region (at " + fmt("%.2f", joint.worst_level) + "); mean coverage - nominal " +
       fmt("%+.3f", r.mean_marginal_coverage_deviation) + " (dimensions) and " +
       fmt("%+.3f", joint.mean_coverage_deviation) + " (joint), negative meaning overconfident; binomial sd at " +
       "level 0.5 with these tests " + fmt("%.3f", 0.5 / std::sqrt(static_cast<double>(r.tests))) + ". ";
  if (r.rejected) {
    const double lean = r.mean_marginal_coverage_deviation + joint.mean_coverage_deviation;
    p += std::string("Verdict: miscalibrated") + (lean < 0 ? ", overconfident (credible regions too narrow or shifted)."
                                                           : ", underconfident (credible regions too wide).");
  } else if (r.tested) {
    p += "Verdict: no miscalibration detected with " + std::to_string(r.tests) + " tests.";
  }
  while (!p.empty() && p.back() == ' ') p.pop_back();
  return p;
}

int run_sbc(const SbcArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  const int threads = set_torch_threads(a.threads);
  Setup s;
  dist::run_agreed([&] { s = load_setup(a); });
  s.model->eval();
  const int64_t m = a.num_tests, d = s.prior->dim(), L = a.num_posterior_samples;
  const int64_t lo = m * dist::rank() / dist::size(), hi = m * (dist::rank() + 1) / dist::size();
  log::info("sbc: " + std::to_string(m) + " test pairs x " + std::to_string(L) + " posterior samples on " +
            std::to_string(dist::size()) + " rank(s)");
  LocalRanks mine;
  dist::run_agreed([&] { mine = rank_tests(a, s, lo, hi); });
  const double simulate_seconds = dist::allreduce_max(mine.simulate_seconds);
  const double sample_seconds = dist::allreduce_max(mine.sample_seconds);

  // Every rank's ranks to rank 0, in rank order = test order (each rank holds a contiguous block).
  const std::vector<std::string> parts = dist::gather(
      std::string(reinterpret_cast<const char*>(mine.values.data()), mine.values.size() * sizeof(int64_t)));
  int64_t failed = 0;
  for (size_t i = 0; i < mine.values.size(); i += static_cast<size_t>(d + 1)) failed += mine.values[i] < 0;
  failed = dist::allreduce_sum(failed);
  dist::run_agreed([&] {
    require(m - failed >= 2, ErrorKind::numeric,
            "sbc: " + std::to_string(failed) + " of the " + std::to_string(m) +
                " simulations failed; at least 2 test pairs are needed");
  });
  dist::run_agreed([&] {
    if (!dist::is_root()) return;
    const auto t_stats = std::chrono::steady_clock::now();
    std::vector<std::vector<int64_t>> ranks(static_cast<size_t>(d + 1));
    std::vector<int64_t> row(static_cast<size_t>(d + 1));
    for (const std::string& part : parts)
      for (size_t off = 0; off < part.size(); off += row.size() * sizeof(int64_t)) {
        std::memcpy(row.data(), part.data() + off, row.size() * sizeof(int64_t));
        if (row[0] < 0) continue;  // a failed simulation
        for (size_t k = 0; k < row.size(); ++k) ranks[k].push_back(row[k]);
      }
    metrics::SbcOptions o;
    o.alpha = a.alpha;
    o.bins = a.bins;
    const metrics::SbcSummary r = metrics::summarize_sbc(ranks, s.labels, L, o);
    const double stats_seconds = seconds_since(t_stats), seconds = seconds_since(t0);
    nlohmann::json dims = nlohmann::json::array();
    for (size_t k = 0; k + 1 < r.statistics.size(); ++k) dims.push_back(statistic_json(r.statistics[k], r.tested));
    const nlohmann::json j = {
        {"model", a.model},
        {"method", s.model->method()},
        {"task", s.task.name},
        {"theta_labels", s.labels},
        {"num_tests", m},
        {"num_valid_tests", r.tests},
        {"failed_simulations", failed},
        {"num_posterior_samples", L},
        {"seed", a.seed},
        {"streams", std::string("test j: theta* from (seed, prior_draw, ") + kSbcStreamText +
                        ").substream(j), x* from "
                        "(seed, simulation, same index).substream(j), posterior draws from a generator seeded by "
                        "(seed, sampling, same index).substream(j)"},
        {"rank_statistic",
         "marginal: #{l : theta_l,d < theta*_d} (ties count 1/2); joint: #{l : m(theta_l) < "
         "m(theta*)}, m = squared Mahalanobis distance w.r.t. the mean and covariance of theta* "
         "pooled with the L samples"},
        {"uniformity_test",
         {{"name", "chi-square"},
          {"bins", r.bins},
          {"alpha", r.alpha},
          {"tests", r.statistics.size()},
          {"correction", "bonferroni"},
          {"min_p_value", r.tested ? nlohmann::json(r.min_p_value) : nlohmann::json(nullptr)},
          {"min_p_statistic", r.tested ? nlohmann::json(r.statistics[r.min_p_index].name) : nlohmann::json(nullptr)},
          {"adjusted_p_value", r.tested ? nlohmann::json(r.adjusted_p_value) : nlohmann::json(nullptr)},
          {"rejected", r.tested ? nlohmann::json(r.rejected) : nlohmann::json(nullptr)}}},
        {"coverage",
         {{"levels", r.levels},
          {"marginal_region", "central interval: between the (1-level)/2 and (1+level)/2 quantiles of the samples"},
          {"joint_region",
           "Mahalanobis ellipsoid holding the share `level` of the samples (pooled mean and "
           "covariance)"},
          {"max_deviation_marginal", r.max_marginal_coverage_deviation},
          {"max_deviation_joint", r.max_joint_coverage_deviation},
          {"max_deviation", std::max(r.max_marginal_coverage_deviation, r.max_joint_coverage_deviation)},
          {"mean_deviation_marginal", r.mean_marginal_coverage_deviation},
          {"mean_deviation_joint", r.statistics.back().mean_coverage_deviation},
          {"binomial_sd_at_0.5", 0.5 / std::sqrt(static_cast<double>(r.tests))}}},
        {"dimensions", dims},
        {"joint", statistic_json(r.statistics.back(), r.tested)},
        {"mpi_ranks", dist::size()},
        {"threads_per_rank", threads},
        {"seconds",
         {{"total", seconds},
          {"simulate", simulate_seconds},
          {"sample_and_rank", sample_seconds},
          {"statistics", stats_seconds}}},
        {"simbi_version", kVersion},
        {"created", store::utc_now_iso8601()}};
    if (!a.out.empty()) store::write_file_atomically(a.out, j.dump(2) + "\n");
    std::printf("%s%s\n", summary_paragraph(a, s, r, failed, seconds).c_str(),
                a.out.empty() ? "" : (" -> " + a.out).c_str());
    std::fflush(stdout);
  });
  return 0;
}

}  // namespace

void add_sbc_command(CLI::App& app, std::vector<Command>& commands) {
  auto a = std::make_shared<SbcArgs>();
  CLI::App* sub = app.add_subcommand(
      "sbc", "Simulation-based calibration and expected coverage of a CP-VAE/UP-VAE model (docs/sbc.md)");
  sub->add_option("--config", "TOML file with any of these options (keys without dashes; command line wins)");
  sub->add_option("--model", a->model, "Model file with a direct posterior sampler (CP-VAE, UP-VAE)")->required();
  sub->add_option("--num-tests", a->num_tests, "Test pairs (theta*, x*) from the prior predictive (M)")
      ->capture_default_str();
  sub->add_option("--num-posterior-samples", a->num_posterior_samples, "Posterior samples per test pair (L)")
      ->capture_default_str();
  sub->add_option("--seed", a->seed, "Seed of the test pairs and the posterior draws")->capture_default_str();
  sub->add_option("--alpha", a->alpha, "Family-wise level of the uniformity tests (Bonferroni over dims + joint)")
      ->capture_default_str();
  sub->add_option("--bins", a->bins, "Rank-histogram bins (0: the most, up to 20, with >= 5 expected per bin)")
      ->capture_default_str();
  sub->add_option("--out", a->out, "Write ranks, histograms, p-values and coverage curves as JSON");
  sub->add_option("--threads", a->threads, "Torch threads per rank (default 1)");
  a->source.add_options(*sub, false);
  sub->get_option("--task")->description(
      "Built-in task whose prior predictive to use (default: the model's task; for user simulators give "
      "--simulator-lib/--simulator-cmd with --simulator-config)");
  commands.push_back({sub, [a] { return run_sbc(*a); }});
}

}  // namespace simbi::cli
