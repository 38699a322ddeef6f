// Detects data that live on a lattice (counts, binary outcomes, values rounded to a fixed step), so a
// Gaussian likelihood over them can be given a variance floor. A continuous density fitted to discrete
// values can shrink its variance without bound on a dimension that is almost constant (sir's first
// output is 0 in 9,988 of 10,000 simulations), and the rare other values then cost ~1/σ² each. Treating
// each value as the centre of a cell of width Δ (uniform dequantisation) makes Δ²/12 the smallest
// variance the data can honestly support. Contract: pure function of the data.
#pragma once
#include <torch/torch.h>

namespace simbi::nn {

// Per column of data [N, d]: the lattice spacing Δ > 0 if every value of the column is min + k·Δ for an
// integer k (to 1e-4 of Δ) and the column has at most N/2 distinct values; 0 for continuous or
// constant columns. Returns a float tensor [d].
torch::Tensor lattice_spacing(const torch::Tensor& data);

}  // namespace simbi::nn
