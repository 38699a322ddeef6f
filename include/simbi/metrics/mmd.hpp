// MMD: the unbiased squared maximum mean discrepancy with a Gaussian kernel, as sbibm's "tp_sutherland"
// (bandwidth = the lower median of the pairwise distances within X, no z-scoring). Contract: no MPI;
// runs on options.threads worker threads (the result does not depend on their number); memory
// O(threads · block · (n + m)), never the full kernel matrices.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>

#include "simbi/core/matrix.hpp"

namespace simbi::metrics {

struct MmdOptions {
  int64_t block_rows = 512;  // rows of a kernel block
  int threads = 1;           // worker threads (1: the calling thread, with torch's own threads)
};

struct MmdResult {
  double mmd2 = 0.0;       // unbiased MMD² (can be slightly negative); NaN if X or Y holds a NaN
  double bandwidth = 0.0;  // σ of k(a, b) = exp(-‖a - b‖² / (2σ²))
};

// X = reference [n, d] (n >= 2), Y = samples [m, d] (m >= 2), any floating dtype, CPU. Arithmetic in
// float64: σ from direct differences, kernel from ‖a‖² + ‖b‖² - 2a·b, within-set terms exclude the diagonal
// (taken as exactly 1, as sbibm's const_diagonal). Errors (Error(invalid_argument)): shapes.
MmdResult mmd(const at::Tensor& X, const at::Tensor& Y, const MmdOptions& options = {});
MmdResult mmd(ConstMatrixView X, ConstMatrixView Y, const MmdOptions& options = {});
double mmd_squared(const at::Tensor& X, const at::Tensor& Y);

// The lower median of the n(n-1)/2 pairwise Euclidean distances between the rows of X (torch.median of
// torch.pdist: the lower of the two middle values for an even count), exact, in O(n) extra memory.
double median_pairwise_distance(const at::Tensor& X, int threads = 1);

}  // namespace simbi::metrics
