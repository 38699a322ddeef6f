#include "simbi/nn/ode_solvers.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>

#include "simbi/core/error.hpp"
#include "simbi/core/text.hpp"

namespace simbi::nn {

namespace {

// Dormand & Prince (1980) tableau: nodes c, stages a, 5th-order weights b (also the last stage's row,
// which makes the 7th stage the next step's first: FSAL) and the embedded 4th-order weights b4.
constexpr std::array<double, 7> kC{0.0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1.0, 1.0};
constexpr double kA[6][6] = {
    {1.0 / 5, 0, 0, 0, 0, 0},
    {3.0 / 40, 9.0 / 40, 0, 0, 0, 0},
    {44.0 / 45, -56.0 / 15, 32.0 / 9, 0, 0, 0},
    {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729, 0, 0},
    {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656, 0},
    {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84},
};
constexpr std::array<double, 7> kB{35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0};
constexpr std::array<double, 7> kB4{5179.0 / 57600, 0,       7571.0 / 16695, 393.0 / 640, -92097.0 / 339200,
                                    187.0 / 2100,   1.0 / 40};

constexpr double kSafety = 0.9, kMinFactor = 0.2, kMaxFactor = 10.0;

// Rows' scaled RMS norms, then the largest: one number that every row's error must respect.
double error_norm(const torch::Tensor& err, const torch::Tensor& scale) {
  const torch::Tensor ratio = (err / scale).reshape({err.size(0), -1});
  return ratio.pow(2).mean(1).sqrt().max().item<double>();
}

torch::Tensor tolerance_scale(const torch::Tensor& a, const torch::Tensor& b, double rtol, double atol) {
  return atol + rtol * torch::maximum(a.abs(), b.abs());
}

// Hairer, Nørsett & Wanner's starting step (Solving ODEs I, II.4): make the first Euler step's change
// about 1% of the state and respect the local error's h⁵ scaling. Returns a positive magnitude.
double initial_step(const OdeFunction& f, const torch::Tensor& y0, const torch::Tensor& f0, double t0, double dir,
                    double rtol, double atol, OdeStats& stats) {
  const torch::Tensor scale = tolerance_scale(y0, y0, rtol, atol);
  const double d0 = error_norm(y0, scale), d1 = error_norm(f0, scale);
  const double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
  const torch::Tensor f1 = f(t0 + dir * h0, y0 + (dir * h0) * f0);
  ++stats.evaluations;
  const double d2 = error_norm(f1 - f0, scale) / h0;
  const double dmax = std::max(d1, d2);
  const double h1 = dmax <= 1e-15 ? std::max(1e-6, h0 * 1e-3) : std::pow(0.01 / dmax, 1.0 / 5);
  return std::min(100 * h0, h1);
}

}  // namespace

void OdeSolverOptions::validate() const {
  require(solver == "rk4" || solver == "dopri5" || solver == "pc", ErrorKind::invalid_argument,
          "ODE solver option 'solver' must be rk4, dopri5 or pc, got '" + solver + "'");
  require(steps > 0, ErrorKind::invalid_argument,
          "ODE solver option 'steps' (RK4 or predictor steps from t = 0 to 1) must be positive, got " + std::to_string(steps));
  require(std::isfinite(rtol) && rtol > 0, ErrorKind::invalid_argument,
          "ODE solver option 'rtol' must be a positive number, got " + format_number(rtol));
  require(std::isfinite(atol) && atol > 0, ErrorKind::invalid_argument,
          "ODE solver option 'atol' must be a positive number, got " + format_number(atol));
  require(max_steps > 0, ErrorKind::invalid_argument,
          "ODE solver option 'max_steps' must be positive, got " + std::to_string(max_steps));
  require(corrector_steps >= 0, ErrorKind::invalid_argument,
          "ODE solver option 'corrector_steps' must be >= 0, got " + std::to_string(corrector_steps));
  require(std::isfinite(snr) && snr > 0, ErrorKind::invalid_argument,
          "ODE solver option 'snr' must be a positive number, got " + format_number(snr));
}

OdeSolverOptions OdeSolverOptions::from_json(const nlohmann::json& j, const OdeSolverOptions& defaults) {
  OdeSolverOptions o = defaults;
  o.solver = j.value("solver", o.solver);
  o.steps = j.value("steps", o.steps);
  o.rtol = j.value("rtol", o.rtol);
  o.atol = j.value("atol", o.atol);
  o.max_steps = j.value("max_steps", o.max_steps);
  o.corrector_steps = j.value("corrector_steps", o.corrector_steps);
  o.snr = j.value("snr", o.snr);
  o.validate();
  return o;
}

OdeSolverOptions OdeSolverOptions::from_json(const nlohmann::json& j) { return from_json(j, OdeSolverOptions{}); }

void OdeSolverOptions::to_json(nlohmann::json& j) const {
  j["solver"] = solver;
  j["steps"] = steps;
  j["rtol"] = rtol;
  j["atol"] = atol;
  j["max_steps"] = max_steps;
  if (solver != "pc") return;  // the corrector's options only where they apply
  j["corrector_steps"] = corrector_steps;
  j["snr"] = snr;
}

torch::Tensor integrate_rk4(const OdeFunction& f, const torch::Tensor& y0, double t0, double t1, int64_t steps,
                            OdeStats* stats) {
  require(steps > 0, ErrorKind::invalid_argument, "RK4: 'steps' must be positive, got " + std::to_string(steps));
  const double h = (t1 - t0) / static_cast<double>(steps);
  torch::Tensor y = y0;
  for (int64_t i = 0; i < steps; ++i) {
    const double t = t0 + static_cast<double>(i) * h;  // not accumulated: no drift over many steps
    const torch::Tensor k1 = f(t, y);
    const torch::Tensor k2 = f(t + 0.5 * h, y + (0.5 * h) * k1);
    const torch::Tensor k3 = f(t + 0.5 * h, y + (0.5 * h) * k2);
    const torch::Tensor k4 = f(t + h, y + h * k3);
    y = y + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
  }
  if (stats != nullptr) {
    stats->evaluations += 4 * steps;
    stats->accepted += steps;
  }
  return y;
}

torch::Tensor integrate_dopri5(const OdeFunction& f, const torch::Tensor& y0, double t0, double t1, double rtol,
                               double atol, int64_t max_steps, OdeStats* stats_out) {
  require(rtol > 0 && atol > 0 && max_steps > 0, ErrorKind::invalid_argument,
          "dopri5: rtol, atol and max_steps must be positive");
  OdeStats stats;
  torch::Tensor y = y0;
  if (t1 == t0) return y;
  const double dir = t1 > t0 ? 1.0 : -1.0, span = std::abs(t1 - t0);
  std::array<torch::Tensor, 7> k;
  k[0] = f(t0, y);
  ++stats.evaluations;
  double h = std::min(span, initial_step(f, y, k[0], t0, dir, rtol, atol, stats));
  double t = t0, done = 0.0;  // `done` = |t − t0|: compared with span, no sign juggling
  bool last_rejected = false;
  while (done < span) {
    require(stats.accepted + stats.rejected < max_steps, ErrorKind::numeric,
            "dopri5: more than max_steps = " + std::to_string(max_steps) + " steps from t = " + format_number(t0) +
                " to " + format_number(t1) + " (stuck at t = " + format_number(t) +
                "); raise max_steps or loosen rtol/atol");
    const bool final_step = h >= span - done;  // land exactly on t1, not one rounding error short
    if (final_step) h = span - done;
    const double hs = dir * h;
    // Stages 2..7; the 7th is evaluated at the 5th-order solution y_new (a's last row is b).
    torch::Tensor y_new;
    for (int s = 1; s < 7; ++s) {
      torch::Tensor inc = kA[s - 1][0] * k[0];
      for (int j = 1; j < s; ++j)
        if (kA[s - 1][j] != 0.0) inc = inc + kA[s - 1][j] * k[j];
      y_new = y + hs * inc;
      k[s] = f(t + kC[s] * hs, y_new);
    }
    stats.evaluations += 6;
    torch::Tensor err = (kB[0] - kB4[0]) * k[0];
    for (int j = 2; j < 7; ++j) err = err + (kB[j] - kB4[j]) * k[j];
    const double norm = error_norm(hs * err, tolerance_scale(y, y_new, rtol, atol));
    const bool ok = std::isfinite(norm) && norm <= 1.0;
    double factor = std::isfinite(norm) ? kSafety * std::pow(std::max(norm, 1e-10), -0.2) : kMinFactor;
    factor = std::clamp(factor, kMinFactor, (ok && !last_rejected) ? kMaxFactor : 1.0);
    if (ok) {
      y = y_new;
      k[0] = k[6];  // FSAL: the last stage is the next step's first
      done = final_step ? span : done + h;
      t = t0 + dir * done;
      ++stats.accepted;
    } else {
      ++stats.rejected;
    }
    last_rejected = !ok;
    h *= factor;
  }
  if (stats_out != nullptr) {
    stats_out->evaluations += stats.evaluations;
    stats_out->accepted += stats.accepted;
    stats_out->rejected += stats.rejected;
  }
  return y;
}

torch::Tensor integrate(const OdeFunction& f, const torch::Tensor& y0, double t0, double t1,
                        const OdeSolverOptions& options, OdeStats* stats) {
  options.validate();
  require(options.solver != "pc", ErrorKind::invalid_argument,
          "solver 'pc' samples a score model's reverse-time SDE; it does not integrate an ODE (use rk4 or dopri5)");
  if (options.solver == "rk4") return integrate_rk4(f, y0, t0, t1, options.steps, stats);
  return integrate_dopri5(f, y0, t0, t1, options.rtol, options.atol, options.max_steps, stats);
}

}  // namespace simbi::nn
