#include "simbi/posterior/calibration.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "simbi/core/log.hpp"
#include "simbi/core/random.hpp"
#include "simbi/core/text.hpp"
#include "simbi/core/timing.hpp"
#include "simbi/core/version.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/metrics/sbc.hpp"
#include "simbi/posterior/model.hpp"
#include "simbi/sim/distance.hpp"
#include "simbi/sim/prior.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/sim_store.hpp"
#include "simbi/store/usable_rows.hpp"

namespace simbi::posterior {

namespace {

// Index of SBC's streams within the prior_draw, simulation and sampling purposes. `simbi simulate` uses
// index 0 and `simbi sample` the observation number, so SBC's test pairs never coincide with the rows of
// a store (the model's training data) or with a sample run, whatever the seeds.
constexpr uint64_t kSbcStream = 0x5bc0000000ull;
constexpr const char* kSbcStreamText = "0x5bc0000000";

// What is being calibrated — a model with a direct sampler, an E&E model, or the rejection-ABC baseline
// on a store — and the task whose prior predictive makes the test pairs.
struct Setup {
  std::string subject;  // the model file, or "rejection ABC on STORE"
  std::string method;   // the model's method, or "abc"
  std::shared_ptr<estimators::Estimator> model;
  std::unique_ptr<Posterior> posterior;  // a model's posterior, drawn on this rank alone (MPI_COMM_SELF)
  // ABC: the stored simulations (usable rows only) and the distance between x rows.
  Matrix abc_theta, abc_x;
  std::unique_ptr<sim::Distance> distance;
  sim::Task task;
  std::unique_ptr<sim::Prior> recorded_prior;  // the prior recorded with the training data, if any
  const sim::Prior* prior = nullptr;           // recorded_prior, else the task's
  std::vector<std::string> labels;
};

// The task to simulate test pairs from: the request's when given, else the built-in `task_name`.
sim::Task make_sbc_task(const SbcRequest& a, const std::string& what, const std::string& task_name) {
  if (a.make_task) return a.make_task();
  require(sim::is_builtin_task(task_name), ErrorKind::invalid_argument,
          what + " comes from '" + task_name +
              "', not a built-in task: give its simulator with --simulator-lib or --simulator-cmd and "
              "--simulator-config");
  return sim::make_task(task_name);
}

void load_model_setup(const SbcRequest& a, Setup& s, int64_t& d, int64_t& x_dim, std::string& prior_json) {
  const LoadedModel model = load_model(a.model);
  s.subject = a.model;
  s.model = model.estimator;
  s.method = model.meta.method;
  require(!is_generalized_posterior(model), ErrorKind::invalid_argument,
          "--model " + a.model + " (method " + s.method +
              ") is not calibrated by sbc: it needs a CP-VAE, UP-VAE or E&E model, or npe, fmpe or npse (an ACE "
              "model's GBI posterior is not a Bayesian posterior)");
  s.task = make_sbc_task(a, "--model " + a.model, model.meta.task);
  d = model.meta.theta_dim;
  x_dim = model.meta.x_dim;
  prior_json = model.meta.prior.is_null() ? std::string() : model.meta.prior.dump();
  s.labels = model.meta.theta_labels;
  PosteriorOptions o = a.sampling;
  o.num_samples = a.num_posterior_samples;
  o.seed = a.seed;
  o.mcmc.diagnostics = false;  // per test, not reported; R-hat needs no extra chains then
  o.comm = MPI_COMM_SELF;      // each rank samples its own tests
  s.posterior = make_posterior(model, o);
}

// Rejection ABC: every rank reads the whole store (the distance's scales are fitted on all of it, and
// each test compares x* with every stored row).
void load_abc(const SbcRequest& a, Setup& s, int64_t& d, int64_t& x_dim, std::string& prior_json) {
  const store::SimStore st = store::SimStore::open_read(a.abc_data);
  const store::SimStoreMeta meta = st.meta();
  s.subject = "rejection ABC on " + a.abc_data;
  s.method = "abc";
  Matrix theta, x;
  std::vector<uint8_t> status;
  st.read_rows(0, meta.budget, theta, x, status);
  const std::vector<int64_t> rows = store::usable_rows(status, theta, x);
  const int64_t n = static_cast<int64_t>(rows.size());
  require(n >= a.num_posterior_samples, ErrorKind::invalid_argument,
          "--abc-data " + a.abc_data + ": " + std::to_string(n) + " usable simulations, fewer than the " +
              std::to_string(a.num_posterior_samples) + " nearest ones --num-posterior-samples asks ABC to accept");
  s.abc_theta = Matrix(n, meta.theta_dim);
  s.abc_x = Matrix(n, meta.x_dim);
  for (int64_t r = 0; r < n; ++r) {
    std::copy(theta.row(rows[static_cast<size_t>(r)]), theta.row(rows[static_cast<size_t>(r)]) + meta.theta_dim,
              s.abc_theta.row(r));
    std::copy(x.row(rows[static_cast<size_t>(r)]), x.row(rows[static_cast<size_t>(r)]) + meta.x_dim, s.abc_x.row(r));
  }
  s.distance = sim::make_distance(a.distance, meta.x_dim);
  if (s.distance->needs_fit()) s.distance->fit(s.abc_x.view());
  s.task = make_sbc_task(a, "--abc-data " + a.abc_data, meta.task);
  d = meta.theta_dim;
  x_dim = meta.x_dim;
  prior_json = meta.prior_json;
  s.labels = meta.theta_labels;
}

// Every rank builds its own copy; throws Error naming the option at fault.
Setup load_setup(const SbcRequest& a) {
  require(a.model.empty() != a.abc_data.empty(), ErrorKind::invalid_argument,
          "give exactly one of --model (a trained model) and --abc-data (a store for the rejection-ABC baseline)");
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
  int64_t d = 0, x_dim = 0;
  std::string prior_json;
  if (!a.model.empty())
    load_model_setup(a, s, d, x_dim, prior_json);
  else
    load_abc(a, s, d, x_dim, prior_json);
  const std::string source = a.model.empty() ? "--abc-data " + a.abc_data : "--model " + a.model;
  require(s.task.theta_dim() == d && s.task.x_dim() == x_dim, ErrorKind::invalid_argument,
          "task " + s.task.name + " has theta_dim " + std::to_string(s.task.theta_dim()) + " and x_dim " +
              std::to_string(s.task.x_dim()) + ", but " + source + " has " + std::to_string(d) + " and " +
              std::to_string(x_dim));
  // Calibration is with respect to the prior of the training data: the one its store recorded.
  if (!prior_json.empty()) s.recorded_prior = sim::prior_from_json(nlohmann::json::parse(prior_json), source);
  s.prior = s.recorded_prior ? s.recorded_prior.get() : s.task.prior.get();
  require(s.prior->dim() == d, ErrorKind::format,
          source + ": its prior has " + std::to_string(s.prior->dim()) + " dimensions, expected theta_dim " +
              std::to_string(d));
  if (static_cast<int64_t>(s.labels.size()) != d) s.labels = sim::default_theta_labels(d);
  return s;
}

// L posterior draws [L, d] for test j's x*.
torch::Tensor draw_posterior(const SbcRequest& a, Setup& s, const float* x_star, int64_t j) {
  const int64_t L = a.num_posterior_samples, x_dim = s.task.x_dim();
  if (s.posterior) {
    // The stream index keeps the tests' streams apart from `simbi sample`'s (observation k).
    const torch::Tensor x_o = torch::from_blob(const_cast<float*>(x_star), {x_dim}, torch::kFloat).clone();
    return s.posterior->sample(x_o, kSbcStream + static_cast<uint64_t>(j)).front().samples;
  }
  // Rejection ABC with a uniform kernel whose width is the L-th smallest distance: the L nearest rows.
  const int64_t n = s.abc_x.rows();
  std::vector<double> dist(static_cast<size_t>(n));
  s.distance->to_one(s.abc_x.row(0), n, x_star, dist.data());
  for (double& v : dist)
    if (!std::isfinite(v)) v = std::numeric_limits<double>::infinity();
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  std::nth_element(order.begin(), order.begin() + (L - 1), order.end(), [&](int64_t p, int64_t q) {
    return dist[static_cast<size_t>(p)] < dist[static_cast<size_t>(q)] ||
           (dist[static_cast<size_t>(p)] == dist[static_cast<size_t>(q)] && p < q);
  });
  torch::Tensor out = torch::empty({L, s.abc_theta.cols()}, torch::kFloat);
  for (int64_t i = 0; i < L; ++i)
    std::copy(s.abc_theta.row(order[static_cast<size_t>(i)]),
              s.abc_theta.row(order[static_cast<size_t>(i)]) + s.abc_theta.cols(),
              out.data_ptr<float>() + i * out.size(1));
  return out;
}

// This rank's tests [lo, hi): D + 1 ranks per test (the dimensions, then the joint one), or -1s where
// the simulation failed (a non-finite x*); and per test θ* and the posterior mean (D values each; NaN
// for a failed simulation).
struct LocalTests {
  std::vector<int64_t> ranks;       // (hi − lo) · (D + 1)
  std::vector<double> truth, mean;  // (hi − lo) · D
  double simulate_seconds = 0.0, sample_seconds = 0.0;
};

// Test pairs are simulated in batches of this many (x* of a large simulator, e.g. a 396,000-value time
// series, would not fit for all of a rank's tests at once); rows depend on their global index only.
constexpr int64_t kBatchTests = 256;

LocalTests rank_tests(const SbcRequest& a, Setup& s, int64_t lo, int64_t hi) {
  const int64_t n = hi - lo, d = s.prior->dim(), x_dim = s.task.x_dim(), L = a.num_posterior_samples;
  LocalTests out;
  out.ranks.assign(static_cast<size_t>(n * (d + 1)), -1);
  out.truth.assign(static_cast<size_t>(n * d), std::numeric_limits<double>::quiet_NaN());
  out.mean = out.truth;
  const auto t_start = SteadyClock::now();
  auto last_progress = t_start;
  torch::NoGradGuard no_grad;
  const RandomStream prior_draws(a.seed, StreamPurpose::prior_draw, kSbcStream);
  const RandomStream simulations(a.seed, StreamPurpose::simulation, kSbcStream);
  for (int64_t b0 = 0; b0 < n; b0 += kBatchTests) {
    const int64_t nb = std::min(kBatchTests, n - b0);
    Matrix theta(nb, d), x(nb, x_dim);
    const auto t_sim = SteadyClock::now();
    s.prior->sample(theta.view(), RowStreams{prior_draws, lo + b0});
    s.task.simulator->simulate(theta.view(), x.view(), RowStreams{simulations, lo + b0});
    out.simulate_seconds += seconds_since(t_sim);
    for (int64_t i = 0; i < nb; ++i) {
      const float* xi = x.row(i);
      if (!std::all_of(xi, xi + x_dim, [](float v) { return std::isfinite(v); })) continue;  // failed: skipped
      const int64_t j = lo + b0 + i;
      const torch::Tensor draws = draw_posterior(a, s, xi, j).to(torch::kFloat).contiguous();
      require(draws.dim() == 2 && draws.size(0) == L && draws.size(1) == d, ErrorKind::internal,
              "sbc: the sampler returned a tensor of the wrong shape");
      const ConstMatrixView view{draws.data_ptr<float>(), L, d};
      int64_t* r = out.ranks.data() + (b0 + i) * (d + 1);
      try {
        metrics::marginal_ranks(theta.row(i), view, r);
        r[d] = metrics::mahalanobis_rank(theta.row(i), view);
      } catch (const Error& e) {
        throw Error(e.kind(), "test " + std::to_string(j + 1) + " (" + s.subject + "): " + e.what());
      }
      const torch::Tensor mean = draws.to(torch::kDouble).mean(0);
      for (int64_t k = 0; k < d; ++k) {
        out.truth[static_cast<size_t>((b0 + i) * d + k)] = theta(i, k);
        out.mean[static_cast<size_t>((b0 + i) * d + k)] = mean[k].item<double>();
      }
      if (seconds_since(last_progress) > 10.0) {
        last_progress = SteadyClock::now();
        log::info("sbc: rank 0 done " + std::to_string(b0 + i + 1) + " of its " + std::to_string(n) + " tests (" +
                  log::human_duration(seconds_since(t_start)) + ")");
      }
    }
  }
  out.sample_seconds = seconds_since(t_start) - out.simulate_seconds;
  return out;
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

// The index of the coverage level nearest to `level`.
size_t level_index(const std::vector<double>& levels, double level) {
  size_t best = 0;
  for (size_t i = 1; i < levels.size(); ++i)
    if (std::abs(levels[i] - level) < std::abs(levels[best] - level)) best = i;
  return best;
}

nlohmann::json point_errors_json(const metrics::PointErrors& e) {
  const auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"mae", e.mae},
          {"rmse", e.rmse},
          {"mape", number(e.mape)},
          {"median_ape", number(e.median_ape)},
          {"ape_tests", e.ape_tests}};
}

// The one-paragraph verdict on stdout.
std::string summary_paragraph(const SbcRequest& a, const Setup& s, const metrics::SbcSummary& r,
                              const std::vector<metrics::PointErrors>& errors, int64_t failed, double seconds) {
  const metrics::SbcStatistic& joint = r.statistics.back();
  std::string p = "SBC of " + s.subject + " (" + s.method + " on " + s.task.name + "): " + std::to_string(r.tests) +
                  " test pairs from the prior predictive (" + std::to_string(failed) +
                  " failed simulations skipped), " + std::to_string(r.samples) + " posterior samples each, seed " +
                  std::to_string(a.seed) + ", " + std::to_string(dist::size()) + " rank(s), " +
                  format_number(seconds, "%.1f s") + ". ";
  if (r.tested) {
    const metrics::SbcStatistic& worst = r.statistics[r.min_p_index];
    p += "Rank uniformity (chi-square, " + std::to_string(r.bins) + " bins, " + std::to_string(r.statistics.size()) +
         " tests: each dimension and the joint Mahalanobis rank): smallest p-value " +
         format_number(r.min_p_value, "%.3g") + " (" + worst.name + "), Bonferroni-adjusted " +
         format_number(r.adjusted_p_value, "%.3g") + ", " +
         (r.rejected ? "uniformity REJECTED" : "uniformity not rejected") +
         " at alpha = " + format_number(r.alpha, "%g") + ". ";
  } else {
    p += "Too few tests for the chi-square uniformity test (it needs at least 10 to expect 5 per bin). ";
  }
  const metrics::SbcStatistic* worst_marginal = &r.statistics.front();
  for (const auto& st : r.statistics)
    if (!st.joint && st.max_coverage_deviation > worst_marginal->max_coverage_deviation) worst_marginal = &st;
  p += "Expected coverage: max |coverage - nominal| " + format_number(r.max_marginal_coverage_deviation, "%.3f") +
       " over the central intervals of the dimensions (" + worst_marginal->name + " at level " +
       format_number(worst_marginal->worst_level, "%.2f") + "), " +
       format_number(r.max_joint_coverage_deviation, "%.3f") + " for the joint region (at " +
       format_number(joint.worst_level, "%.2f") + "); mean coverage - nominal " +
       format_number(r.mean_marginal_coverage_deviation, "%+.3f") + " (dimensions) and " +
       format_number(joint.mean_coverage_deviation, "%+.3f") +
       " (joint), negative meaning overconfident; binomial sd at " + "level 0.5 with these tests " +
       format_number(0.5 / std::sqrt(static_cast<double>(r.tests)), "%.3f") + ". ";
  const size_t i90 = level_index(r.levels, 0.9);
  p += "Posterior mean vs theta* (MAPE / median APE / RMSE) and 90% central-interval coverage:";
  for (size_t k = 0; k < errors.size(); ++k)
    p += std::string(k ? ";" : "") + " " + r.statistics[k].name + " " +
         format_number(100.0 * errors[k].mape, "%.1f%%") + " / " +
         format_number(100.0 * errors[k].median_ape, "%.1f%%") + " / " + format_number(errors[k].rmse, "%.3g") + ", " +
         format_number(r.statistics[k].coverage[i90], "%.2f");
  p += ". ";
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

// Every rank's tests, in rank order = test order, without the failed ones: per rank statistic (D + 1)
// the ranks, per dimension θ* and the posterior mean.
struct Collected {
  std::vector<std::vector<int64_t>> ranks;
  std::vector<std::vector<double>> truth, means;
};

Collected collect(const std::vector<std::string>& rank_parts, const std::vector<std::string>& truth_parts,
                  const std::vector<std::string>& mean_parts, int64_t d) {
  Collected c{std::vector<std::vector<int64_t>>(static_cast<size_t>(d + 1)),
              std::vector<std::vector<double>>(static_cast<size_t>(d)),
              std::vector<std::vector<double>>(static_cast<size_t>(d))};
  std::vector<int64_t> row(static_cast<size_t>(d + 1));
  std::vector<double> t_row(static_cast<size_t>(d)), m_row(static_cast<size_t>(d));
  for (size_t p = 0; p < rank_parts.size(); ++p)
    for (size_t off = 0, k = 0; off < rank_parts[p].size(); off += row.size() * sizeof(int64_t), ++k) {
      std::memcpy(row.data(), rank_parts[p].data() + off, row.size() * sizeof(int64_t));
      if (row[0] < 0) continue;  // a failed simulation
      std::memcpy(t_row.data(), truth_parts[p].data() + k * d * sizeof(double), d * sizeof(double));
      std::memcpy(m_row.data(), mean_parts[p].data() + k * d * sizeof(double), d * sizeof(double));
      for (size_t i = 0; i < row.size(); ++i) c.ranks[i].push_back(row[i]);
      for (size_t i = 0; i < t_row.size(); ++i) {
        c.truth[i].push_back(t_row[i]);
        c.means[i].push_back(m_row[i]);
      }
    }
  return c;
}

nlohmann::json dimensions_json(const metrics::SbcSummary& r, const std::vector<metrics::PointErrors>& errors) {
  nlohmann::json dims = nlohmann::json::array();
  const size_t i90 = level_index(r.levels, 0.9);
  for (size_t k = 0; k + 1 < r.statistics.size(); ++k) {
    nlohmann::json dim = statistic_json(r.statistics[k], r.tested);
    dim["coverage_90"] = r.statistics[k].coverage[i90];
    dim["posterior_mean_errors"] = point_errors_json(errors[k]);
    dims.push_back(dim);
  }
  return dims;
}

nlohmann::json per_test_json(const Collected& c, int64_t tests) {
  nlohmann::json per_test = {{"theta_star", nlohmann::json::array()}, {"posterior_mean", nlohmann::json::array()}};
  for (int64_t t = 0; t < tests; ++t) {
    nlohmann::json ts = nlohmann::json::array(), ms = nlohmann::json::array();
    for (size_t i = 0; i < c.truth.size(); ++i) {
      ts.push_back(c.truth[i][t]);
      ms.push_back(c.means[i][t]);
    }
    per_test["theta_star"].push_back(ts);
    per_test["posterior_mean"].push_back(ms);
  }
  return per_test;
}

}  // namespace

SbcReport run_sbc(const SbcRequest& a) {
  const auto t0 = SteadyClock::now();
  const int threads = a.threads;
  SbcReport report;
  Setup s;
  dist::run_agreed([&] {
    if (dist::is_root() && !a.out.empty()) store::require_writable_output(a.out, "--out");
    s = load_setup(a);
  });
  const int64_t m = a.num_tests, d = s.prior->dim(), L = a.num_posterior_samples;
  const int64_t lo = m * dist::rank() / dist::size(), hi = m * (dist::rank() + 1) / dist::size();
  log::info("sbc: " + std::to_string(m) + " test pairs x " + std::to_string(L) + " posterior samples on " +
            std::to_string(dist::size()) + " rank(s)");
  LocalTests mine;
  dist::run_agreed([&] { mine = rank_tests(a, s, lo, hi); });
  const double simulate_seconds = dist::allreduce_max(mine.simulate_seconds);
  const double sample_seconds = dist::allreduce_max(mine.sample_seconds);

  // Every rank's tests to rank 0, in rank order = test order (each rank holds a contiguous block).
  const auto bytes = [](const auto& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(v[0]));
  };
  const std::vector<std::string> rank_parts = dist::gather(bytes(mine.ranks));
  const std::vector<std::string> truth_parts = dist::gather(bytes(mine.truth));
  const std::vector<std::string> mean_parts = dist::gather(bytes(mine.mean));
  int64_t failed = 0;
  for (size_t i = 0; i < mine.ranks.size(); i += static_cast<size_t>(d + 1)) failed += mine.ranks[i] < 0;
  failed = dist::allreduce_sum(failed);
  dist::run_agreed([&] {
    require(m - failed >= 2, ErrorKind::numeric,
            "sbc: " + std::to_string(failed) + " of the " + std::to_string(m) +
                " simulations failed; at least 2 test pairs are needed");
  });
  dist::run_agreed([&] {
    if (!dist::is_root()) return;
    const auto t_stats = SteadyClock::now();
    const Collected collected = collect(rank_parts, truth_parts, mean_parts, d);
    const auto& [ranks, truth, means] = collected;
    std::vector<metrics::PointErrors> errors;
    for (int64_t c = 0; c < d; ++c) errors.push_back(metrics::point_errors(truth[c], means[c]));
    metrics::SbcOptions o;
    o.alpha = a.alpha;
    o.bins = a.bins;
    const metrics::SbcSummary r = metrics::summarize_sbc(ranks, s.labels, L, o);
    const double stats_seconds = seconds_since(t_stats), seconds = seconds_since(t0);
    const nlohmann::json dims = dimensions_json(r, errors);
    const nlohmann::json per_test = per_test_json(collected, r.tests);
    const nlohmann::json j = {
        {"model", a.model.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.model)},
        {"abc_data", a.abc_data.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.abc_data)},
        {"abc", a.abc_data.empty()
                    ? nlohmann::json(nullptr)
                    : nlohmann::json{{"distance", s.distance->name()},
                                     {"stored_simulations", s.abc_x.rows()},
                                     {"accepted", L},
                                     {"rule", "the L stored simulations nearest to x* (uniform kernel)"}}},
        {"method", s.method},
        {"task", s.task.name},
        {"theta_labels", s.labels},
        {"num_tests", m},
        {"num_valid_tests", r.tests},
        {"failed_simulations", failed},
        {"num_posterior_samples", L},
        {"seed", a.seed},
        {"streams",
         std::string("test j: theta* from (seed, prior_draw, ") + kSbcStreamText +
             ").substream(j), x* from "
             "(seed, simulation, same index).substream(j), posterior draws from (seed, sampling, same index + "
             "j) (a model's posterior with stream index index + j on one rank)"},
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
        {"tests", per_test},
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
    report.record = j;
    report.summary = summary_paragraph(a, s, r, errors, failed, seconds);
  });
  return report;
}

}  // namespace simbi::posterior
