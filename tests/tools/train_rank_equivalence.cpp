// Test driver for data-parallel training (run by tests/e2e/test_train_rank_equivalence.sh): trains a
// regression network (deterministic loss), a CP-VAE (a loss with reparameterisation noise) or an E&E model
// (a contrastive loss coupling the rows of a batch across the ranks, with a memory bank and jittered views) with
// train::fit for a given number of epochs and global batch on fixed data, then rank 0 writes the flat
// parameters, one per line. Run under `mpiexec -n 1` and `-n 2` with the same global batch, the
// parameters must agree to float rounding: each rank takes half of every global batch, the fused
// allreduce restores the global-batch gradient, and the noise is keyed by global batch position.
// Usage: simbi_train_rank_equivalence --model regression|cpvae|ene --batch B --epochs E --out params.txt
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "simbi/dist/world.hpp"
#include "simbi/estimators/ene.hpp"
#include "simbi/estimators/estimator.hpp"
#include "simbi/estimators/vae.hpp"
#include "simbi/nn/mlp.hpp"
#include "simbi/train/grad_sync.hpp"
#include "simbi/train/trainer.hpp"

namespace {

// Squared error of a small MLP: no sampling inside the loss, so the result depends only on the data
// order and the arithmetic, not on per-rank random streams.
class Regression final : public simbi::estimators::Estimator {
 public:
  Regression() { net_ = register_module("net", simbi::nn::Mlp(2, std::vector<int64_t>{32, 32}, 1)); }
  std::string method() const override { return "regression"; }
  nlohmann::json config() const override { return {}; }
  void fit_standardization(const torch::Tensor&, const torch::Tensor&) override {}
  torch::Tensor loss(const torch::Tensor& theta, const torch::Tensor& x) override {
    return (net_->forward(x) - theta).pow(2).sum(1);
  }

 private:
  simbi::nn::Mlp net_{nullptr};
};

}  // namespace

int main(int argc, char** argv) {
  simbi::dist::World world(&argc, &argv, true);
  int64_t batch = 0, epochs = 1;
  std::string out, model_name = "regression";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--batch"))
      batch = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--epochs"))
      epochs = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--out"))
      out = argv[i + 1];
    else if (!std::strcmp(argv[i], "--model"))
      model_name = argv[i + 1];
  }
  if (batch <= 0 || epochs <= 0 || out.empty() ||
      (model_name != "regression" && model_name != "cpvae" && model_name != "ene" && model_name != "npe" &&
       model_name != "fmpe" && model_name != "npse" && model_name != "nle")) {
    std::fprintf(stderr, "usage: %s --model regression|cpvae|ene|npe|fmpe|npse|nle --batch B --epochs E --out FILE\n",
                 argv[0]);
    return 2;
  }
  torch::set_num_threads(1);
  torch::manual_seed(42);  // the same data on every rank
  simbi::train::TrainingData data;
  data.x = torch::rand({1000, 2}) * 4 - 2;
  data.theta = torch::sin(2 * data.x.select(1, 0)).unsqueeze(1) + 0.5 * data.x.select(1, 1).unsqueeze(1) +
               0.3 * torch::randn({1000, 1});
  torch::manual_seed(1000 + simbi::dist::rank());  // different initial weights per rank: the broadcast must fix them
  std::shared_ptr<simbi::estimators::Estimator> model_ptr;
  if (model_name == "cpvae") {
    simbi::estimators::VaeConfig c;
    c.theta_dim = 1;
    c.x_dim = 2;
    c.latent_dim = 2;
    c.encoder_hidden = c.prior_hidden = c.decoder_hidden = {32, 32};
    model_ptr = std::make_shared<simbi::estimators::CpVae>(c);
  } else if (model_name == "ene") {
    simbi::estimators::EneConfig c;
    c.theta_dim = 1;
    c.x_dim = 2;
    c.embed_dim = 8;
    c.encoder_hidden = {32};
    c.emulator_width = 32;
    c.emulator_blocks = 1;
    c.intra_weight = 0.5;
    c.memory_bank = 64;
    model_ptr = std::make_shared<simbi::estimators::Ene>(c);
  } else if (model_name == "npe") {  // a 1-D θ: the autoregressive spline flow
    model_ptr = simbi::estimators::make_estimator(
        {{"method", "npe"}, {"theta_dim", 1}, {"x_dim", 2}, {"flow", {{"transforms", 2}, {"hidden", 16}}}});
  } else if (model_name == "nle") {  // a spline flow over the 2-D x, conditioned on θ
    model_ptr = simbi::estimators::make_estimator(
        {{"method", "nle"}, {"theta_dim", 1}, {"x_dim", 2}, {"flow", {{"transforms", 2}, {"hidden", 16}}}});
  } else if (model_name == "fmpe" || model_name == "npse") {  // per-example noise: time and base draw
    model_ptr = simbi::estimators::make_estimator(
        {{"method", model_name}, {"theta_dim", 1}, {"x_dim", 2}, {"width", 32}, {"blocks", 1}});
  } else {
    model_ptr = std::make_shared<Regression>();
  }
  simbi::estimators::Estimator& model = *model_ptr;
  simbi::train::TrainOptions o;
  o.batch_size = batch;
  o.max_epochs = epochs;
  o.lr = 1e-3;
  o.seed = 7;
  o.progress = false;
  auto sync = simbi::train::make_mpi_grad_sync();
  const simbi::train::TrainHistory h = simbi::train::fit(model, data, o, *sync);
  if (simbi::dist::rank() == 0) {
    std::FILE* f = std::fopen(out.c_str(), "w");
    if (!f) return 1;
    for (const auto& p : model.parameters()) {
      const torch::Tensor v = p.detach().flatten().contiguous();
      for (int64_t i = 0; i < v.numel(); ++i) std::fprintf(f, "%.9g\n", v[i].item<double>());
    }
    std::fclose(f);
    std::printf("%s: ranks %d, batch %lld, %lld steps, final validation loss %.6f\n", model_name.c_str(),
                simbi::dist::size(), static_cast<long long>(batch), static_cast<long long>(h.steps), h.val_loss.back());
  }
  return 0;
}
