#include "simbi/sim/observations.hpp"

#include <algorithm>
#include <cmath>

#include "simbi/core/error.hpp"

namespace simbi::sim {

namespace {

// Stream indices within StreamPurpose::observation.
constexpr uint64_t kThetaStream = 0, kXStream = 1, kBoxThetaStream = 2, kBoxXStream = 3, kWalkStream = 4;

bool finite_row(const float* r, int64_t n) {
  for (int64_t k = 0; k < n; ++k)
    if (!std::isfinite(r[k])) return false;
  return true;
}

// `count` prior-predictive rows with a finite x, from the rows 0, 1, 2, ... of the streams; a failed
// simulation is skipped (the next row index is used), up to a bound.
Observations draw(Task& task, Simulator& simulator, int64_t count, uint64_t seed, uint64_t theta_stream,
                  uint64_t x_stream) {
  const int64_t dt = task.theta_dim(), dx = task.x_dim();
  Observations o;
  o.theta = Matrix(count, dt);
  o.x = Matrix(count, dx);
  const RandomStream theta_base(seed, StreamPurpose::observation, theta_stream);
  const RandomStream x_base(seed, StreamPurpose::observation, x_stream);
  const int64_t max_rows = 100 * count + 1000;
  int64_t have = 0, next = 0;
  while (have < count) {
    require(next < max_rows, ErrorKind::numeric,
            "task " + task.name + ": only " + std::to_string(have) + " of " + std::to_string(next) +
                " prior-predictive simulations succeeded (the rest returned NaN)");
    const int64_t batch = std::min<int64_t>(std::max<int64_t>(2 * (count - have), 64), max_rows - next);
    Matrix th(batch, dt), x(batch, dx);
    task.prior->sample(th, RowStreams{theta_base, next});
    simulator.simulate(th, x, RowStreams{x_base, next});
    for (int64_t i = 0; i < batch && have < count; ++i) {
      if (!finite_row(x.row(i), dx)) {
        ++o.failed_draws;
        continue;
      }
      std::copy(th.row(i), th.row(i) + dt, o.theta.row(have));
      std::copy(x.row(i), x.row(i) + dx, o.x.row(have));
      ++have;
    }
    next += batch;
  }
  return o;
}

}  // namespace

ObservationKind parse_observation_kind(const std::string& text) {
  if (text == "specified") return ObservationKind::specified;
  if (text == "misspecified") return ObservationKind::misspecified;
  throw Error(ErrorKind::invalid_argument,
              "--kind: unknown kind of observation '" + text + "' (expected specified or misspecified)");
}

const char* to_string(ObservationKind kind) {
  return kind == ObservationKind::specified ? "specified" : "misspecified";
}

bool inside_box(const float* x, const std::vector<double>& box_min, const std::vector<double>& box_max) {
  for (size_t d = 0; d < box_min.size(); ++d)
    if (!(x[d] >= box_min[d] && x[d] <= box_max[d])) return false;
  return true;
}

Observations make_observations(Task& task, ObservationKind kind, const ObserveOptions& opt) {
  require(opt.count > 0, ErrorKind::invalid_argument,
          "--count must be a positive number of observations, got " + std::to_string(opt.count));
  if (kind == ObservationKind::specified)
    return draw(task, *task.simulator, opt.count, opt.seed, kThetaStream, kXStream);

  if (task.misspecification == Misspecification::none) {
    std::string with;
    for (const auto& info : builtin_tasks()) {
      const Task t = info.make();
      if (t.misspecification != Misspecification::none) with += (with.empty() ? "" : ", ") + t.name;
    }
    throw Error(ErrorKind::invalid_argument,
                "task '" + task.name + "' has no recipe for misspecified observations (tasks with one: " + with + ")");
  }
  if (task.misspecification == Misspecification::simulator) {
    require(task.misspecified_simulator != nullptr, ErrorKind::internal,
            "task " + task.name + ": misspecified simulator missing");
    return draw(task, *task.misspecified_simulator, opt.count, opt.seed, kThetaStream, kXStream);
  }

  // The box walk: per-dimension min, max and std of box_simulations prior-predictive x ...
  require(opt.box_simulations >= 2 && opt.max_steps > 0 && opt.step_std > 0.0, ErrorKind::invalid_argument,
          "misspecified observations: need at least 2 box simulations, a positive step count and step size");
  const int64_t dx = task.x_dim();
  Observations box = draw(task, *task.simulator, opt.box_simulations, opt.seed, kBoxThetaStream, kBoxXStream);
  std::vector<double> lo(static_cast<size_t>(dx), INFINITY), hi(static_cast<size_t>(dx), -INFINITY);
  std::vector<double> mean(static_cast<size_t>(dx), 0.0), var(static_cast<size_t>(dx), 0.0);
  const int64_t n = box.x.rows();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < dx; ++d) {
      const double v = box.x(i, d);
      const size_t k = static_cast<size_t>(d);
      lo[k] = std::min(lo[k], v);
      hi[k] = std::max(hi[k], v);
      mean[k] += v;
    }
  for (double& m : mean) m /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < dx; ++d) {
      const double e = box.x(i, d) - mean[static_cast<size_t>(d)];
      var[static_cast<size_t>(d)] += e * e;
    }
  std::vector<double> sd(static_cast<size_t>(dx));
  for (size_t k = 0; k < sd.size(); ++k) sd[k] = std::sqrt(var[k] / static_cast<double>(n - 1));

  // ... then, from `count` fresh prior-predictive x, every point still inside the box moves by
  // ±step_std·std_d in every dimension (independent random signs) until a coordinate is outside.
  Observations o = draw(task, *task.simulator, opt.count, opt.seed, kThetaStream, kXStream);
  o.failed_draws += box.failed_draws;
  const RandomStream walk_base(opt.seed, StreamPurpose::observation, kWalkStream);
  for (int64_t i = 0; i < opt.count; ++i) {
    RandomStream rng = walk_base.substream(static_cast<uint64_t>(i));
    float* x = o.x.row(i);
    int64_t steps = 0;
    while (inside_box(x, lo, hi)) {
      require(steps < opt.max_steps, ErrorKind::numeric,
              "misspecified observation " + std::to_string(i + 1) + " of " + task.name +
                  " is still inside the prior-predictive box after " + std::to_string(opt.max_steps) + " steps");
      for (int64_t d = 0; d < dx; ++d) {
        const double step = (rng.uniform() < 0.5 ? -opt.step_std : opt.step_std) * sd[static_cast<size_t>(d)];
        x[d] = static_cast<float>(x[d] + step);
      }
      ++steps;
    }
    o.max_walk_steps = std::max(o.max_walk_steps, steps);
  }
  o.box_min = std::move(lo);
  o.box_max = std::move(hi);
  o.box_std = std::move(sd);
  o.box_rows = n;
  return o;
}

}  // namespace simbi::sim
