#include <mpi.h>

#include <vector>

#include "simbi/core/error.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/train/batch_exchange.hpp"

namespace simbi::train {

namespace {

// Forward: MPI_Allgatherv of every rank's rows. Backward: the gradient of the gathered rows holds this
// rank's loss terms' dependence on every rank's rows; summing it over the ranks (MPI_Allreduce) and
// keeping this rank's slice gives the dependence of the global loss on this rank's rows.
class GatherRows : public torch::autograd::Function<GatherRows> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& local, int64_t offset,
                               int64_t total, const std::vector<int>& counts, const std::vector<int>& displs) {
    ctx->saved_data["offset"] = offset;
    ctx->saved_data["rows"] = local.size(0);
    const int64_t k = local.size(1);
    const torch::Tensor host = local.detach().to(torch::kCPU, torch::kFloat).contiguous();
    torch::Tensor all = torch::empty({total, k}, torch::kFloat);
    MPI_Allgatherv(host.data_ptr<float>(), static_cast<int>(host.numel()), MPI_FLOAT, all.data_ptr<float>(),
                   counts.data(), displs.data(), MPI_FLOAT, dist::comm());
    return all.to(local.device());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const int64_t offset = ctx->saved_data["offset"].toInt(), rows = ctx->saved_data["rows"].toInt();
    const torch::Tensor& g = grads[0];
    torch::Tensor host = g.to(torch::kCPU, torch::kFloat).contiguous().clone();
    MPI_Allreduce(MPI_IN_PLACE, host.data_ptr<float>(), static_cast<int>(host.numel()), MPI_FLOAT, MPI_SUM,
                  dist::comm());
    return {host.narrow(0, offset, rows).to(g.device()), torch::Tensor(), torch::Tensor(), torch::Tensor(),
            torch::Tensor()};
  }
};

class MpiBatchExchange final : public estimators::BatchExchange {
 public:
  Gathered gather_rows(const torch::Tensor& local) override {
    require(local.dim() == 2, ErrorKind::internal, "BatchExchange: rows must be a matrix");
    if (dist::size() == 1) return {local, 0};
    const int size = dist::size();
    const int mine = static_cast<int>(local.size(0)), k = static_cast<int>(local.size(1));
    std::vector<int> rows(static_cast<size_t>(size));
    MPI_Allgather(&mine, 1, MPI_INT, rows.data(), 1, MPI_INT, dist::comm());
    std::vector<int> counts(static_cast<size_t>(size)), displs(static_cast<size_t>(size));
    int64_t total = 0, offset = 0;
    for (int r = 0; r < size; ++r) {
      if (r == dist::rank()) offset = total;
      counts[static_cast<size_t>(r)] = rows[static_cast<size_t>(r)] * k;
      displs[static_cast<size_t>(r)] = static_cast<int>(total * k);
      total += rows[static_cast<size_t>(r)];
    }
    return {GatherRows::apply(local, offset, total, counts, displs), offset};
  }
};

}  // namespace

std::unique_ptr<estimators::BatchExchange> make_mpi_batch_exchange() { return std::make_unique<MpiBatchExchange>(); }

}  // namespace simbi::train
