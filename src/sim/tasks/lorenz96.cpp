// lorenz96, lorenz96_x, lorenz96_stats: the two-scale Lorenz 96 system of Embed and Emulate
// (docs/lorenz96.md). θ = (F, h, c, b), uniform box; K = 36 slow X_k, J = 10 fast Y_{j,k}.
// RK4 with a step set every 0.1 time units from a bound on the Jacobian; random initial state from the
// simulation stream; 20 time units of burn-in, then samples every 0.1. A trajectory that blows up,
// stops being finite or freezes is a failed simulation (NaN row, status 2 in the store).
// Contract: stateless simulators; the stats variant keeps one thread_local trajectory buffer.
#include "lorenz96.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "builtin_tasks.hpp"

namespace simbi::sim::tasks {

namespace l96 {

void rhs(const Params& p, const double* s, double* ds) {
  // Padded copies, so that the loops below need no index wrapping: X with two ghosts before and one
  // after (X_{k−2}, X_{k−1}, X_{k+1}); the ring with one before and two after (Y_{n−1}, Y_{n+1}, Y_{n+2}).
  double xp[kK + 3], yp[kNy + 3];
  const double* X = s;
  const double* Y = s + kK;
  xp[0] = X[kK - 2];
  xp[1] = X[kK - 1];
  std::copy(X, X + kK, xp + 2);
  xp[kK + 2] = X[0];
  yp[0] = Y[kNy - 1];
  std::copy(Y, Y + kNy, yp + 1);
  yp[kNy + 1] = Y[0];
  yp[kNy + 2] = Y[1];
  const double* x = xp + 2;  // x[k] = X_k for k in [−2, K]
  const double* y = yp + 1;  // y[n] = Y_n for n in [−1, Ny + 1]

  // h·c·Ȳ_k = (h·c/J)·Σ_j Y_{j,k}. Every product below changes sign exactly when (h, b, Y) do, so the
  // symmetry (h, b, Y) → (−h, −b, −Y) leaves X bit-for-bit unchanged.
  const double hc_over_j = p.h * p.c / kJ, cb = p.c * p.b, ch_over_j = p.c * p.h / kJ;
  for (int k = 0; k < kK; ++k) {
    double ysum = 0.0;
    for (int j = 0; j < kJ; ++j) ysum += y[k * kJ + j];
    ds[k] = -x[k - 1] * (x[k - 2] - x[k + 1]) - x[k] + p.F - hc_over_j * ysum;
  }
  double* dy = ds + kK;
  for (int k = 0; k < kK; ++k) {
    const double forcing = ch_over_j * x[k];
    for (int n = k * kJ; n < (k + 1) * kJ; ++n) dy[n] = -cb * y[n + 1] * (y[n + 2] - y[n - 1]) - p.c * y[n] + forcing;
  }
}

void rk4_steps(const Params& p, State& s, double dt, int64_t n, Rk4Work& w) {
  const double half = 0.5 * dt, sixth = dt / 6.0;
  for (int64_t step = 0; step < n; ++step) {
    rhs(p, s.data(), w.k1.data());
    for (int i = 0; i < kState; ++i) w.stage[i] = s[i] + half * w.k1[i];
    rhs(p, w.stage.data(), w.k2.data());
    for (int i = 0; i < kState; ++i) w.stage[i] = s[i] + half * w.k2[i];
    rhs(p, w.stage.data(), w.k3.data());
    for (int i = 0; i < kState; ++i) w.stage[i] = s[i] + dt * w.k3[i];
    rhs(p, w.stage.data(), w.k4.data());
    for (int i = 0; i < kState; ++i) s[i] += sixth * (w.k1[i] + 2.0 * (w.k2[i] + w.k3[i]) + w.k4[i]);
  }
}

double jacobian_bound(const Params& p, const State& s) {
  double max_x = 0.0, max_y = 0.0;
  for (int i = 0; i < kK; ++i) max_x = std::max(max_x, std::fabs(s[i]));
  for (int i = kK; i < kState; ++i) max_y = std::max(max_y, std::fabs(s[i]));
  // Row sums of |∂f/∂s|. Slow row k: |X_{k−2} − X_{k+1}| + |X_{k−1}| (twice) + 1, and J coupling entries
  // |h|c/J. Fast row n: c·(|b|·(|Y_{n+2} − Y_{n−1}| + 2|Y_{n+1}|) + 1 + |h|/J).
  const double slow = 1.0 + 4.0 * max_x + std::fabs(p.h) * p.c;
  const double fast = p.c * (1.0 + 4.0 * std::fabs(p.b) * max_y + std::fabs(p.h) / kJ);
  return std::max(slow, fast);
}

double energy(const State& s) {
  double e = 0.0;
  for (double v : s) e += v * v;
  return 0.5 * e;
}

double energy_bound(const Params& p, double e0) {
  // dE/dt = −ΣX² + F·ΣX − c·ΣY² <= −ΣX²/2 − c·ΣY² + K·F²/2 <= −λ·E + K·F²/2 with λ = min(1, 2c), so E
  // never exceeds max(E(0), K·F²/(2λ)).
  const double lambda = std::min(1.0, 2.0 * p.c);
  return std::max(e0, kK * p.F * p.F / (2.0 * lambda));
}

int64_t substeps(const Params& p, const State& s, const Controls& ctl) {
  // 1e-9 absorbs the rounding of kSampleEvery / dt_max (0.1 / 0.01 is not exactly 10 in binary).
  const double by_accuracy = std::ceil(kSampleEvery / ctl.dt_max - 1e-9);
  const double by_stability = std::ceil(kSampleEvery * jacobian_bound(p, s) / ctl.kappa - 1e-9);
  const double n = std::max({1.0, by_accuracy, by_stability});
  if (!(n <= static_cast<double>(ctl.max_substeps))) return -1;  // also NaN
  return static_cast<int64_t>(n);
}

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::ok:
      return "ok";
    case Outcome::bad_theta:
      return "bad_theta";
    case Outcome::non_finite:
      return "non_finite";
    case Outcome::blow_up:
      return "blow_up";
    case Outcome::stiff:
      return "stiff";
    case Outcome::frozen:
      return "frozen";
  }
  return "unknown";
}

