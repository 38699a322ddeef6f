#include "simbi/sim/simulator.hpp"

#include <cmath>
#include <limits>

#include "simbi/core/error.hpp"

namespace simbi::sim {

void RowwiseSimulator::simulate(ConstMatrixView theta, MatrixView x, const RowStreams& streams) {
  require(theta.cols == theta_dim() && x.cols == x_dim() && x.rows == theta.rows, ErrorKind::internal,
          "Simulator::simulate: batch shapes do not match the simulator's dimensions");
  for (int64_t i = 0; i < theta.rows; ++i) {
    RandomStream rng = streams.row(i);
    if (!simulate_row(theta.row(i), x.row(i), rng)) {
      for (int64_t j = 0; j < x.cols; ++j) x(i, j) = std::numeric_limits<float>::quiet_NaN();
    }
  }
}

}  // namespace simbi::sim
