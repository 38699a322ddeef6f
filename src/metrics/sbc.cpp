// Simulation-based calibration: rank statistics, the chi-square uniformity test, expected coverage.
#include "simbi/metrics/sbc.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "simbi/core/error.hpp"

namespace simbi::metrics {

namespace {

// #{v < ref} + ½·#{v == ref} (rounded down) over n values.
template <typename Get>
int64_t rank_with_half_ties(int64_t n, double ref, Get value) {
  int64_t less = 0, ties = 0;
  for (int64_t l = 0; l < n; ++l) {
    const double v = value(l);
    less += v < ref;
    ties += v == ref;
  }
  return less + ties / 2;
}

void require_finite(const float* p, int64_t n, const char* what) {
  for (int64_t i = 0; i < n; ++i)
    require(std::isfinite(p[i]), ErrorKind::numeric,
            std::string("sbc: ") + what + " holds a non-finite value (" + std::to_string(p[i]) + ")");
}

// In-place Cholesky factor (lower triangle, row-major d×d) of a + ridge·I; false if not positive definite.
bool cholesky(std::vector<double>& a, int64_t d, double ridge) {
  for (int64_t i = 0; i < d; ++i) a[i * d + i] += ridge;
  for (int64_t j = 0; j < d; ++j) {
    double s = a[j * d + j];
    for (int64_t k = 0; k < j; ++k) s -= a[j * d + k] * a[j * d + k];
    if (!(s > 0.0)) return false;
    const double ljj = std::sqrt(s);
    a[j * d + j] = ljj;
    for (int64_t i = j + 1; i < d; ++i) {
      double t = a[i * d + j];
      for (int64_t k = 0; k < j; ++k) t -= a[i * d + k] * a[j * d + k];
      a[i * d + j] = t / ljj;
    }
  }
  return true;
}

// ln Γ(a) · prefactor of the incomplete gamma functions: exp(−z + a ln z − ln Γ(a)).
double gamma_prefactor(double a, double z) { return std::exp(-z + a * std::log(z) - std::lgamma(a)); }

// Regularized lower incomplete gamma P(a, z) by its series (converges fast for z < a + 1).
double gamma_p_series(double a, double z) {
  double ap = a, term = 1.0 / a, sum = term;
  for (int n = 0; n < 100000; ++n) {
    ap += 1.0;
    term *= z / ap;
    sum += term;
    if (std::fabs(term) < std::fabs(sum) * 1e-16) break;
  }
  return sum * gamma_prefactor(a, z);
}

// Regularized upper incomplete gamma Q(a, z) by its continued fraction (modified Lentz; z >= a + 1).
double gamma_q_fraction(double a, double z) {
  const double tiny = std::numeric_limits<double>::min() / std::numeric_limits<double>::epsilon();
  double b = z + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
  for (int i = 1; i < 100000; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double step = d * c;
    h *= step;
    if (std::fabs(step - 1.0) < 1e-16) break;
  }
  return gamma_prefactor(a, z) * h;
}

// The largest |coverage − level| and the level where it is reached.
std::pair<double, double> max_deviation(const std::vector<double>& coverage, const std::vector<double>& levels) {
  double worst = 0.0, at = levels.empty() ? 0.0 : levels[0];
  for (size_t i = 0; i < levels.size(); ++i) {
    const double dev = std::fabs(coverage[i] - levels[i]);
    if (dev > worst) {
      worst = dev;
      at = levels[i];
    }
  }
  return {worst, at};
}

// The mean over tests of the share of rank r's cell [r, r + 1) (in units of 1/(L + 1) of the unit
// interval) that lies inside [lo, hi): the coverage of the randomised PIT u = (r + V)/(L + 1), V ~ U(0,1),
// averaged over V, which is exactly uniform for exchangeable draws.
double mean_cell_share(const std::vector<int64_t>& ranks, double lo, double hi) {
  if (ranks.empty()) return 0.0;
  double sum = 0.0;
  for (int64_t r : ranks) {
    const double a = static_cast<double>(r), b = a + 1.0;
    sum += std::max(0.0, std::min(b, hi) - std::max(a, lo));
  }
  return sum / static_cast<double>(ranks.size());
}

}  // namespace

void marginal_ranks(const float* theta_star, ConstMatrixView samples, int64_t* ranks) {
  require_finite(theta_star, samples.cols, "the true parameter");
  require_finite(samples.data, samples.rows * samples.cols, "a posterior sample");
  for (int64_t d = 0; d < samples.cols; ++d)
    ranks[d] = rank_with_half_ties(samples.rows, theta_star[d], [&](int64_t l) { return samples(l, d); });
}

int64_t mahalanobis_rank(const float* theta_star, ConstMatrixView samples) {
  const int64_t L = samples.rows, D = samples.cols, n = L + 1;
  require(L >= 1 && D >= 1, ErrorKind::invalid_argument, "sbc: mahalanobis_rank needs at least one sample");
  require_finite(theta_star, D, "the true parameter");
  require_finite(samples.data, L * D, "a posterior sample");
  auto point = [&](int64_t i) { return i == 0 ? theta_star : samples.row(i - 1); };  // point 0 is θ*
  std::vector<double> mean(static_cast<size_t>(D), 0.0), cov(static_cast<size_t>(D * D), 0.0), c(D);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t a = 0; a < D; ++a) mean[a] += point(i)[a];
  for (double& m : mean) m /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) {
    const float* p = point(i);
    for (int64_t a = 0; a < D; ++a) c[a] = p[a] - mean[a];
    for (int64_t a = 0; a < D; ++a)
      for (int64_t b = 0; b <= a; ++b) cov[a * D + b] += c[a] * c[b];
  }
  double trace = 0.0;
  for (int64_t a = 0; a < D; ++a) trace += cov[a * D + a];
  if (!(trace > 0.0)) return L / 2;  // every point identical: all distances tie
  // A ridge of a tiny share of the average variance where Σ is singular (fewer points than dimensions,
  // a collapsed coordinate); it depends on Σ only, so the statistic stays symmetric in the points.
  std::vector<double> chol;
  bool ok = false;
  for (double rel = 0.0; !ok && rel <= 1e-2; rel = rel == 0.0 ? 1e-12 : rel * 100.0) {
    chol = cov;
    ok = cholesky(chol, D, rel * trace / static_cast<double>(D));
  }
  require(ok, ErrorKind::numeric, "sbc: the covariance of the posterior samples is not positive definite");
  std::vector<double> dist(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {  // m = |L⁻¹ (p − μ)|² by forward substitution
    const float* p = point(i);
    double m = 0.0;
    for (int64_t a = 0; a < D; ++a) {
      double y = p[a] - mean[a];
      for (int64_t b = 0; b < a; ++b) y -= chol[a * D + b] * c[b];
      c[a] = y / chol[a * D + a];
      m += c[a] * c[a];
    }
    dist[i] = m;
  }
  return rank_with_half_ties(L, dist[0], [&](int64_t l) { return dist[l + 1]; });
}

