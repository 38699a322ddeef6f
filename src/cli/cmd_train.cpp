// `simbi train`: fit an estimator to a simulation store, data-parallel over the ranks, and write
// model.pt (weights + metadata with the training history). Checkpoints go to model.pt.ckpt; --resume
// continues from it; SIGTERM/SIGUSR1 checkpoint at the next step and exit 0.
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include <unistd.h>

#include "commands.hpp"
#include "simbi/store/table.hpp"
#include "simbi/core/log.hpp"
#include "simbi/core/stop_signal.hpp"
#include "simbi/core/version.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/estimators/ace.hpp"
#include "simbi/estimators/ene.hpp"
#include "simbi/estimators/estimator.hpp"
#include "simbi/sim/distance.hpp"
#include "simbi/sim/task.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/model_file.hpp"
#include "simbi/store/sim_store.hpp"
#include "simbi/train/checkpoint.hpp"
#include "simbi/train/trainer.hpp"
#include "simbi/train/training_source.hpp"

namespace simbi::cli {

namespace {

struct TrainArgs {
  std::string data, method, out, device = "cpu", backend = "mpi", data_loading = "auto";
  double stream_buffer_mb = 16;
  bool resume = false;
  uint64_t seed = 1;
  int64_t latent_dim = 0;
  estimators::AceConfig ace;  // ACE network and targets (AceConfig's defaults; dims, distance set from the store)
  // As a name, checked with the rest of the config by AceConfig::from_json.
  std::string activation = nn::activation_name(estimators::AceConfig{}.activation);
  std::string ace_output = estimators::cost_output_name(estimators::AceConfig{}.output);
  std::string ace_head = estimators::cost_head_name(estimators::AceConfig{}.head);
  std::string distance, distance_params, ace_targets;  // ACE
  estimators::EneConfig ene;                           // E&E (the dims are set from the store)
  std::string conv_channels;                           // E&E conv encoder
  std::string encoder_hidden, prior_hidden, decoder_hidden, data_decoder_hidden;
  double max_minutes = 0;
  int threads = 0;
  int64_t checkpoint_every_epochs = 1;
  double checkpoint_seconds = 0;
  train::TrainOptions options;
};

// ACE's distance: --distance (with --distance-params JSON), else the store's task's own, else mse.
nlohmann::json ace_config(const TrainArgs& a, const store::SimStoreMeta& m) {
  std::unique_ptr<sim::Distance> d;
  if (!a.distance.empty()) {
    nlohmann::json params = nlohmann::json::object();
    if (!a.distance_params.empty()) {
      try {
        params = nlohmann::json::parse(a.distance_params);
      } catch (const nlohmann::json::exception&) {
        throw Error(ErrorKind::invalid_argument, "--distance-params: not a JSON object: " + a.distance_params);
      }
    }
    d = sim::make_distance(a.distance, m.x_dim, params);
  } else if (sim::is_builtin_task(m.task)) {
    d = sim::make_distance(sim::make_task(m.task));
  } else {
    d = sim::make_distance("mse", m.x_dim);
  }
  const nlohmann::json spec = d->to_json();
  // A set distance means set-valued x: the cost network sees it through a permutation-invariant embedding.
  const int64_t trials = spec.value("name", "") == "mmd2" ? spec.value("set_size", int64_t{0}) : 0;
  estimators::AceConfig c = a.ace;
  c.theta_dim = m.theta_dim;
  c.x_dim = m.x_dim;
  c.set_trials = trials;
  c.distance = spec;
  nlohmann::json j = c.to_json();
  j["activation"] = a.activation;
  j["output"] = a.ace_output;
  j["head"] = a.ace_head;
  return j;
}

// E&E: the options as given (EneConfig's defaults otherwise); checked by EneConfig::from_json.
nlohmann::json ene_config(const TrainArgs& a, const store::SimStoreMeta& m) {
  estimators::EneConfig c = a.ene;
  c.theta_dim = m.theta_dim;
  c.x_dim = m.x_dim;
  // A store of time series records its row shape [channels, time]: the conv encoder reads its channels
  // from there, and a --series-channels that disagrees is refused.
  if (c.encoder == "conv" && m.x_shape.size() == 2) {
    require(c.series_channels == 0 || c.series_channels == m.x_shape[0], ErrorKind::invalid_argument,
            "--series-channels " + std::to_string(c.series_channels) + " does not match the store's rows of " +
                std::to_string(m.x_shape[0]) + " channels x " + std::to_string(m.x_shape[1]) + " steps (" +
                m.task + "; x_shape attribute)");
    c.series_channels = m.x_shape[0];
  }
  if (!a.encoder_hidden.empty()) c.encoder_hidden = parse_widths(a.encoder_hidden, "--encoder-hidden");
  if (!a.conv_channels.empty()) c.conv_channels = parse_widths(a.conv_channels, "--conv-channels");
  return c.to_json();
}

nlohmann::json estimator_config(const TrainArgs& a, const store::SimStoreMeta& m) {
  if (a.method == "ace") return ace_config(a, m);
  if (a.method == "ene") return ene_config(a, m);
  const int64_t theta_dim = m.theta_dim, x_dim = m.x_dim;
  nlohmann::json c = {{"method", a.method}, {"theta_dim", theta_dim}, {"x_dim", x_dim}, {"latent_dim", a.latent_dim}};
  if (!a.encoder_hidden.empty()) c["encoder_hidden"] = parse_widths(a.encoder_hidden, "--encoder-hidden");
  if (!a.prior_hidden.empty()) c["prior_hidden"] = parse_widths(a.prior_hidden, "--prior-hidden");
  if (!a.decoder_hidden.empty()) c["decoder_hidden"] = parse_widths(a.decoder_hidden, "--decoder-hidden");
  if (!a.data_decoder_hidden.empty())
    c["data_decoder_hidden"] = parse_widths(a.data_decoder_hidden, "--data-decoder-hidden");
  return c;
}

// --data-loading auto: rows in memory when the store's θ and x take at most 1/8 of this machine's
// memory per rank (every rank holds all rows, plus copies while splitting), else streamed.
std::string choose_data_loading(const std::string& requested, const store::SimStoreMeta& m) {
  require(requested == "auto" || requested == "memory" || requested == "stream", ErrorKind::invalid_argument,
          "--data-loading must be auto, memory or stream, got '" + requested + "'");
  if (requested != "auto") return requested;
  const double data_bytes = 4.0 * static_cast<double>(m.budget) * static_cast<double>(m.theta_dim + m.x_dim);
  const double machine_bytes = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
  return data_bytes <= machine_bytes / 8.0 / dist::size() ? "memory" : "stream";
}

// --device / --backend, the same verdict on every rank (called inside run_agreed): one GPU per rank
// (device = the rank's index on its node), so a node with fewer GPUs than ranks is refused, and so is
// a rank without CUDA while others have it (mixed CPU/GPU training).
void check_device_and_backend(const TrainArgs& a) {
  require(a.device == "cpu" || a.device == "cuda", ErrorKind::invalid_argument,
          "--device must be cpu or cuda, got '" + a.device + "'");
  require(a.backend == "mpi" || a.backend == "nccl", ErrorKind::invalid_argument,
          "--backend must be mpi or nccl, got '" + a.backend + "'");
  require(a.backend != "nccl" || train::nccl_compiled_in(), ErrorKind::invalid_argument,
          "--backend nccl: this simbi was built without NCCL (nccl.h/libnccl not found at configure time; see "
          "docs/gpu.md)");
  require(a.backend != "nccl" || a.device == "cuda", ErrorKind::invalid_argument,
          "--backend nccl: NCCL syncs GPU tensors; add --device cuda (or use --backend mpi on CPUs)");
  if (a.device != "cuda") return;
  require(torch::cuda::is_available(), ErrorKind::invalid_argument,
          "--device cuda: no usable GPU on rank " + std::to_string(dist::rank()) +
              " (this LibTorch is a CPU build or sees no CUDA device); use --device cpu");
  const int gpus = static_cast<int>(torch::cuda::device_count());
  require(dist::local_rank() < gpus, ErrorKind::invalid_argument,
          "--device cuda: rank " + std::to_string(dist::rank()) + " is process " + std::to_string(dist::local_rank() + 1) +
              " on its node but the node has " + std::to_string(gpus) +
              " GPU(s); start at most one rank per GPU");
}

// This process's command line with --resume added (for the message after a stop signal); the
// launcher (mpiexec/srun) is not visible from here.
std::string resume_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string arg; std::getline(in, arg, '\0');) args.push_back(arg);
  if (args.empty()) return "the same command with --resume";
  bool has_resume = false, is_train = false;
  std::string line;
  for (const std::string& arg : args) {
    has_resume |= arg == "--resume";
    is_train |= arg == "train";
    const bool plain = !arg.empty() && arg.find_first_of(" \t'\"$\\") == std::string::npos;
    line += (line.empty() ? "" : " ") + (plain ? arg : "'" + arg + "'");
  }
  // `simbi run` resumes its stages by itself.
  return is_train && !has_resume ? line + " --resume" : line;
}

