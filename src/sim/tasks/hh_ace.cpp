// hh_ace: the ACE paper's Hodgkin-Huxley neuron (Na, K delayed rectifier, leak, M-current; 8 parameters)
// driven by a current step, summarised by 7 features (docs/tasks_gbi.md). Exponential Euler at dt = 0.01 ms
// over 120 ms. Distance: zmae (scales fitted on the training x). A numerically failed run is a failed
// simulation (NaN row), never an exception. Contract: stateless simulator; a thread-local trace buffer.
#include "hh_ace.hpp"

#include <cmath>

#include "builtin_tasks.hpp"

namespace simbi::sim::tasks {

namespace {

constexpr double kENa = 53.0, kEK = -107.0;  // mV; C = 1 µF/cm²
constexpr double kV0 = -70.0;
// 5e-4 µA over the membrane area π·(70 µm)² = π·(7e-3 cm)², in µA/cm² (≈ 3.25).
constexpr double kPi = 3.14159265358979323846;
const double kStimulus = 5e-4 / (kPi * 7e-3 * 7e-3);
constexpr double kSpikeThreshold = -10.0;  // mV
constexpr double kSpikeMerge = 0.5;        // ms

// z / (e^z − 1) given e^z, and its series 1 − z/2 near 0 (docs/tasks_gbi.md). Away from 0 the quotient with
// exp() is as accurate as with expm1() (|z| >= 1e-4 loses at most ~1e-12 relatively).
inline double efun(double z, double ez) { return std::fabs(z) < 1e-4 ? 1.0 - 0.5 * z : z / (ez - 1.0); }

struct Gates {  // rates at one voltage, as the exponential-Euler update needs them
  double m_inf, m_rate, h_inf, h_rate, n_inf, n_rate, p_inf, p_rate;
};

// The ACE paper's kinetics (docs/tasks_gbi.md) with u = V − V_T, sharing exponentials: β_m and β_h both use
// e^{0.2(u−40)}; p_∞ and τ_p both use e^{0.05(V+35)} (e^{−0.1(V+35)} is its inverse square).
inline Gates gates_at(double v, double vt, double inv_tau_max) {
  const double u = v - vt;
  const double za = -0.25 * (u - 13.0);
  const double am = 0.32 / 0.25 * efun(za, std::exp(za));
  const double zb = 0.2 * (u - 40.0), eb = std::exp(zb);
  const double bm = 0.28 / 0.2 * efun(zb, eb);
  const double ah = 0.128 * std::exp(-(u - 17.0) / 18.0);
  const double bh = 4.0 * eb / (eb + 1.0);  // 4 / (1 + e^{−0.2(u−40)})
  const double zn = -0.2 * (u - 15.0);
  const double an = 0.032 / 0.2 * efun(zn, std::exp(zn));
  const double bn = 0.5 * std::exp(-(u - 10.0) / 40.0);
  const double e = std::exp(0.05 * (v + 35.0)), e2 = e * e;
  Gates g;
  g.m_rate = am + bm;
  g.m_inf = am / g.m_rate;
  g.h_rate = ah + bh;
  g.h_inf = ah / g.h_rate;
  g.n_rate = an + bn;
  g.n_inf = an / g.n_rate;
  g.p_inf = e2 / (e2 + 1.0);                     // 1 / (1 + e^{−0.1(V+35)})
  g.p_rate = (3.3 * e + 1.0 / e) * inv_tau_max;  // 1/τ_p, τ_p = τ_max / (3.3·e^{0.05(V+35)} + e^{−0.05(V+35)})
  return g;
}

class HhAceSimulator final : public RowwiseSimulator {
 public:
  int64_t theta_dim() const override { return kHhParams; }
  int64_t x_dim() const override { return kHhFeatures; }