double chi_square_sf(double x, double df) {
  require(df > 0.0 && x >= 0.0 && std::isfinite(df), ErrorKind::invalid_argument,
          "chi_square_sf: needs df > 0 and x >= 0");
  if (x == 0.0) return 1.0;
  if (std::isinf(x)) return 0.0;
  const double a = 0.5 * df, z = 0.5 * x;
  return z < a + 1.0 ? std::max(0.0, 1.0 - gamma_p_series(a, z)) : gamma_q_fraction(a, z);
}

UniformityTest chi_square_uniformity(const std::vector<int64_t>& ranks, int64_t L, int64_t bins) {
  require(bins >= 2 && bins <= L + 1, ErrorKind::invalid_argument,
          "sbc: " + std::to_string(bins) + " bins for ranks 0.." + std::to_string(L) + " (expected 2.." +
              std::to_string(L + 1) + ")");
  UniformityTest t;
  t.edges.resize(static_cast<size_t>(bins + 1));
  for (int64_t b = 0; b <= bins; ++b) t.edges[b] = b * (L + 1) / bins;
  t.counts.assign(static_cast<size_t>(bins), 0);
  for (int64_t r : ranks) {
    require(r >= 0 && r <= L, ErrorKind::invalid_argument,
            "sbc: rank " + std::to_string(r) + " outside 0.." + std::to_string(L));
    // bin b holds [edges[b], edges[b+1]); the last edge with edges[b] <= r
    const auto it = std::upper_bound(t.edges.begin(), t.edges.end(), r);
    ++t.counts[static_cast<size_t>(it - t.edges.begin() - 1)];
  }
  const double m = static_cast<double>(ranks.size());
  t.expected.resize(static_cast<size_t>(bins));
  for (int64_t b = 0; b < bins; ++b) {
    t.expected[b] = m * static_cast<double>(t.edges[b + 1] - t.edges[b]) / static_cast<double>(L + 1);
    const double diff = static_cast<double>(t.counts[b]) - t.expected[b];
    t.statistic += diff * diff / t.expected[b];
  }
  t.df = bins - 1;
  t.p_value = chi_square_sf(t.statistic, static_cast<double>(t.df));
  return t;
}

int64_t default_sbc_bins(int64_t tests, int64_t L, int64_t max_bins, double min_expected) {
  for (int64_t b = std::min(max_bins, L + 1); b >= 2; --b) {
    const int64_t smallest = (L + 1) / b;  // rank values in the smallest bin
    if (static_cast<double>(tests) * static_cast<double>(smallest) / static_cast<double>(L + 1) >= min_expected)
      return b;
  }
  return 0;
}

std::vector<double> central_coverage(const std::vector<int64_t>& ranks, int64_t L, const std::vector<double>& levels) {
  const double n = static_cast<double>(L + 1);
  std::vector<double> out;
  for (double g : levels) out.push_back(mean_cell_share(ranks, 0.5 * (1.0 - g) * n, 0.5 * (1.0 + g) * n));
  return out;
}

std::vector<double> lower_coverage(const std::vector<int64_t>& ranks, int64_t L, const std::vector<double>& levels) {
  const double n = static_cast<double>(L + 1);
  std::vector<double> out;
  for (double g : levels) out.push_back(mean_cell_share(ranks, 0.0, g * n));
  return out;
}