// Rank 0 reads the checkpoint (if there is one) and broadcasts it; every rank decodes it and checks
// that it was written for this model, these options and this data.
std::optional<train::TrainState> read_checkpoint_for_resume(const std::string& path,
                                                            const nlohmann::json& fingerprint) {
  std::string bytes;
  dist::run_agreed([&] {
    if (!dist::is_root() || !std::filesystem::exists(path)) return;
    bytes = store::read_whole_file(path);
    require(!bytes.empty(), ErrorKind::format, path + ": empty file, not a training checkpoint");
  });
  dist::broadcast(bytes);
  if (bytes.empty()) {
    log::info("--resume: no checkpoint " + path + " yet; training from the start");
    return std::nullopt;
  }
  train::TrainState s;
  dist::run_agreed([&] {
    s = train::decode_checkpoint(bytes, path);
    train::check_fingerprint(s.fingerprint, fingerprint, path);
  });
  const int64_t epochs_done = static_cast<int64_t>(s.history.val_loss.size());
  const int64_t ranks_then = static_cast<int64_t>(s.rng.size());
  log::info(
      "resuming from checkpoint " + path + ": epoch " + std::to_string(s.epoch + 1) +
      (s.next_row > 0 ? " at row " + std::to_string(s.next_row) + " of " + std::to_string(s.history.train_rows) : "") +
      " (" + std::to_string(epochs_done) + " epochs done" +
      (s.history.best_epoch >= 0 ? ", best validation loss " + std::to_string(s.history.best_val_loss) + " at epoch " +
                                       std::to_string(s.history.best_epoch + 1)
                                 : "") +
      "; written by " + std::to_string(ranks_then) + " rank(s), now " + std::to_string(dist::size()) + ")");
  return s;
}

