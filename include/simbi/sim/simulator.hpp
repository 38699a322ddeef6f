// The Simulator interface: batched θ[n, dθ] -> x[n, dx]. Contract: one instance per thread (a
// simulator may keep state, e.g. an external process); a failed simulation fills its row with NaN and
// does not throw; an error that makes the whole batch impossible (a plugin or command that cannot run)
// throws simbi::Error.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "simbi/core/error.hpp"
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

  // A check that simulators able to abandon a call part-way (an external command) poll during it, about
  // every 50 ms; when it returns true the call ends by throwing Interrupted. store::run_simulation sets
  // it so that a failure on another rank, or a stop signal, ends a long call within seconds.
  void set_interrupt_check(std::function<bool()> check) { interrupt_check_ = std::move(check); }

 protected:
  const std::function<bool()>& interrupt_check() const { return interrupt_check_; }

 private:
  std::function<bool()> interrupt_check_;
};

// A call abandoned because the interrupt check said so (not a failure of the simulator itself).
class Interrupted : public Error {
 public:
  explicit Interrupted(const std::string& message) : Error(ErrorKind::runtime, message) {}
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
