// Adaptive explicit ODE solver for small fixed-size systems (the ODE tasks: sir, lotka_volterra).
// Contract: header-only, stateless free functions; reentrant and thread-safe (no heap, no globals).
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "simbi/core/error.hpp"

namespace simbi::sim {

// How a solve ended. Anything but `success` means the solution is unusable: the simulator then writes
// a NaN row (sbibm's semantics for a Julia solve that did not return every saved point).
enum class OdeStatus {
  success,
  max_steps,       // more step attempts than OdeOptions::max_steps (Julia: maxiters, default 1e5)
  step_underflow,  // the controller asked for a step below the resolution of t (Julia: dt <= dtmin)
  non_finite,      // the initial state or an accepted state is NaN/inf (Julia: unstable_check)
};

inline const char* to_string(OdeStatus s) {
  switch (s) {
    case OdeStatus::success:
      return "success";
    case OdeStatus::max_steps:
      return "max_steps";
    case OdeStatus::step_underflow:
      return "step_underflow";
    case OdeStatus::non_finite:
      return "non_finite";
  }
  return "unknown";
}

struct OdeOptions {
  double rtol = 1e-8;
  double atol = 1e-8;
  int64_t max_steps = 100000;  // step attempts, accepted and rejected together (as Julia counts iters)
  double initial_step = 0.0;   // 0: automatic (Hairer's starting-step heuristic)
  double max_step = 0.0;       // 0: the whole span t_end - t0
};

struct OdeResult {
  OdeStatus status = OdeStatus::success;
  int64_t accepted = 0;
  int64_t rejected = 0;
  int64_t rhs_evals = 0;
  double t_reached = 0.0;  // the last accepted time (t_end on success)
  bool ok() const { return status == OdeStatus::success; }
};

namespace ode_detail {

// Dormand & Prince (1980) RK5(4)7FM, the coefficients of Hairer's DOPRI5.
constexpr double c2 = 1.0 / 5, c3 = 3.0 / 10, c4 = 4.0 / 5, c5 = 8.0 / 9;
constexpr double a21 = 1.0 / 5;
constexpr double a31 = 3.0 / 40, a32 = 9.0 / 40;
constexpr double a41 = 44.0 / 45, a42 = -56.0 / 15, a43 = 32.0 / 9;
constexpr double a51 = 19372.0 / 6561, a52 = -25360.0 / 2187, a53 = 64448.0 / 6561, a54 = -212.0 / 729;
constexpr double a61 = 9017.0 / 3168, a62 = -355.0 / 33, a63 = 46732.0 / 5247, a64 = 49.0 / 176, a65 = -5103.0 / 18656;
constexpr double a71 = 35.0 / 384, a73 = 500.0 / 1113, a74 = 125.0 / 192, a75 = -2187.0 / 6784, a76 = 11.0 / 84;
// Error weights: 5th-order solution minus the embedded 4th-order one.
constexpr double e1 = 71.0 / 57600, e3 = -71.0 / 16695, e4 = 71.0 / 1920, e5 = -17253.0 / 339200, e6 = 22.0 / 525,
                 e7 = -1.0 / 40;

// PI step-size control as in DOPRI5: h_new = h · safety · err^-(0.2 - 0.75 β) · err_prev^β.
constexpr double kSafety = 0.9, kBeta = 0.04, kExpo1 = 0.2 - 0.75 * kBeta;
constexpr double kFacMin = 0.2, kFacMax = 10.0;  // bounds of h_new / h

}  // namespace ode_detail

// Integrates dy/dt = f(t, y) from t0 to t_end (forward, t_end >= t0) with Dormand–Prince 5(4) and
// PI step-size control, and writes the state at the n_out requested times t_out (non-decreasing,
// within [t0, t_end]) into y_out[0..n_out). f is called as f(t, y, dydt) with
// `const std::array<double, N>& y` and `std::array<double, N>& dydt`.
//
// Output times: the solver steps exactly onto every requested time (a step that would pass one is
// shortened to end on it) instead of interpolating; that costs at most one extra step per output time
// for the ten-point outputs of the tasks, and keeps the outputs at the full accuracy of the method.
// After such a shortened step the controller resumes with the step size it had proposed before, so
// output times do not slow the integration down.
//
// The integration always runs to t_end, even past the last output time, so that a failure late in the
// span is reported as it is in sbibm (Julia's solve fails as a whole). A failure never throws: it is
// returned in OdeResult::status, and y_out is then only partially written. Malformed output times are
// a programming error and throw simbi::Error(invalid_argument).
template <std::size_t N, class Rhs>
OdeResult solve_ode(Rhs&& f, const std::array<double, N>& y0, double t0, double t_end, const double* t_out,
                    std::size_t n_out, std::array<double, N>* y_out, const OdeOptions& opt = {}) {
  using namespace ode_detail;
  using State = std::array<double, N>;
  static_assert(N > 0, "solve_ode: the state needs at least one component");

  // Checks of the call itself (not of θ); the messages are only built when a check fails.
  if (!(std::isfinite(t0) && std::isfinite(t_end) && t_end >= t0))
    throw Error(ErrorKind::invalid_argument, "solve_ode: need finite t0 <= t_end, got t0=" + std::to_string(t0) +
                                                 ", t_end=" + std::to_string(t_end));
  for (std::size_t i = 0; i < n_out; ++i)
    if (!(t_out[i] >= t0 && t_out[i] <= t_end && (i == 0 || t_out[i] >= t_out[i - 1])))
      throw Error(ErrorKind::invalid_argument,
                  "solve_ode: output times must be non-decreasing and within [t0, t_end]; t_out[" + std::to_string(i) +
                      "]=" + std::to_string(t_out[i]));
  if (!(opt.rtol >= 0.0 && opt.atol >= 0.0 && opt.rtol + opt.atol > 0.0))
    throw Error(ErrorKind::invalid_argument, "solve_ode: rtol and atol must be >= 0 and not both 0");

  OdeResult res;
  res.t_reached = t0;
  double t = t0;
  State y = y0;
  for (std::size_t i = 0; i < N; ++i)
    if (!std::isfinite(y[i])) {
      res.status = OdeStatus::non_finite;
      return res;
    }

  std::size_t next_out = 0;
  while (next_out < n_out && t_out[next_out] == t) y_out[next_out++] = y;
  if (t_end == t0) return res;

  const double rtol = opt.rtol, atol = opt.atol;
  const double hmax = opt.max_step > 0.0 ? std::min(opt.max_step, t_end - t0) : t_end - t0;
  constexpr double kEps = std::numeric_limits<double>::epsilon();
  constexpr double kInvN = 1.0 / static_cast<double>(N);

  State k1, k2, k3, k4, k5, k6, k7, ys;
  f(t, y, k1);
  res.rhs_evals = 1;

  // Starting step (Hairer, Nørsett & Wanner, Solving ODEs I, II.4).
  double h = opt.initial_step;
  if (!(h > 0.0)) {
    double dnf = 0.0, dny = 0.0;
    for (std::size_t i = 0; i < N; ++i) {
      const double sk = atol + rtol * std::fabs(y[i]);
      dnf += (k1[i] / sk) * (k1[i] / sk);
      dny += (y[i] / sk) * (y[i] / sk);
    }
    h = (dnf <= 1e-10 || dny <= 1e-10) ? 1e-6 : std::sqrt(dny / dnf) * 0.01;
    if (!std::isfinite(h)) h = 1e-6;
    h = std::min(h, hmax);
    for (std::size_t i = 0; i < N; ++i) ys[i] = y[i] + h * k1[i];
    f(t + h, ys, k2);
    ++res.rhs_evals;
    double der2 = 0.0;
    for (std::size_t i = 0; i < N; ++i) {
      const double sk = atol + rtol * std::fabs(y[i]);
      der2 += ((k2[i] - k1[i]) / sk) * ((k2[i] - k1[i]) / sk);
    }
    der2 = std::sqrt(der2) / h;
    const double der12 = std::max(std::fabs(der2), std::sqrt(dnf));
    double h1 = der12 <= 1e-15 ? std::max(1e-6, h * 1e-3) : std::pow(0.01 / der12, 0.2);
    if (!std::isfinite(h1)) h1 = h * 1e-3;
    h = std::min(std::min(100.0 * h, h1), hmax);
  }
  h = std::min(h, hmax);

  const double kLogErrFloor = std::log(1e-4);  // err_prev is at least 1e-4 (as in DOPRI5)
  double log_err_prev = kLogErrFloor;
  bool last_rejected = false;
  int64_t attempts = 0;
  while (t < t_end) {
    if (attempts >= opt.max_steps) {
      res.status = OdeStatus::max_steps;
      return res;
    }
    if (!(h > 16.0 * kEps * std::fabs(t)) || !(h > 0.0)) {
      res.status = OdeStatus::step_underflow;
      return res;
    }
    ++attempts;

    // Step onto the next output time (or t_end) when this step would reach or nearly reach it.
    const double stop = next_out < n_out ? t_out[next_out] : t_end;
    double hs = h;
    const bool lands = t + 1.01 * h >= stop;
    if (lands) hs = stop - t;
    const double tn = lands ? stop : t + hs;

    // Each stage is written as (terms of the earlier stages) + h·a·(the newest stage): the stages are a
    // chain of dependent evaluations, and this keeps only one multiply-add on the chain per stage.
    for (std::size_t i = 0; i < N; ++i) ys[i] = y[i] + (hs * a21) * k1[i];
    f(t + c2 * hs, ys, k2);
    for (std::size_t i = 0; i < N; ++i) ys[i] = (y[i] + hs * (a31 * k1[i])) + (hs * a32) * k2[i];
    f(t + c3 * hs, ys, k3);
    for (std::size_t i = 0; i < N; ++i) ys[i] = (y[i] + hs * (a41 * k1[i] + a42 * k2[i])) + (hs * a43) * k3[i];
    f(t + c4 * hs, ys, k4);
    for (std::size_t i = 0; i < N; ++i)
      ys[i] = (y[i] + hs * (a51 * k1[i] + a52 * k2[i] + a53 * k3[i])) + (hs * a54) * k4[i];
    f(t + c5 * hs, ys, k5);
    for (std::size_t i = 0; i < N; ++i)
      ys[i] = (y[i] + hs * (a61 * k1[i] + a62 * k2[i] + a63 * k3[i] + a64 * k4[i])) + (hs * a65) * k5[i];
    f(tn, ys, k6);
    State yn;
    for (std::size_t i = 0; i < N; ++i)
      yn[i] = (y[i] + hs * (a71 * k1[i] + a73 * k3[i] + a74 * k4[i] + a75 * k5[i])) + (hs * a76) * k6[i];
    f(tn, yn, k7);  // first stage of the next step (FSAL)
    res.rhs_evals += 6;

    // Squared RMS norm of the error, scaled by atol + rtol·max(|y|, |y_new|) (Hairer's and Julia's norm).
    double err2 = 0.0;
    for (std::size_t i = 0; i < N; ++i) {
      const double e = hs * (e1 * k1[i] + e3 * k3[i] + e4 * k4[i] + e5 * k5[i] + e6 * k6[i] + e7 * k7[i]);
      const double sc = atol + rtol * std::max(std::fabs(y[i]), std::fabs(yn[i]));
      err2 += (e / sc) * (e / sc);
    }
    err2 *= kInvN;

    if (!std::isfinite(err2)) {
      // Overflow inside the stages: reject and shrink as hard as the controller allows.
      ++res.rejected;
      last_rejected = true;
      h = hs * kFacMin;
      continue;
    }

    // The controller's powers of err as one log and one exp per step (pow is the costliest part of a
    // step for these small systems): log err = log(err²)/2.
    const double log_err = 0.5 * std::log(err2);
    if (err2 <= 1.0) {
      for (std::size_t i = 0; i < N; ++i)
        if (!std::isfinite(yn[i]) || !std::isfinite(k7[i])) {
          res.status = OdeStatus::non_finite;
          return res;
        }
      // fac = err^expo1 / err_prev^β, bounded so that h_new / h lies in [kFacMin, kFacMax].
      double fac = std::exp(kExpo1 * log_err - kBeta * log_err_prev);
      fac = std::max(1.0 / kFacMax, std::min(1.0 / kFacMin, fac / kSafety));
      double hnew = hs / fac;
      if (last_rejected) hnew = std::min(hnew, hs);
      // A step shortened to land on an output time: resume with the proposal made before shortening
      // unless the controller asks for less than the shortened step itself.
      if (lands && hs < h && hnew >= hs) hnew = std::max(hnew, h);
      log_err_prev = std::max(log_err, kLogErrFloor);
      ++res.accepted;
      last_rejected = false;
      t = tn;
      y = yn;
      k1 = k7;
      res.t_reached = t;
      // Normally only a landing step reaches an output time; `<=` also catches a step that rounds onto
      // one (h of a few ulps of t), so no output is ever skipped.
      while (next_out < n_out && t_out[next_out] <= t) y_out[next_out++] = y;
      h = std::min(hnew, hmax);
    } else {
      ++res.rejected;
      last_rejected = true;
      const double fac11 = std::exp(kExpo1 * log_err);
      h = hs / std::min(1.0 / kFacMin, fac11 / kSafety);
    }
  }
  return res;
}

// Convenience overload for a std::array of output times.
template <std::size_t N, std::size_t M, class Rhs>
OdeResult solve_ode(Rhs&& f, const std::array<double, N>& y0, double t0, double t_end,
                    const std::array<double, M>& t_out, std::array<std::array<double, N>, M>& y_out,
                    const OdeOptions& opt = {}) {
  return solve_ode<N>(std::forward<Rhs>(f), y0, t0, t_end, t_out.data(), M, y_out.data(), opt);
}

}  // namespace simbi::sim