int run_train(TrainArgs a) {
  const StopSignalScope stop_signals;  // SIGTERM/SIGUSR1 only set a flag the trainer polls
  const int threads = set_torch_threads(a.threads);
  const std::string ckpt_path = train::checkpoint_path(a.out);
  nlohmann::json fingerprint;
  store::SimStoreMeta store_meta;
  std::unique_ptr<train::TrainingSource> source;
  std::shared_ptr<estimators::Estimator> model;
  dist::run_agreed([&] {
    check_device_and_backend(a);
    require(a.checkpoint_every_epochs >= 0, ErrorKind::invalid_argument,
            "--checkpoint-every-epochs must be 0 (off) or positive");
    require(a.checkpoint_seconds >= 0, ErrorKind::invalid_argument, "--checkpoint-seconds must be 0 (off) or positive");
    require(!a.method.empty(), ErrorKind::invalid_argument,
            "--method is required (cpvae, upvae, ace or ene), on the command line or as `method` in the --config file");
    if (a.max_minutes > 0) a.options.max_seconds = 60.0 * a.max_minutes;
    require(a.stream_buffer_mb > 0, ErrorKind::invalid_argument, "--stream-buffer-mb must be positive");
    store_meta = store::SimStore::open_read(a.data).meta();
    a.options.seed = a.seed;
    a.data_loading = choose_data_loading(a.data_loading, store_meta);
    source = a.data_loading == "memory"
                 ? train::make_in_memory_source(train::load_training_data(a.data), a.data, a.seed,
                                                a.options.validation_fraction)
                 : train::make_streaming_source(a.data, a.seed, a.options.validation_fraction,
                                                static_cast<int64_t>(a.stream_buffer_mb * (1 << 20)));
    torch::manual_seed(a.seed);  // the same initial weights on every rank (also broadcast from rank 0)
    model = estimators::make_estimator(estimator_config(a, store_meta));
    if (!a.ace_targets.empty()) {
      auto* ace = dynamic_cast<estimators::Ace*>(model.get());
      require(ace != nullptr, ErrorKind::invalid_argument, "--ace-targets is for --method ace");
      Matrix targets = store::read_matrix(a.ace_targets, "/x", nullptr);
      ace->add_targets(torch::from_blob(targets.data(), {targets.rows(), targets.cols()}, torch::kFloat).clone());
    }
    fingerprint = train::training_fingerprint(model->config(), a.options, source->fingerprint());
  });
  std::optional<train::TrainState> resume;
  if (a.resume) {
    resume = read_checkpoint_for_resume(ckpt_path, fingerprint);
  } else if (dist::is_root() && std::filesystem::exists(ckpt_path)) {
    log::warn(ckpt_path + " (from an earlier run) will be replaced; pass --resume to continue from it instead");
  }
  // Different reparameterisation noise per rank (they see different rows anyway).
  torch::manual_seed(static_cast<uint64_t>(mix64(a.seed) + static_cast<uint64_t>(dist::rank())));
  const int64_t rows = source->train_rows() + source->val_rows();
  char window[64];
  std::snprintf(window, sizeof window, ", streamed (%g MB window per rank)", a.stream_buffer_mb);
  log::info("train " + a.method + " on " + store_meta.task + ": " + std::to_string(rows) + " rows of " + a.data +
            (source->dropped_rows() ? " (" + std::to_string(source->dropped_rows()) +
                                          " failed or unsimulated rows dropped)"
                                    : "") +
            (source->mode() == "stream" ? std::string(window) : ", in memory") +
            ", global batch " + std::to_string(a.options.batch_size) + " on " + std::to_string(dist::size()) +
            " rank(s) x " + std::to_string(threads) + " thread(s)");
  // Collective; the NCCL backend agrees its own errors (no GPU, NCCL init) across ranks.
  const std::unique_ptr<train::GradSync> sync =
      a.backend == "nccl" ? train::make_nccl_grad_sync(dist::local_rank()) : train::make_mpi_grad_sync();
  if (a.device == "cuda") a.options.device = torch::Device(torch::kCUDA, static_cast<int16_t>(dist::local_rank()));
  train::CheckpointPlan plan;
  plan.path = ckpt_path;
  plan.every_epochs = a.checkpoint_every_epochs;
  plan.every_seconds = a.checkpoint_seconds;
  plan.fingerprint = fingerprint;
  const train::TrainHistory h = train::fit(*model, *source, a.options, *sync, plan, resume ? &*resume : nullptr);
  if (h.stop_signal != 0) {
    if (dist::is_root()) {
      std::printf("received %s: checkpoint written to %s after %zu epochs (%lld steps); continue with: %s\n",
                  signal_name(h.stop_signal), ckpt_path.c_str(), h.val_loss.size(), static_cast<long long>(h.steps),
                  resume_command_line().c_str());
      std::fflush(stdout);
    }
    dist::barrier();
    return 0;
  }

  model->to(torch::kCPU);  // model files are device-neutral
  if (dist::is_root()) {
    store::ModelMeta meta;
    meta.method = a.method;
    meta.task = store_meta.task;
    meta.theta_dim = store_meta.theta_dim;
    meta.x_dim = store_meta.x_dim;
    meta.theta_labels = store_meta.theta_labels;
    if (!store_meta.prior_json.empty()) meta.prior = nlohmann::json::parse(store_meta.prior_json);
    meta.estimator = model->config();
    meta.training = a.options.to_json();
    meta.history = h.to_json();
    meta.data = {{"store", a.data},
                 {"rows", rows},
                 {"dropped_rows", source->dropped_rows()},
                 {"seed", store_meta.seed},
                 {"loading", source->mode()}};
    meta.ranks = dist::size();
    meta.threads_per_rank = threads;
    meta.device = a.device;
    meta.backend = a.backend;
    meta.train_seconds = h.seconds;
    meta.epochs = static_cast<int64_t>(h.train_loss.size());
    meta.simbi_version = kVersion;
    meta.created = store::utc_now_iso8601();
    store::save_model_file(a.out, *model, meta);
    // The model file is the result; the checkpoint of the finished run is removed with it in place.
    std::error_code ec;
    const auto ckpt_bytes = std::filesystem::exists(ckpt_path) ? std::filesystem::file_size(ckpt_path, ec) : 0;
    std::filesystem::remove(ckpt_path, ec);
    std::filesystem::remove(ckpt_path + ".tmp", ec);  // left by a kill during a checkpoint write
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
    if (h.checkpoints > 0)
      std::printf(
          "  checkpoints: %lld written (%.1f ms each, %.2f MB), stop/checkpoint agreement %.3f ms/step; "
          "%s removed\n",
          static_cast<long long>(h.checkpoints), 1e3 * h.checkpoint_seconds / static_cast<double>(h.checkpoints),
          static_cast<double>(ckpt_bytes) / 1e6, h.control_seconds * per, ckpt_path.c_str());
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
  sub->add_option("--method", a->method, "cpvae | upvae | ace | ene (Embed and Emulate)");
  sub->add_option("--out", a->out, "Model file to write")->required();
  sub->add_option("--seed", a->seed, "Seed (split, shuffling, initialisation)")->capture_default_str();
  sub->add_option("--device", a->device, "cpu | cuda")->capture_default_str();
  sub->add_option("--backend", a->backend, "Gradient sync: mpi | nccl")->capture_default_str();
  sub->add_flag("--resume", a->resume,
                "Continue from the checkpoint OUT.ckpt if there is one (any rank count), else start from scratch");
  sub->add_option("--checkpoint-every-epochs", a->checkpoint_every_epochs,
                  "Write OUT.ckpt at the end of every k-th epoch (0 = only on a stop signal / --checkpoint-seconds)")
      ->capture_default_str();
  sub->add_option("--checkpoint-seconds", a->checkpoint_seconds,
                  "Also write OUT.ckpt at the first step this many seconds after the last one (0 = off)");
  sub->add_option("--data-loading", a->data_loading,
                  "auto | memory | stream: hold all rows on every rank (rank-count invariant), or stream each "
                  "rank's shard from the store in windows (bounded memory); auto streams stores too big for memory")
      ->capture_default_str();
  sub->add_option("--stream-buffer-mb", a->stream_buffer_mb,
                  "Streaming: MB of rows each rank holds and shuffles at a time")
      ->capture_default_str();
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
  sub->add_option("--kl-warmup-epochs", o.kl_warmup_epochs,
                  "VAEs: ramp the KL term's weight from 1/N to 1 over the first N epochs (0 = off)")
      ->capture_default_str();
  sub->add_option("--lr-decay-factor", o.lr_decay_factor, "Learning-rate decay factor on a plateau")
      ->capture_default_str();
  sub->add_option("--lr-schedule", o.lr_schedule,
                  "constant | cosine (to 0 at --max-epochs; E&E's schedule), after --lr-warmup-epochs")
      ->capture_default_str();
  sub->add_option("--lr-warmup-epochs", o.lr_warmup_epochs, "Linear learning-rate warm-up over the first N epochs")
      ->capture_default_str();
  sub->add_option("--clip-norm", o.clip_norm, "Gradient-norm clipping (0 = off)")->capture_default_str();
  sub->add_option("--validation-fraction", o.validation_fraction, "Held-out fraction")->capture_default_str();
  sub->add_option("--max-minutes", a->max_minutes, "Stop after this many minutes (keeps the best weights)");
  sub->add_option("--latent-dim", a->latent_dim, "VAE latent dimension (default: dim θ)");
  sub->add_option("--width", a->ace.width, "ACE: units per residual block")->capture_default_str();
  sub->add_option("--blocks", a->ace.blocks, "ACE: residual blocks")->capture_default_str();
  sub->add_option("--distance", a->distance, "ACE: mse | mmd2 | zmae (default: the task's own distance)");
  sub->add_option("--distance-params", a->distance_params, "ACE: the distance's parameters as JSON, e.g. "
                  "'{\"set_size\": 5, \"point_dim\": 2}'");
  sub->add_option("--activation", a->activation, "ACE: relu (the paper's) | silu")->capture_default_str();
  sub->add_option("--ace-output", a->ace_output,
                  "ACE: the cost from the network's output h: linear (m̄·h) | softplus (m̄·softplus(h), the paper's)")
      ->capture_default_str();
  sub->add_option("--ace-head", a->ace_head,
                  "ACE: network (ĉ from a network on [θ, x_o], the paper's) | moments (mse distance only: a network "
                  "on θ predicts the simulator's mean and variance term; exact in x_o)")
      ->capture_default_str();
  sub->add_option("--ace-train-targets", a->ace.train_targets,
                  "ACE: targets paired with each θ per training step (the paper: 2)")
      ->capture_default_str();
  sub->add_option("--ace-noise-targets", a->ace.noise_targets,
                  "ACE: noise-augmented copies of training x in the target set (the paper: 100; more covers "
                  "misspecified observations better)")
      ->capture_default_str();
  sub->add_option("--ace-targets", a->ace_targets,
                  "ACE: observations (CSV or FILE.h5) added to the training targets (the paper's known x_o)");
  auto& e = a->ene;
  sub->add_option("--embed-dim", e.embed_dim, "E&E: embedding dimension d")->capture_default_str();
  sub->add_option("--tau", e.tau, "E&E: InfoNCE temperature")->capture_default_str();
  sub->add_option("--encoder", e.encoder, "E&E: encoder of x, mlp | conv (time series)")->capture_default_str();
  sub->add_option("--series-channels", e.series_channels,
                  "E&E conv: channels of the time series x = [channels, time] row-major")
      ->capture_default_str();
  sub->add_option("--conv-channels", a->conv_channels, "E&E conv: channels of the conv layers, e.g. 32,64,128");
  sub->add_option("--crop", e.crop, "E&E conv: training window (random crop) length, 0 = whole series")
      ->capture_default_str();
  sub->add_option("--test-windows", e.test_windows, "E&E conv: windows averaged at test time")->capture_default_str();
  sub->add_option("--emulator-width", e.emulator_width, "E&E: units of the emulator's residual MLP")
      ->capture_default_str();
  sub->add_option("--emulator-blocks", e.emulator_blocks, "E&E: residual blocks of the emulator")
      ->capture_default_str();
  sub->add_option("--intra-weight", e.intra_weight, "E&E: weight of the intra-domain InfoNCE terms (0 = off)")
      ->capture_default_str();
  sub->add_option("--jitter", e.jitter, "E&E: std of the intra-domain views' jitter (z-scored units)")
      ->capture_default_str();
  sub->add_option("--memory-bank", e.memory_bank, "E&E: earlier embeddings kept as extra negatives (0 = off)")
      ->capture_default_str();
  sub->add_option("--ensemble", e.ensemble,
                  "E&E: critics trained side by side from different initialisations; the posterior uses their mean")
      ->capture_default_str();
  sub->add_option("--theta-fourier", e.theta_fourier,
                  "E&E: random Fourier features of θ before the emulator (0 = off; for thin posteriors in low dim θ)")
      ->capture_default_str();
  sub->add_option("--x-fourier", e.x_fourier, "E&E mlp: random Fourier features of x before the encoder (0 = off)")
      ->capture_default_str();
  sub->add_option("--fourier-scale", e.fourier_scale,
                  "E&E: std of the Fourier frequencies, in cycles per z-scored unit")
      ->capture_default_str();
  sub->add_option("--encoder-hidden", a->encoder_hidden,
                  "Hidden widths of q(z | x, θ) (VAEs) or of the MLP encoder f(x) (E&E), e.g. 64,64");
  sub->add_option("--prior-hidden", a->prior_hidden, "CP-VAE: hidden widths of p(z | x)");
  sub->add_option("--decoder-hidden", a->decoder_hidden, "Hidden widths of p(θ | x, z)");
  sub->add_option("--data-decoder-hidden", a->data_decoder_hidden, "UP-VAE: hidden widths of p(x | z)");
  sub->add_option("--threads", a->threads, "Torch threads per rank (default 1: small networks run fastest single-threaded; scale with ranks)");
  commands.push_back({sub, [a] { return run_train(*a); }});
}

}  // namespace simbi::cli
