// GradSync over MPI: gradients packed into one contiguous float buffer, one MPI_Allreduce per step.
#include <chrono>

#include "simbi/core/error.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/train/grad_sync.hpp"

namespace simbi::train {

namespace {

class MpiGradSync final : public GradSync {
 public:
  void broadcast_parameters(const std::vector<torch::Tensor>& params) override {
    if (dist::size() == 1) return;
    torch::NoGradGuard no_grad;
    torch::Tensor flat = torch::cat(flatten(params)).to(torch::kCPU);
    MPI_Bcast(flat.data_ptr<float>(), static_cast<int>(flat.numel()), MPI_FLOAT, 0, dist::comm());
    unflatten(flat, params);
  }

  void allreduce_sum_flat(torch::Tensor& flat) override {
    if (dist::size() == 1) return;
    require(flat.is_contiguous() && flat.scalar_type() == torch::kFloat, ErrorKind::internal,
            "allreduce_sum_flat: needs a contiguous float32 buffer");
    const auto t0 = std::chrono::steady_clock::now();
    // A GPU buffer goes through host memory (MPI is not assumed CUDA-aware; --backend nccl avoids it).
    torch::Tensor host = flat.is_cuda() ? flat.to(torch::kCPU) : flat;
    MPI_Allreduce(MPI_IN_PLACE, host.data_ptr<float>(), static_cast<int>(host.numel()), MPI_FLOAT, MPI_SUM,
                  dist::comm());
    if (flat.is_cuda()) flat.copy_(host);
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  double allreduce_sum(double value) override {
    if (dist::size() == 1) return value;
    double out = 0.0;
    MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_SUM, dist::comm());
    return out;
  }

  double seconds_in_allreduce() const override { return seconds_; }

 private:
  static std::vector<torch::Tensor> flatten(const std::vector<torch::Tensor>& params) {
    std::vector<torch::Tensor> parts;
    for (const auto& p : params) parts.push_back(p.reshape({-1}).to(torch::kFloat));
    return parts;
  }
  static void unflatten(const torch::Tensor& flat, const std::vector<torch::Tensor>& params) {
    int64_t offset = 0;
    for (const auto& p : params) {
      p.copy_(flat.narrow(0, offset, p.numel()).view(p.sizes()));
      offset += p.numel();
    }
  }
  double seconds_ = 0.0;
};

}  // namespace

std::unique_ptr<GradSync> make_mpi_grad_sync() { return std::make_unique<MpiGradSync>(); }

}  // namespace simbi::train
