// Estimators whose draws and densities come from integrating an ODE (FMPE, NPSE): the solver is not part
// of the architecture, so a trained model can be sampled with another solver or step count.
// Contract: as the estimator's (one thread at a time).
#pragma once
#include "simbi/nn/ode_solvers.hpp"

namespace simbi::estimators {

class OdeSampled {
 public:
  virtual ~OdeSampled() = default;
  virtual const nn::OdeSolverOptions& solver() const = 0;
  // Validates (Error naming the option) and replaces the solver.
  virtual void set_solver(const nn::OdeSolverOptions& solver) = 0;
};

}  // namespace simbi::estimators