Outcome trajectory(const Params& p, State& s, double burn_in, int64_t samples, Record record, float* out,
                   const Controls& ctl) {
  if (!(std::isfinite(p.F) && std::isfinite(p.h) && std::isfinite(p.c) && std::isfinite(p.b) && p.c > 0.0))
    return Outcome::bad_theta;
  const double e0 = energy(s);
  if (!std::isfinite(e0)) return Outcome::non_finite;
  const double limit = kBlowUpFactor * energy_bound(p, e0) + 1.0;

  Rk4Work work;
  auto advance = [&]() {  // one sample interval
    const int64_t n = substeps(p, s, ctl);
    if (n < 0) return Outcome::stiff;
    rk4_steps(p, s, kSampleEvery / static_cast<double>(n), n, work);
    const double e = energy(s);  // NaN or inf in any variable makes e non-finite
    if (!std::isfinite(e)) return Outcome::non_finite;
    return e > limit ? Outcome::blow_up : Outcome::ok;
  };

  const int64_t burn_intervals = std::llround(burn_in / kSampleEvery);
  for (int64_t i = 0; i < burn_intervals; ++i)
    if (const Outcome o = advance(); o != Outcome::ok) return o;

  // Welford mean and M2 per variable over the last half of the samples (the frozen rule).
  const int64_t frozen_from = samples - samples / 2;
  std::array<double, kState> mean{}, m2{};
  const int n_channels = channels(record);
  for (int64_t i = 0; i < samples; ++i) {
    if (i > 0)
      if (const Outcome o = advance(); o != Outcome::ok) return o;
    for (int ch = 0; ch < n_channels; ++ch) out[ch * samples + i] = static_cast<float>(s[ch]);
    if (i >= frozen_from) {
      const double count = static_cast<double>(i - frozen_from + 1);
      for (int v = 0; v < kState; ++v) {
        const double d = s[v] - mean[v];
        mean[v] += d / count;
        m2[v] += d * (s[v] - mean[v]);
      }
    }
  }
  const int64_t counted = samples / 2;
  if (counted > 0) {
    double max_var = 0.0;
    for (int v = 0; v < kState; ++v) max_var = std::max(max_var, m2[v] / static_cast<double>(counted));
    if (std::sqrt(max_var) < kFrozenStd) return Outcome::frozen;
  }
  return Outcome::ok;
}

void initial_state(RandomStream& rng, State& s) {
  for (int i = 0; i < kK; ++i) s[i] = rng.normal();
  for (int i = kK; i < kState; ++i) s[i] = 0.1 * rng.normal();
}

