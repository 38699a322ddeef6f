// The Simulator interface: batched θ[n, dθ] -> x[n, dx]. Contract: one instance per thread (a
// simulator may keep state, e.g. an external process); a failed simulation fills its row with NaN and
// does not throw; an error that makes the whole batch impossible (a plugin or command that cannot run)
// throws simbi::Error.
#pragma once
#include <cstdint>
#include <string>

#include "simbi/core/matrix.hpp"
#include "simbi/core/random.hpp"

namespace simbi::sim {

class Simulator {
 public:
  virtual ~Simulator() = default;
  virtual int64_t theta_dim() const = 0;
  virtual int64_t x_dim() const = 0;
  // Row i of x is one draw at θ row i using the random numbers of streams.row(i) only, so that the
  // output of a row does not depend on the batch it was simulated in.
  virtual void simulate(ConstMatrixView theta, MatrixView x, const RowStreams& streams) = 0;
};

// Base for simulators written one row at a time in plain C++ (all built-in tasks).
class RowwiseSimulator : public Simulator {
 public:
  void simulate(ConstMatrixView theta, MatrixView x, const RowStreams& streams) final;

 protected:
  // Write x_dim() values for one θ; write NaN (or return false) for a failed simulation.
  virtual bool simulate_row(const float* theta, float* x, RandomStream& rng) const = 0;
};

}  // namespace simbi::sim
