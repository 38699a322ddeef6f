// estimators::BatchExchange over MPI: the trainer's way of showing a contrastive loss (E&E) the whole
// global batch, so its negatives — and therefore its gradients — are the same on any number of ranks.
// Rows are staged through host memory (B × k floats per call: an embedding batch, small next to the
// gradient allreduce). Contract: collective over simbi's world; float32 results on the input's device.
#pragma once
#include <memory>

#include "simbi/estimators/estimator.hpp"

namespace simbi::train {

std::unique_ptr<estimators::BatchExchange> make_mpi_batch_exchange();

}  // namespace simbi::train
