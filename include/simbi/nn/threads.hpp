// LibTorch's thread settings for this process, the one place they are made.
#pragma once

namespace simbi::nn {

// Torch intra-op threads for this rank: `requested` when > 0, else 1 (small networks run fastest
// single-threaded; parallelism comes from MPI ranks). Inter-op threads are set to 1 on the first call.
// Returns the intra-op thread count set.
int set_torch_threads(int requested);

}  // namespace simbi::nn
