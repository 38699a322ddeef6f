// Gradient synchronisation for data-parallel training: parameters broadcast from rank 0 at start and
// gradients summed over ranks once per optimizer step through ONE flat buffer (not one call per
// parameter). Contract: every method is collective over the world communicator.
#pragma once
#include <torch/torch.h>

#include <vector>

namespace simbi::train {

class GradSync {
 public:
  virtual ~GradSync() = default;
  virtual void broadcast_parameters(const std::vector<torch::Tensor>& params) = 0;
  // Sums a flat gradient buffer over all ranks in place, in one call (callers pre-scale their loss
  // so the sum is the global mean gradient).
  virtual void allreduce_sum_flat(torch::Tensor& flat) = 0;
  virtual double allreduce_sum(double value) = 0;
  virtual double seconds_in_allreduce() const = 0;
};

// MPI backend for CPU tensors (a no-op on one rank).
std::unique_ptr<GradSync> make_mpi_grad_sync();

}  // namespace simbi::train
