#include "simbi/nn/threads.hpp"

#include <torch/torch.h>

namespace simbi::nn {

int set_torch_threads(int requested) {
  // Default 1: the estimators' networks are small, so LibTorch's per-op cost dominates and intra-op
  // threads only add synchronisation (measured on 2 cores, CP-VAE at batch 32: 0.7 ms/step with one
  // thread, 13 ms/step with two when the other core is busy). Parallelism comes from MPI ranks.
  const int threads = requested > 0 ? requested : 1;
  torch::set_num_threads(threads);
  // Inter-op threads can be set once per process, before any parallel work (`run` trains then samples).
  static const bool interop_set = [] {
    torch::set_num_interop_threads(1);
    return true;
  }();
  (void)interop_set;
  return threads;
}

}  // namespace simbi::nn