 protected:
  bool simulate_row(const float* theta, float* x, RandomStream& rng) const override {
    thread_local std::vector<double> v;
    double f[kHhFeatures];
    if (!hh_ace_trace(theta, rng, v) || !hh_ace_features(v, f)) return false;
    for (int64_t k = 0; k < kHhFeatures; ++k) {
      x[k] = static_cast<float>(f[k]);
      if (!std::isfinite(x[k])) return false;  // a feature beyond float range
    }
    return true;
  }
};

}  // namespace

bool hh_ace_trace(const float* theta, RandomStream& rng, std::vector<double>& v) {
  for (int64_t k = 0; k < kHhParams; ++k)
    if (!std::isfinite(theta[k])) return false;
  const double g_na = theta[0], g_k = theta[1], g_leak = theta[2], g_m = theta[3];
  const double tau_max = theta[4], vt = -static_cast<double>(theta[5]), sigma = theta[6];
  const double e_leak = -static_cast<double>(theta[7]);
  if (!(tau_max > 0.0)) return false;
  const double dt = kHhDt, noise_scale = sigma / std::sqrt(dt);

  v.resize(static_cast<size_t>(kHhSteps + 1));
  double V = kV0;
  const double inv_tau_max = 1.0 / tau_max;
  const Gates g0 = gates_at(V, vt, inv_tau_max);
  double m = g0.m_inf, h = g0.h_inf, n = g0.n_inf, p = g0.p_inf;
  v[0] = V;
  for (int64_t i = 1; i <= kHhSteps; ++i) {
    const double current = (i - 1 >= kHhOnIndex && i - 1 < kHhOffIndex) ? kStimulus : 0.0;  // I at t_{i−1}
    const double m3h = m * m * m * h, n2 = n * n, n4 = n2 * n2;
    const double g_total = g_na * m3h + g_k * n4 + g_leak + g_m * p;
    const double v_inf =
        (g_na * m3h * kENa + g_k * n4 * kEK + g_leak * e_leak + g_m * p * kEK + current + noise_scale * rng.normal()) /
        g_total;
    V = v_inf + (V - v_inf) * std::exp(-dt * g_total);
    // Runaway or NaN (e.g. a non-positive total conductance outside the prior): a failed simulation.
    if (!(std::fabs(V) < 1e3)) return false;
    const Gates g = gates_at(V, vt, inv_tau_max);
    m = g.m_inf + (m - g.m_inf) * std::exp(-dt * g.m_rate);
    h = g.h_inf + (h - g.h_inf) * std::exp(-dt * g.h_rate);
    n = g.n_inf + (n - g.n_inf) * std::exp(-dt * g.n_rate);
    p = g.p_inf + (p - g.p_inf) * std::exp(-dt * g.p_rate);
    v[static_cast<size_t>(i)] = V;
  }
  return true;
}

bool hh_ace_features(const std::vector<double>& v, double* f) {
  const int64_t n_pts = static_cast<int64_t>(v.size());
  if (n_pts != kHhSteps + 1) return false;
  // Spikes as the benchmark finds them: clamp below the threshold, flatten every falling sample, and
  // take the samples followed by a fall (one step before each local maximum above −10 mV); count those
  // strictly inside (t_on, t_off), dropping one closer than 0.5 ms to the previous candidate.
  auto clamped = [&](int64_t i) { return std::max(v[static_cast<size_t>(i)], kSpikeThreshold); };
  auto flattened = [&](int64_t i) {  // the second pass's value at i
    const double w = clamped(i);
    return (i + 1 < n_pts && clamped(i + 1) < w) ? kSpikeThreshold : w;
  };
  int64_t spikes = 0;
  double last = -1e300;
  for (int64_t i = kHhOnIndex + 1; i < kHhOffIndex; ++i) {
    if (!(flattened(i + 1) < flattened(i))) continue;
    const double t = static_cast<double>(i) * kHhDt;
    if (spikes == 0 || t - last > kSpikeMerge) ++spikes;
    last = t;
  }
  // Resting potential: mean over t < t_on; its std over [0.9·t_on, t_on).
  double rest = 0.0;
  for (int64_t i = 0; i < kHhOnIndex; ++i) rest += v[static_cast<size_t>(i)];
  rest /= static_cast<double>(kHhOnIndex);
  const int64_t rest_from = (9 * kHhOnIndex) / 10;
  double rest_mean = 0.0, rest_var = 0.0;
  for (int64_t i = rest_from; i < kHhOnIndex; ++i) rest_mean += v[static_cast<size_t>(i)];
  rest_mean /= static_cast<double>(kHhOnIndex - rest_from);
  for (int64_t i = rest_from; i < kHhOnIndex; ++i) {
    const double d = v[static_cast<size_t>(i)] - rest_mean;
    rest_var += d * d;
  }
  rest_var /= static_cast<double>(kHhOnIndex - rest_from);
  // Moments strictly inside (t_on, t_off): mean, variance, skewness, kurtosis (population moments).
  const int64_t a = kHhOnIndex + 1, b = kHhOffIndex;  // [a, b)
  const double count = static_cast<double>(b - a);
  double mean = 0.0;
  for (int64_t i = a; i < b; ++i) mean += v[static_cast<size_t>(i)];
  mean /= count;
  double m2 = 0.0, m3 = 0.0, m4 = 0.0;
  for (int64_t i = a; i < b; ++i) {
    const double d = v[static_cast<size_t>(i)] - mean, d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  m2 /= count;
  m3 /= count;
  m4 /= count;
  f[0] = static_cast<double>(spikes);
  f[1] = rest;
  f[2] = std::sqrt(rest_var);
  f[3] = mean;
  f[4] = m2;
  f[5] = m3 / (m2 * std::sqrt(m2));
  f[6] = m4 / (m2 * m2);
  for (int64_t k = 0; k < kHhFeatures; ++k)
    if (!std::isfinite(f[k])) return false;
  return true;
}

Task make_hh_ace() {
  Task t;
  t.name = "hh_ace";
  t.description = "ACE: Hodgkin-Huxley neuron (Na, K, leak, M), 8 parameters, 7 summary features";
  t.prior = make_box_uniform({0.5, 1e-4, 1e-4, 1e-4, 50.0, 40.0, 1e-4, 35.0},
                             {80.0, 15.0, 0.6, 0.6, 3000.0, 90.0, 0.15, 100.0});
  t.simulator = std::make_unique<HhAceSimulator>();
  t.theta_labels = {"g_Na", "g_K", "g_leak", "g_M", "tau_max", "minus_V_T", "noise_std", "minus_E_leak"};
  t.distance = "zmae";
  t.misspecification = Misspecification::none;
  return t;
}

}  // namespace simbi::sim::tasks