std::vector<double> coverage_levels(int steps) {
  std::vector<double> levels;
  for (int k = 1; k < steps; ++k) levels.push_back(static_cast<double>(k) / steps);
  return levels;
}

SbcSummary summarize_sbc(const std::vector<std::vector<int64_t>>& ranks, const std::vector<std::string>& names,
                         int64_t L, const SbcOptions& options) {
  require(!names.empty() && ranks.size() == names.size() + 1, ErrorKind::invalid_argument,
          "sbc: expected the ranks of " + std::to_string(names.size()) + " dimensions and the joint statistic, got " +
              std::to_string(ranks.size()) + " rank lists");
  const int64_t m = static_cast<int64_t>(ranks[0].size());
  for (const auto& r : ranks)
    require(static_cast<int64_t>(r.size()) == m, ErrorKind::invalid_argument, "sbc: rank lists of different lengths");
  require(m >= 2 && L >= 1, ErrorKind::invalid_argument,
          "sbc: needs at least 2 tests and 1 posterior sample (got " + std::to_string(m) + " and " + std::to_string(L) +
              ")");
  require(options.bins == 0 || (options.bins >= 2 && options.bins <= L + 1), ErrorKind::invalid_argument,
          "--bins " + std::to_string(options.bins) + ": expected 0 (automatic) or 2.." + std::to_string(L + 1) +
              " (the number of rank values)");
  require(options.alpha > 0.0 && options.alpha < 1.0, ErrorKind::invalid_argument, "sbc: alpha must be in (0, 1)");

  SbcSummary s;
  s.tests = m;
  s.samples = L;
  s.alpha = options.alpha;
  s.levels = options.levels;
  s.bins = options.bins > 0 ? options.bins : default_sbc_bins(m, L);
  s.tested = s.bins >= 2;
  for (size_t k = 0; k < ranks.size(); ++k) {
    SbcStatistic st;
    st.joint = k == names.size();
    st.name = st.joint ? "joint" : names[k];
    st.ranks = ranks[k];
    if (s.tested) st.test = chi_square_uniformity(st.ranks, L, s.bins);
    st.coverage = st.joint ? lower_coverage(st.ranks, L, s.levels) : central_coverage(st.ranks, L, s.levels);
    std::tie(st.max_coverage_deviation, st.worst_level) = max_deviation(st.coverage, s.levels);
    for (size_t i = 0; i < s.levels.size(); ++i) st.mean_coverage_deviation += st.coverage[i] - s.levels[i];
    if (!s.levels.empty()) st.mean_coverage_deviation /= static_cast<double>(s.levels.size());
    if (st.joint) {
      s.max_joint_coverage_deviation = st.max_coverage_deviation;
    } else {
      s.max_marginal_coverage_deviation = std::max(s.max_marginal_coverage_deviation, st.max_coverage_deviation);
      s.mean_marginal_coverage_deviation += st.mean_coverage_deviation / static_cast<double>(names.size());
    }
    if (s.tested && (k == 0 || st.test.p_value < s.min_p_value)) {
      s.min_p_value = st.test.p_value;
      s.min_p_index = k;
    }
    s.statistics.push_back(std::move(st));
  }
  if (s.tested) {
    const double k = static_cast<double>(s.statistics.size());
    s.adjusted_p_value = std::min(1.0, k * s.min_p_value);
    s.rejected = s.min_p_value < s.alpha / k;
  }
  return s;
}

PointErrors point_errors(const std::vector<double>& truth, const std::vector<double>& estimate) {
  require(truth.size() == estimate.size() && !truth.empty(), ErrorKind::invalid_argument,
          "point_errors: " + std::to_string(truth.size()) + " true values and " + std::to_string(estimate.size()) +
              " estimates (equal, non-zero counts expected)");
  PointErrors e;
  e.tests = static_cast<int64_t>(truth.size());
  std::vector<double> ape;
  double abs_sum = 0.0, sq_sum = 0.0;
  for (size_t j = 0; j < truth.size(); ++j) {
    const double err = estimate[j] - truth[j];
    abs_sum += std::abs(err);
    sq_sum += err * err;
    if (truth[j] != 0.0) ape.push_back(std::abs(err) / std::abs(truth[j]));
  }
  e.mae = abs_sum / static_cast<double>(e.tests);
  e.rmse = std::sqrt(sq_sum / static_cast<double>(e.tests));
  e.ape_tests = static_cast<int64_t>(ape.size());
  if (ape.empty()) {
    e.mape = e.median_ape = std::numeric_limits<double>::quiet_NaN();
    return e;
  }
  double ape_sum = 0.0;
  for (double v : ape) ape_sum += v;
  e.mape = ape_sum / static_cast<double>(ape.size());
  std::sort(ape.begin(), ape.end());
  const size_t h = ape.size() / 2;
  e.median_ape = ape.size() % 2 ? ape[h] : 0.5 * (ape[h - 1] + ape[h]);
  return e;
}

}  // namespace simbi::metrics