// ---- summary statistics ----

namespace {

// `rows` series of length t_len, row-major, of float (the trajectory) or double (Ȳ).
template <class V>
struct Block {
  const V* data;
  int64_t rows, t_len;
  double at(int64_t r, int64_t t) const { return static_cast<double>(data[r * t_len + t]); }
};

struct Moments {
  double mean = 0.0, var = 0.0, skew = 0.0, kurt = 0.0;  // skewness and kurtosis: standardized 3rd, 4th
};

// Pooled over rows and time (the system is invariant under shifts of k).
template <class V>
Moments moments(const Block<V>& b) {
  const double n = static_cast<double>(b.rows * b.t_len);
  double sum = 0.0;
  for (int64_t r = 0; r < b.rows; ++r)
    for (int64_t t = 0; t < b.t_len; ++t) sum += b.at(r, t);
  Moments m;
  m.mean = sum / n;
  double m2 = 0.0, m3 = 0.0, m4 = 0.0;
  for (int64_t r = 0; r < b.rows; ++r)
    for (int64_t t = 0; t < b.t_len; ++t) {
      const double d = b.at(r, t) - m.mean, d2 = d * d;
      m2 += d2;
      m3 += d2 * d;
      m4 += d2 * d2;
    }
  m.var = m2 / n;
  m.skew = m.var > 0.0 ? (m3 / n) / (m.var * std::sqrt(m.var)) : 0.0;
  m.kurt = m.var > 0.0 ? (m4 / n) / (m.var * m.var) : 0.0;
  return m;
}

// Mean over r, t of (a_r(t) − ma)·(b_{(r+shift) mod rows}(t + lag) − mb), t over the T − lag pairs
// (lag >= 0: b later than a), divided by sqrt(va·vb); 0 when either variance is 0.
template <class A, class B>
double correlation(const Block<A>& a, const Moments& ma, const Block<B>& b, const Moments& mb, int64_t shift,
                   int64_t lag) {
  if (!(ma.var > 0.0 && mb.var > 0.0) || lag >= a.t_len) return 0.0;
  double sum = 0.0;
  for (int64_t r = 0; r < a.rows; ++r) {
    const int64_t rb = (r + shift) % a.rows;
    for (int64_t t = 0; t + lag < a.t_len; ++t) sum += (a.at(r, t) - ma.mean) * (b.at(rb, t + lag) - mb.mean);
  }
  return sum / static_cast<double>(a.rows * (a.t_len - lag)) / std::sqrt(ma.var * mb.var);
}

}  // namespace

const std::vector<std::string>& stat_names() {
  static const std::vector<std::string> names = {
      "X_mean",     "X_var",      "X_skew",       "X_kurt",          "X_acf_1",       "X_acf_2",  "X_acf_3",
      "X_acf_5",    "X_acf_10",   "X_space_1",    "X_space_2",       "X_space_3",     "Ybar_var", "Ybar_acf_1",
      "Ybar_acf_2", "Ybar_acf_5", "Ybar_space_1", "Y_mean",          "Y_var",         "Y_skew",   "Y_acf_1",
      "Y_ring_1",   "Y_ring_2",   "XYbar_corr",   "XYbar_corr_lead", "XYbar_corr_lag"};
  return names;
}

void summary_stats(const float* traj, int64_t samples, double* out) {
  const Block<float> x{traj, kK, samples};
  const Block<float> y{traj + static_cast<int64_t>(kK) * samples, kNy, samples};
  thread_local std::vector<double> ybar_buf;
  ybar_buf.assign(static_cast<size_t>(kK * samples), 0.0);
  for (int k = 0; k < kK; ++k)
    for (int j = 0; j < kJ; ++j)
      for (int64_t t = 0; t < samples; ++t) ybar_buf[static_cast<size_t>(k * samples + t)] += y.at(k * kJ + j, t);
  for (double& v : ybar_buf) v /= kJ;
  const Block<double> ybar{ybar_buf.data(), kK, samples};

  // The pooled mean of Ȳ is the mean of Y, so Ȳ contributes its spread and correlations only.
  const Moments mx = moments(x), mybar = moments(ybar), my = moments(y);
  int i = 0;
  out[i++] = mx.mean;
  out[i++] = mx.var;
  out[i++] = mx.skew;
  out[i++] = mx.kurt;
  for (int64_t lag : {1, 2, 3, 5, 10}) out[i++] = correlation(x, mx, x, mx, 0, lag);
  for (int64_t shift : {1, 2, 3}) out[i++] = correlation(x, mx, x, mx, shift, 0);
  out[i++] = mybar.var;
  for (int64_t lag : {1, 2, 5}) out[i++] = correlation(ybar, mybar, ybar, mybar, 0, lag);
  out[i++] = correlation(ybar, mybar, ybar, mybar, 1, 0);
  out[i++] = my.mean;
  out[i++] = my.var;
  out[i++] = my.skew;
  out[i++] = correlation(y, my, y, my, 0, 1);
  for (int64_t shift : {1, 2}) out[i++] = correlation(y, my, y, my, shift, 0);
  out[i++] = correlation(x, mx, ybar, mybar, 0, 0);
  out[i++] = correlation(x, mx, ybar, mybar, 0, 1);  // Ȳ_k one sample after X_k
  out[i++] = correlation(ybar, mybar, x, mx, 0, 1);  // X_k one sample after Ȳ_k
}

}  // namespace l96

