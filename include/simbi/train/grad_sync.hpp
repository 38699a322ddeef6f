// Gradient synchronisation for data-parallel training: parameters broadcast from rank 0 at start and
// gradients summed over ranks once per optimizer step through ONE flat buffer (not one call per
// parameter). Contract: every method is collective over the world communicator.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
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

// ---- NCCL backend (src/train/grad_sync_nccl.cpp, docs/gpu.md) ----
// Whether this build has the NCCL backend (nccl.h, libnccl and the CUDA runtime found at configure
// time). Without it every function below throws Error(invalid_argument) "--backend nccl: this simbi was
// built without NCCL (...)".
bool nccl_compiled_in();

// NCCL backend for float32 CUDA tensors on GPU `device` (normally dist::local_rank(): one rank per GPU).
// Collective: every rank calls it. Rank 0 makes the ncclUniqueId and broadcasts it over dist::comm();
// each rank then calls cudaSetDevice(device) and ncclCommInitRank. Throws (the same error on every rank)
// when no GPU is visible, the node has fewer GPUs than ranks on it, or `device` is out of range.
// allreduce_sum_flat and broadcast_parameters take contiguous float32 tensors on `device` (CPU tensors
// are refused); allreduce_sum(double) goes through MPI.
std::unique_ptr<GradSync> make_nccl_grad_sync(int device);

// The same NCCL collectives on raw device memory (cudaMalloc'd float buffers of n elements on the
// sync's device), for code without CUDA tensors. `sync` must come from make_nccl_grad_sync
// (Error(internal) otherwise). In place; synchronous (return after cudaStreamSynchronize).
// nccl_allreduce_sum is what allreduce_sum_flat runs and is counted in seconds_in_allreduce().
void nccl_allreduce_sum(GradSync& sync, float* device_data, int64_t n);
void nccl_broadcast(GradSync& sync, float* device_data, int64_t n, int root = 0);

}  // namespace simbi::train
