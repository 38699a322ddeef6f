// lorenz96 internals (docs/lorenz96.md), exposed for tests: the two-scale Lorenz 96
// right-hand side, fixed-step RK4, the step-size rule, trajectories with their failure rules, and the
// summary statistics. Private to src/sim. Contract: pure functions; no heap in the integration loop
// (the caller owns every buffer); reentrant and thread-safe.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "simbi/core/random.hpp"

namespace simbi::sim::tasks::l96 {

constexpr int kK = 36;                // slow variables X_k
constexpr int kJ = 10;                // fast variables per slow one
constexpr int kNy = kK * kJ;          // the fast ring Y_{j,k} at index k·J + j
constexpr int kState = kK + kNy;      // 396: X_0..X_35, then the ring
constexpr double kSampleEvery = 0.1;  // time between recorded samples (and between step-size updates)

// θ = (F, h, c, b).
struct Params {
  double F = 10.0, h = 1.0, c = 10.0, b = 10.0;
};

using State = std::array<double, kState>;

// dstate/dt at s (docs/lorenz96.md): dX_k = −X_{k−1}(X_{k−2} − X_{k+1}) − X_k + F − h·c·Ȳ_k,
// dY_n = c·(−b·Y_{n+1}(Y_{n+2} − Y_{n−1}) − Y_n + (h/J)·X_{n/J}), periodic in k and along the ring.
void rhs(const Params& p, const double* s, double* ds);

// Scratch of one RK4 step (the four slopes and a stage state).
struct Rk4Work {
  State k1, k2, k3, k4, stage;
};
// n classical RK4 steps of size dt, in place.
void rk4_steps(const Params& p, State& s, double dt, int64_t n, Rk4Work& w);

// Upper bound on the spectral radius of the Jacobian of rhs at s (Gershgorin's row sums, with the
// state's largest |X| and |Y|). The step rule keeps dt·bound <= kappa.
double jacobian_bound(const Params& p, const State& s);
// E = (ΣX² + ΣY²)/2. The coupling and advection terms conserve it: dE/dt = −ΣX² + F·ΣX − c·ΣY².
double energy(const State& s);
// What the exact solution can never exceed from E(0) = e0: max(e0, K·F²/(2·min(1, 2c))).
double energy_bound(const Params& p, double e0);

// Step-size control, fixed for the task (tests change it to provoke failures).
struct Controls {
  double kappa = 1.0;            // dt·jacobian_bound <= kappa (RK4 is stable up to ~2.8 on both axes)
  double dt_max = 0.01;          // accuracy cap when the state is slow
  int64_t max_substeps = 20000;  // per sample interval (dt >= 5e-6); more is a failure ("stiff")
};
// RK4 steps over the next sample interval from state s under the controls (-1 when over the cap).
int64_t substeps(const Params& p, const State& s, const Controls& ctl);

// How a trajectory ended. Everything but `ok` is a failed simulation (a NaN row in the store).
enum class Outcome { ok, bad_theta, non_finite, blow_up, stiff, frozen };
const char* to_string(Outcome o);

// Frozen: every one of the 396 variables has a (population) standard deviation below this over the
// last half of the recorded samples.
constexpr double kFrozenStd = 5e-5;
// A state whose energy exceeds kBlowUpFactor·energy_bound (+1) left the exact solution's bounded set:
// the integration went unstable.
constexpr double kBlowUpFactor = 10.0;

// Which variables a trajectory records, as channels of a row-major [channels, samples] float block.
enum class Record { all, x_only };
constexpr int channels(Record r) { return r == Record::all ? kState : kK; }

// Integrates from s (overwritten with the final state) for burn_in time units, then records `samples`
// states every kSampleEvery into out[channel·samples + i] (i = 0 is the state at t = burn_in). Checks
// the energy and finiteness after every interval and the frozen rule at the end.
Outcome trajectory(const Params& p, State& s, double burn_in, int64_t samples, Record record, float* out,
                   const Controls& ctl = {});

// The initial state drawn from the simulation stream: X_k ~ N(0, 1), then Y_n ~ N(0, 0.1²), in index order.
void initial_state(RandomStream& rng, State& s);

// Summary statistics of a full trajectory block [kState, samples] (docs/lorenz96.md lists them).
constexpr int kNumStats = 26;
const std::vector<std::string>& stat_names();
// out[kNumStats]; computed in double from the float32 block, so a lorenz96_stats row equals the
// statistics of the lorenz96 row simulated from the same (θ, stream).
void summary_stats(const float* traj, int64_t samples, double* out);

}  // namespace simbi::sim::tasks::l96