namespace {

using namespace l96;

constexpr double kBurnIn = 20.0;  // time units before the first sample

enum class Output { full, x_only, stats };

class Lorenz96Simulator final : public RowwiseSimulator {
 public:
  Lorenz96Simulator(Output output, int64_t samples) : output_(output), samples_(samples) {}
  int64_t theta_dim() const override { return 4; }
  int64_t x_dim() const override {
    switch (output_) {
      case Output::full:
        return kState * samples_;
      case Output::x_only:
        return kK * samples_;
      case Output::stats:
        break;
    }
    return kNumStats;
  }

 protected:
  bool simulate_row(const float* theta, float* x, RandomStream& rng) const override {
    const Params p{theta[0], theta[1], theta[2], theta[3]};
    State s;
    initial_state(rng, s);
    if (output_ != Output::stats)
      return trajectory(p, s, kBurnIn, samples_, output_ == Output::full ? Record::all : Record::x_only, x) ==
             Outcome::ok;
    thread_local std::vector<float> traj;  // 1.6 MB at 1000 samples, reused by every row of the thread
    traj.resize(static_cast<size_t>(kState * samples_));
    if (trajectory(p, s, kBurnIn, samples_, Record::all, traj.data()) != Outcome::ok) return false;
    double stats[kNumStats];
    summary_stats(traj.data(), samples_, stats);
    for (int i = 0; i < kNumStats; ++i) {
      x[i] = static_cast<float>(stats[i]);
      if (!std::isfinite(x[i])) return false;
    }
    return true;
  }

 private:
  Output output_;
  int64_t samples_;
};

Task make_lorenz96_task(const char* name, const std::string& description, Output output, int64_t samples) {
  Task t;
  t.name = name;
  t.description = description;
  // F ∈ [−2, 20], h ∈ [−3, 3], c ∈ [0.1, 20], b ∈ [0, 20]: the authors' training box.
  t.prior = make_box_uniform({-2.0, -3.0, 0.1, 0.0}, {20.0, 3.0, 20.0, 20.0});
  t.simulator = std::make_unique<Lorenz96Simulator>(output, samples);
  t.theta_labels = {"F", "h", "c", "b"};
  if (output == Output::full) t.x_shape = {kState, samples};
  if (output == Output::x_only) t.x_shape = {kK, samples};
  return t;
}

}  // namespace

Task make_lorenz96() {
  return make_lorenz96_task("lorenz96",
                            "Lorenz 96 two-scale (E&E): x = [396 channels (X_1..36, Y ring), 1000 times] "
                            "row-major, sampled every 0.1",
                            Output::full, 1000);
}

Task make_lorenz96_x() {
  return make_lorenz96_task("lorenz96_x",
                            "Lorenz 96 two-scale, X only: x = [36 channels, 100 times] row-major, every 0.1",
                            Output::x_only, 100);
}

Task make_lorenz96_short() {
  return make_lorenz96_task("lorenz96_short",
                            "Lorenz 96 two-scale, full state over 100 samples: x = [396 channels, 100 times] "
                            "row-major, every 0.1",
                            Output::full, 100);
}

Task make_lorenz96_stats() {
  return make_lorenz96_task("lorenz96_stats",
                            "Lorenz 96 two-scale: 26 summary statistics of X, Ybar, Y over 1000 samples", Output::stats,
                            1000);
}

}  // namespace simbi::sim::tasks
