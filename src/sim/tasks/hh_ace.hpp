// hh_ace internals (docs/tasks_gbi.md), exposed for tests: one Hodgkin-Huxley run and its 7 features.
// Private to src/sim. Contract: pure functions of (θ, stream); the trace buffer belongs to the caller.
#pragma once
#include <cstdint>
#include <vector>

#include "simbi/core/random.hpp"

namespace simbi::sim::tasks {

constexpr int64_t kHhParams = 8;        // g_Na, g_K, g_leak, g_M, τ_max, −V_T, σ, −E_leak
constexpr int64_t kHhFeatures = 7;      // spikes, rest mean, rest std, step mean, variance, skewness, kurtosis
constexpr double kHhDt = 0.01;          // ms
constexpr int64_t kHhSteps = 12000;     // 120 ms; the trace has kHhSteps + 1 points t_i = i·dt
constexpr int64_t kHhOnIndex = 1000;    // step current on for t_i in [10, 110) ms ...
constexpr int64_t kHhOffIndex = 11000;  // ... i.e. I_i ≠ 0 for i in [1000, 11000)

// The voltage trace V_0..V_kHhSteps (mV) at θ; false when the run failed numerically (non-finite or
// runaway voltage, or a non-finite θ).
bool hh_ace_trace(const float* theta, RandomStream& rng, std::vector<double>& v);
// The 7 features of a trace (false when one is not finite, e.g. a flat trace has no skewness).
bool hh_ace_features(const std::vector<double>& v, double* features);

}  // namespace simbi::sim::tasks
