// `simbi train`: fit an estimator to a simulation store, data-parallel over the ranks, and write
// model.pt (weights + metadata with the training history).
#include <torch/torch.h>

#include <cmath>
#include <cstdio>

#include "commands.hpp"
#include "simbi/core/log.hpp"
#include "simbi/core/version.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/estimators/estimator.hpp"
#include "simbi/store/model_file.hpp"
#include "simbi/store/sim_store.hpp"
#include "simbi/train/trainer.hpp"

namespace simbi::cli {

namespace {

struct TrainArgs {
  std::string data, method, out, device = "cpu", backend = "mpi";
  bool resume = false;
  uint64_t seed = 1;
  int64_t latent_dim = 0;
  std::string encoder_hidden, prior_hidden, decoder_hidden, data_decoder_hidden;
  double max_minutes = 0;
  int threads = 0;
  train::TrainOptions options;
};

nlohmann::json estimator_config(const TrainArgs& a, int64_t theta_dim, int64_t x_dim) {
  nlohmann::json c = {{"method", a.method}, {"theta_dim", theta_dim}, {"x_dim", x_dim}, {"latent_dim", a.latent_dim}};
  if (!a.encoder_hidden.empty()) c["encoder_hidden"] = parse_widths(a.encoder_hidden, "--encoder-hidden");
  if (!a.prior_hidden.empty()) c["prior_hidden"] = parse_widths(a.prior_hidden, "--prior-hidden");
  if (!a.decoder_hidden.empty()) c["decoder_hidden"] = parse_widths(a.decoder_hidden, "--decoder-hidden");
  if (!a.data_decoder_hidden.empty())
    c["data_decoder_hidden"] = parse_widths(a.data_decoder_hidden, "--data-decoder-hidden");
  return c;
}

int run_train(TrainArgs a) {
  const int threads = set_torch_threads(a.threads);
  store::SimStoreMeta store_meta;
  train::TrainingData data;
  std::shared_ptr<estimators::Estimator> model;
  dist::run_agreed([&] {
    require(a.device == "cpu" || a.device == "cuda", ErrorKind::invalid_argument,
            "--device must be cpu or cuda, got '" + a.device + "'");
    require(a.device != "cuda" || torch::cuda::is_available(), ErrorKind::invalid_argument,
            "--device cuda: no CUDA device is usable here (this LibTorch " +
                std::string(torch::cuda::is_available() ? "has" : "has no or cannot reach") + " CUDA)");
    require(a.device == "cpu", ErrorKind::invalid_argument, "--device cuda: GPU training is not available yet");
    require(a.backend == "mpi", ErrorKind::invalid_argument,
            "--backend " + a.backend + ": only the mpi backend is available in this build");
    require(!a.resume, ErrorKind::invalid_argument, "--resume: training checkpoints are not available yet");
    require(!a.method.empty(), ErrorKind::invalid_argument,
            "--method is required (cpvae or upvae), on the command line or as `method` in the --config file");
    if (a.max_minutes > 0) a.options.max_seconds = 60.0 * a.max_minutes;
    store_meta = store::SimStore::open_read(a.data).meta();
    data = train::load_training_data(a.data);
    torch::manual_seed(a.seed);  // the same initial weights on every rank (also broadcast from rank 0)
    model = estimators::make_estimator(estimator_config(a, store_meta.theta_dim, store_meta.x_dim));
  });
  a.options.seed = a.seed;
  // Different reparameterisation noise per rank (they see different rows anyway).
  torch::manual_seed(static_cast<uint64_t>(mix64(a.seed) + static_cast<uint64_t>(dist::rank())));
  const int64_t rows = data.theta.size(0);
  log::info("train " + a.method + " on " + store_meta.task + ": " + std::to_string(rows) + " rows of " + a.data +
            (data.dropped_rows ? " (" + std::to_string(data.dropped_rows) + " failed or unsimulated rows dropped)" : "") +
            ", global batch " + std::to_string(a.options.batch_size) + " on " + std::to_string(dist::size()) +
            " rank(s) x " + std::to_string(threads) + " thread(s)");
  auto sync = train::make_mpi_grad_sync();
  const train::TrainHistory h = train::fit(*model, data, a.options, *sync);

  if (dist::is_root()) {
    nlohmann::json meta = {
        {"method", a.method},
        {"task", store_meta.task},
        {"theta_dim", store_meta.theta_dim},
        {"x_dim", store_meta.x_dim},
        {"theta_labels", store_meta.theta_labels},
        {"prior", store_meta.prior_json},
        {"estimator", model->config()},
        {"training", a.options.to_json()},
        {"history", h.to_json()},
        {"data", {{"store", a.data}, {"rows", rows}, {"dropped_rows", data.dropped_rows}, {"seed", store_meta.seed}}},
        {"ranks", dist::size()},
        {"threads_per_rank", threads},
        {"train_seconds", h.seconds},
        {"epochs", static_cast<int64_t>(h.train_loss.size())},
        {"simbi_version", kVersion},
        {"created", store::utc_now_iso8601()}};
    store::save_model_file(a.out, *model, meta);
    std::printf("trained %s on %s in %.1f s: %zu epochs (%s; best epoch %lld, validation loss %.4f), "
                "%.2f ms/step (allreduce %.3f ms/step) -> %s\n",
                a.method.c_str(), store_meta.task.c_str(), h.seconds, h.train_loss.size(), h.stop_reason.c_str(),
                static_cast<long long>(h.best_epoch + 1), h.best_val_loss,
                1e3 * h.seconds / std::max<int64_t>(1, h.steps), 1e3 * h.allreduce_seconds / std::max<int64_t>(1, h.steps),
                a.out.c_str());
    const double per = 1e3 / static_cast<double>(std::max<int64_t>(1, h.steps));
    std::printf("  time per step (rank 0): data %.3f ms, forward %.3f ms, backward %.3f ms, allreduce %.3f ms, "
                "clip+optimizer %.3f ms\n",
                h.data_seconds * per, h.forward_seconds * per, h.backward_seconds * per, h.allreduce_seconds * per,
                h.optimizer_seconds * per);
    std::fflush(stdout);
  }
  dist::barrier();
  return 0;
}

}  // namespace

void add_train_command(CLI::App& app, std::vector<Command>& commands) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* sub = app.add_subcommand("train", "Train an estimator on a simulation store (data-parallel over ranks)");
  sub->add_option("--config", "TOML file with any of these options (keys without dashes; command line wins)");
  sub->add_option("--data", a->data, "Simulation store (HDF5) to train on")->required();
  sub->add_option("--method", a->method, "cpvae | upvae");
  sub->add_option("--out", a->out, "Model file to write")->required();
  sub->add_option("--seed", a->seed, "Seed (split, shuffling, initialisation)")->capture_default_str();
  sub->add_option("--device", a->device, "cpu | cuda")->capture_default_str();
  sub->add_option("--backend", a->backend, "Gradient sync: mpi | nccl")->capture_default_str();
  sub->add_flag("--resume", a->resume, "Continue from the last checkpoint");
  auto& o = a->options;
  sub->add_option("--batch-size", o.batch_size, "Global batch size (split over ranks)")->capture_default_str();
  sub->add_option("--lr", o.lr, "AdamW learning rate")->capture_default_str();
  sub->add_option("--weight-decay", o.weight_decay, "AdamW weight decay")->capture_default_str();
  sub->add_option("--max-epochs", o.max_epochs, "Maximum epochs")->capture_default_str();
  sub->add_option("--patience", o.patience, "Early stopping: epochs without validation improvement")
      ->capture_default_str();
  sub->add_option("--lr-decay-patience", o.lr_decay_patience,
                  "Halve (--lr-decay-factor) the learning rate after this many epochs without improvement (0 = off)")
      ->capture_default_str();
  sub->add_option("--lr-decay-factor", o.lr_decay_factor, "Learning-rate decay factor on a plateau")
      ->capture_default_str();
  sub->add_option("--clip-norm", o.clip_norm, "Gradient-norm clipping (0 = off)")->capture_default_str();
  sub->add_option("--validation-fraction", o.validation_fraction, "Held-out fraction")->capture_default_str();
  sub->add_option("--max-minutes", a->max_minutes, "Stop after this many minutes (keeps the best weights)");
  sub->add_option("--latent-dim", a->latent_dim, "VAE latent dimension (default: dim θ)");
  sub->add_option("--encoder-hidden", a->encoder_hidden, "Hidden widths of q(z | x, θ), e.g. 64,64");
  sub->add_option("--prior-hidden", a->prior_hidden, "CP-VAE: hidden widths of p(z | x)");
  sub->add_option("--decoder-hidden", a->decoder_hidden, "Hidden widths of p(θ | x, z)");
  sub->add_option("--data-decoder-hidden", a->data_decoder_hidden, "UP-VAE: hidden widths of p(x | z)");
  sub->add_option("--threads", a->threads, "Torch threads per rank (default 1: small networks run fastest single-threaded; scale with ranks)");
  commands.push_back({sub, [a] { return run_train(*a); }});
}

}  // namespace simbi::cli
