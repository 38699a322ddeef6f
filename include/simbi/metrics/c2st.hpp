// C2ST: the classifier two-sample test exactly as sbibm computes it (scikit-learn's MLPClassifier recipe,
// 5-fold shuffled cross-validation). Contract: no MPI; folds run on options.threads worker threads; the
// caller splits folds across ranks with fold_subset and combines the per-fold results.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "simbi/core/matrix.hpp"

namespace simbi::metrics {

struct C2stFold {
  int fold = 0;
  double accuracy = 0.0;   // test accuracy of this fold
  int64_t test_size = 0;   // rows in the test part
  int64_t epochs = 0;      // training epochs run
  bool converged = false;  // stopped by the no-improvement rule (false: max_epochs reached)
  double final_loss = 0.0; // epoch-average training loss (log-loss + L2 term) of the last epoch
  double seconds = 0.0;    // wall time of this fold (training + scoring)
  std::vector<double> loss_curve;  // the epoch losses (sklearn's loss_curve_)
};

struct C2stOptions {
  uint64_t seed = 1;         // KFold shuffle, weight init and per-epoch shuffles (same for every fold,
                             // like sklearn's clone with random_state = seed)
  int folds = 5;
  bool z_score = true;       // z-score both sets with the reference's mean and unbiased std
  int64_t max_epochs = 10000;
  double tol = 1e-4;
  int n_iter_no_change = 10; // stop when the loss has not improved by tol for more than this many epochs
  int64_t batch = 200;       // min(batch, n_train) rows per step
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  double alpha = 1e-4;       // L2 penalty 0.5·alpha·Σ‖W‖² / batch (weights only)
  int64_t hidden_factor = 10;  // hidden widths = hidden_factor · d (two hidden layers)
  bool double_precision = false;  // float64 arithmetic (default float32, as sbibm's float32 inputs give)
  std::vector<int> fold_subset;   // folds to compute (empty: all); e.g. folds_of_rank(folds, rank, size)
  int threads = 1;                // folds trained concurrently (threads of this process); every fold runs
                                  // torch/BLAS single-threaded, so results do not depend on threads or ranks
  std::function<void(const C2stFold&)> on_fold;  // after each computed fold (from a worker thread, serialised)
};

struct C2stResult {
  double accuracy = 0.0;              // mean test accuracy over the computed folds (NaN if none)
  std::vector<double> fold_accuracy;  // [folds]; NaN for folds not in fold_subset
  std::vector<int64_t> fold_epochs;   // [folds]; 0 for folds not computed
  std::vector<C2stFold> computed;     // the computed folds, in fold order
  int64_t n_reference = 0, n_samples = 0, dim = 0;
};

// X = reference [n, d], Y = samples [m, d] (any floating dtype, CPU). Labels 0 for X and 1 for Y.
// Errors (Error(invalid_argument / numeric)): shapes differ or are not 2-D, fewer rows than folds,
// non-finite values, a reference column with zero spread (z-scoring impossible).
C2stResult c2st(const at::Tensor& reference, const at::Tensor& samples, const C2stOptions& options = {});
// The same on row-major float32 matrices (no torch needed by the caller).
C2stResult c2st(ConstMatrixView reference, ConstMatrixView samples, const C2stOptions& options = {});

// The folds a rank computes when folds are dealt round-robin: f with f % size == rank.
std::vector<int> folds_of_rank(int folds, int rank, int size);

// sklearn's KFold(n_splits = folds, shuffle = True) test sets for n rows: a random permutation cut into
// consecutive parts, the first n % folds of size n / folds + 1, the rest n / folds.
std::vector<std::vector<int64_t>> kfold_test_sets(int64_t n, int folds, uint64_t seed);

}  // namespace simbi::metrics
