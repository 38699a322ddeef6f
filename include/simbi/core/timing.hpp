// Wall-clock timing on the monotonic clock. Contract: pure functions, any thread.
#pragma once
#include <chrono>

namespace simbi {

using SteadyClock = std::chrono::steady_clock;

// Seconds from t0 to now.
inline double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

}  // namespace simbi
