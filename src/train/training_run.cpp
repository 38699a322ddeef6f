#include "simbi/train/training_run.hpp"

#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <optional>

#include "simbi/core/log.hpp"
#include "simbi/core/random.hpp"
#include "simbi/core/text.hpp"
#include "simbi/core/version.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/estimators/ace.hpp"
#include "simbi/estimators/npe.hpp"
#include "simbi/sim/prior.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/model_file.hpp"
#include "simbi/store/store_lock.hpp"
#include "simbi/store/table.hpp"
#include "simbi/train/checkpoint.hpp"
#include "simbi/train/training_source.hpp"

namespace simbi::train {

namespace {

// --data-loading auto: rows in memory when the store's θ and x take at most 1/8 of this machine's
// memory per rank (every rank holds all rows, plus copies while splitting), else streamed.
std::string choose_data_loading(const std::string& requested, const store::SimStoreMeta& m) {
  if (requested != "auto") return requested;
  const double data_bytes = 4.0 * static_cast<double>(m.budget) * static_cast<double>(m.theta_dim + m.x_dim);
  const double machine_bytes =
      static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
  return data_bytes <= machine_bytes / 8.0 / dist::size() ? "memory" : "stream";
}

// --device / --backend, the same verdict on every rank (called inside run_agreed): one GPU per rank
// (device = the rank's index on its node), so a node with fewer GPUs than ranks is refused, and so is
// a rank without CUDA while others have it (mixed CPU/GPU training).
void check_device_and_backend(const TrainRequest& a) {
  require(a.device == "cpu" || a.device == "cuda", ErrorKind::invalid_argument,
          "--device must be cpu or cuda, got '" + a.device + "'");
  require(a.backend == "mpi" || a.backend == "nccl", ErrorKind::invalid_argument,
          "--backend must be mpi or nccl, got '" + a.backend + "'");
  require(a.backend != "nccl" || nccl_compiled_in(), ErrorKind::invalid_argument,
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
          "--device cuda: rank " + std::to_string(dist::rank()) + " is process " +
              std::to_string(dist::local_rank() + 1) + " on its node but the node has " + std::to_string(gpus) +
              " GPU(s); start at most one rank per GPU");
}

// Rank 0 reads the checkpoint (if there is one) and broadcasts it; every rank decodes it and checks
// that it was written for this model, these options and this data.
std::optional<TrainState> read_checkpoint_for_resume(const std::string& path, const nlohmann::json& fingerprint,
                                                     int64_t max_epochs) {
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
  TrainState s;
  dist::run_agreed([&] {
    s = decode_checkpoint(bytes, path);
    check_fingerprint(s.fingerprint, fingerprint, path);
    // Finishing below the epochs done would write a model from fewer epochs than were trained and
    // remove the checkpoint with the rest: refused, the checkpoint stays.
    const int64_t done = static_cast<int64_t>(s.history.val_loss.size());
    require(max_epochs >= done, ErrorKind::invalid_argument,
            "--max-epochs " + std::to_string(max_epochs) + " is below the " + std::to_string(done) +
                " epochs checkpoint " + path + " has already trained (give at least " + std::to_string(done) +
                "; the checkpoint is kept)");
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

// With --resume, what the model file `out` says about this request, decided on rank 0 and broadcast:
// `finished` when it is a readable simbi model whose recorded training is this request's (same
// estimator config, training options, data rows and hash, and the same --max-epochs, or a run that
// stopped early before this one's limit), else `other` says why not ("" when there is no model file).
struct FinishedModel {
  bool finished = false;
  std::string summary;  // finished: what it is ("cpvae, 3 epochs (max epochs reached)")
  std::string other;    // not finished: why it is not this request's model
};

FinishedModel check_finished_model(const std::string& out, const nlohmann::json& fingerprint, int64_t max_epochs) {
  std::string verdict;  // "F<summary>" | "O<why>" | "" (no model file)
  if (dist::is_root() && std::filesystem::exists(out)) {
    try {
      const store::ModelMeta m = store::read_model_meta(out);
      const std::string what = "model file " + out;
      nlohmann::json training = m.training;
      const int64_t max_then = training.value("max_epochs", int64_t{-1});
      training.erase("max_epochs");
      const nlohmann::json saved = {{"estimator", m.estimator}, {"training", training}, {"data", m.data}};
      const std::string reason = m.history.value("stop_reason", std::string());
      const bool early = reason.rfind("early stopping", 0) == 0;
      std::string why;
      if (!m.data.contains("hash"))
        why = what + " does not record which rows it was trained on (written by an older simbi)";
      else
        why = fingerprint_difference(saved, fingerprint, what);
      if (why.empty() && max_then != max_epochs && !(early && m.epochs <= max_epochs))
        why = what + " finished " + std::to_string(m.epochs) + " epochs with --max-epochs " + std::to_string(max_then) +
              " (" + reason + "), not --max-epochs " + std::to_string(max_epochs);
      verdict = why.empty() ? "F" + m.method + ", " + std::to_string(m.epochs) + " epochs (" + reason + ")" : "O" + why;
    } catch (const std::exception& e) {
      log::warn(out + " is not a readable model file (" + e.what() + "); it will be replaced");
    }
  }
  dist::broadcast(verdict);
  FinishedModel f;
  if (verdict.empty()) return f;
  f.finished = verdict[0] == 'F';
  (f.finished ? f.summary : f.other) = verdict.substr(1);
  return f;
}

// The run's own options (the trainer's are checked by check_options); Error(invalid_argument) naming
// the option.
void check_run_options(const TrainRequest& a) {
  require(!a.estimator.method.empty(), ErrorKind::invalid_argument,
          "--method is required (cpvae, upvae, ace, ene, npe, fmpe or npse), on the command line or as `method` in "
          "the --config file");
  require(a.checkpoint_every_epochs >= 0, ErrorKind::invalid_argument,
          "--checkpoint-every-epochs must be 0 (off) or positive, got " + std::to_string(a.checkpoint_every_epochs));
  require(
      a.checkpoint_seconds >= 0 && std::isfinite(a.checkpoint_seconds), ErrorKind::invalid_argument,
      "--checkpoint-seconds must be 0 (off) or a finite number > 0, got " + format_number(a.checkpoint_seconds, "%g"));
  require(a.max_minutes >= 0 && std::isfinite(a.max_minutes), ErrorKind::invalid_argument,
          "--max-minutes must be 0 (no limit) or a finite number > 0, got " + format_number(a.max_minutes, "%g"));
  require(a.stream_buffer_mb > 0 && std::isfinite(a.stream_buffer_mb), ErrorKind::invalid_argument,
          "--stream-buffer-mb must be a finite number > 0, got " + format_number(a.stream_buffer_mb, "%g"));
  require(a.data_loading == "auto" || a.data_loading == "memory" || a.data_loading == "stream",
          ErrorKind::invalid_argument, "--data-loading must be auto, memory or stream, got '" + a.data_loading + "'");
}

}  // namespace

namespace {

// Rank 0: writes the finished model file with its metadata and removes the run's checkpoint; returns the
// checkpoint's size (for the report).
int64_t write_model_file(const TrainRequest& a, const store::SimStoreMeta& store_meta, estimators::Estimator& model,
                         const TrainHistory& h, const TrainingSource& source) {
  const std::string ckpt_path = checkpoint_path(a.out);
  store::ModelMeta meta;
  meta.method = a.estimator.method;
  meta.task = store_meta.task;
  meta.theta_dim = store_meta.theta_dim;
  meta.x_dim = store_meta.x_dim;
  meta.theta_labels = store_meta.theta_labels;
  if (!store_meta.prior_json.empty()) meta.prior = nlohmann::json::parse(store_meta.prior_json);
  meta.estimator = model.config();
  meta.training = a.options.to_json();
  meta.history = h.to_json();
  // The data part of the fingerprint (store, rows, dropped_rows, hash, loading), which --resume
  // compares to tell this request's finished model, and the store's simulation seed.
  meta.data = source.fingerprint();
  meta.data["seed"] = store_meta.seed;
  meta.ranks = dist::size();
  meta.threads_per_rank = a.threads;
  meta.device = a.device;
  meta.backend = a.backend;
  meta.train_seconds = h.seconds;
  meta.epochs = static_cast<int64_t>(h.train_loss.size());
  meta.simbi_version = kVersion;
  meta.created = store::utc_now_iso8601();
  store::save_model_file(a.out, model, meta);
  // The model file is the result; the checkpoint of the finished run is removed with it in place.
  std::error_code ec;
  const auto ckpt_bytes = std::filesystem::exists(ckpt_path) ? std::filesystem::file_size(ckpt_path, ec) : 0;
  std::filesystem::remove(ckpt_path, ec);
  std::filesystem::remove(ckpt_path + ".tmp", ec);  // left by a kill during a checkpoint write
  return static_cast<int64_t>(ckpt_bytes);
}

}  // namespace

TrainOutcome run_training(TrainRequest a) {
  const std::string ckpt_path = checkpoint_path(a.out);
  nlohmann::json fingerprint;
  store::SimStoreMeta store_meta;
  std::unique_ptr<TrainingSource> source;
  std::shared_ptr<estimators::Estimator> model;
  // Every option is checked before the store is opened (on every rank alike: one error line, at once).
  dist::run_agreed([&] {
    check_run_options(a);
    if (a.max_minutes > 0) a.options.max_seconds = 60.0 * a.max_minutes;
    if (dist::is_root()) store::require_writable_output(a.out, "--out");
    if (dist::is_root()) store::require_writable_output(ckpt_path, "--out (its checkpoint)");
    a.options.seed = a.seed;
    check_options(a.options);
    check_device_and_backend(a);
  });
  dist::run_agreed([&] {
    store_meta = store::SimStore::open_read(a.data).meta();
    require(a.task.empty() || a.task == store_meta.task, ErrorKind::invalid_argument,
            "task mismatch: " + a.data + " holds simulations of task '" + store_meta.task + "', but --task (or the " +
                "config's task) is '" + a.task + "'");
    // A store still being written is read as it is: only rows already marked simulated count
    // (docs/architecture.md, the store's lock); say so, since later rows will be missing.
    if (const auto writer = store::read_lock_holder(a.data))
      log::warn(a.data + " is being written by another job (" + writer->describe() +
                "); training uses only the rows completed so far");
    a.data_loading = a.rows_end > 0 ? "memory" : choose_data_loading(a.data_loading, store_meta);
    source = a.data_loading == "memory" ? make_in_memory_source(load_training_data(a.data, a.rows_end), a.data, a.seed,
                                                                a.options.validation_fraction)
                                        : make_streaming_source(a.data, a.seed, a.options.validation_fraction,
                                                                static_cast<int64_t>(a.stream_buffer_mb * (1 << 20)));
    torch::manual_seed(a.seed);  // the same initial weights on every rank (also broadcast from rank 0)
    model = estimators::make_estimator(estimator_config(a.estimator, store_meta));
    if (a.options.atoms > 0) {
      auto* npe = dynamic_cast<estimators::Npe*>(model.get());
      require(npe != nullptr, ErrorKind::invalid_argument,
              "--atoms (SNPE-C's atomic loss) is for --method npe, not " + a.estimator.method);
      require(!store_meta.prior_json.empty(), ErrorKind::invalid_argument,
              "--atoms: " + a.data + " records no prior, which the atomic loss needs");
      npe->set_atomic_loss(a.options.atoms, sim::prior_from_json(nlohmann::json::parse(store_meta.prior_json), a.data));
    }
    if (!a.init_from.empty()) {
      const store::ModelMeta init = store::read_model_meta(a.init_from);
      require(init.estimator == model->config(), ErrorKind::invalid_argument,
              "--init-from " + a.init_from + ": a " + init.method +
                  " model of another configuration than this training's (a warm start needs the same estimator)");
      store::load_model_weights(a.init_from, *model);
      a.options.warm_start = std::filesystem::path(a.init_from).filename().string() + " (" + init.created + ")";
    }
    if (!a.estimator.ace_targets.empty()) {
      auto* ace = dynamic_cast<estimators::Ace*>(model.get());
      require(ace != nullptr, ErrorKind::invalid_argument, "--ace-targets is for --method ace");
      Matrix targets = store::read_matrix(a.estimator.ace_targets, "/x", nullptr);
      ace->add_targets(torch::from_blob(targets.data(), {targets.rows(), targets.cols()}, torch::kFloat).clone());
    }
    fingerprint = training_fingerprint(model->config(), a.options, source->fingerprint());
  });
  TrainOutcome outcome;
  outcome.store = store_meta;
  outcome.checkpoint = ckpt_path;
  outcome.rows = source->train_rows() + source->val_rows();
  std::optional<TrainState> resume;
  if (a.resume) {
    // A finished model of this very request is the result already (a re-run after an interruption in a
    // later stage, a requeued job): nothing to train. One of another request is not silently reused or
    // replaced. See docs/architecture.md §6.
    const FinishedModel finished = check_finished_model(a.out, fingerprint, a.options.max_epochs);
    if (finished.finished) {
      outcome.skipped = finished.summary;
      dist::barrier();
      return outcome;
    }
    resume = read_checkpoint_for_resume(ckpt_path, fingerprint, a.options.max_epochs);
    dist::run_agreed([&] {
      require(resume || finished.other.empty(), ErrorKind::invalid_argument,
              finished.other +
                  "; --resume does not replace a finished model (delete it, or train without --resume to train "
                  "anew)");
    });
  } else if (dist::is_root() && std::filesystem::exists(ckpt_path)) {
    log::warn(ckpt_path + " (from an earlier run) will be replaced; pass --resume to continue from it instead");
  }
  // Different reparameterisation noise per rank (they see different rows anyway).
  torch::manual_seed(static_cast<uint64_t>(mix64(a.seed) + static_cast<uint64_t>(dist::rank())));
  const int64_t rows = source->train_rows() + source->val_rows();
  char window[64];
  std::snprintf(window, sizeof window, ", streamed (%g MB window per rank)", a.stream_buffer_mb);
  log::info(
      "train " + a.estimator.method + " on " + store_meta.task + ": " + std::to_string(rows) + " rows of " + a.data +
      (source->dropped_rows() ? " (" + std::to_string(source->dropped_rows()) + " failed or unsimulated rows dropped)"
                              : "") +
      (source->mode() == "stream" ? std::string(window) : ", in memory") + ", global batch " +
      std::to_string(a.options.batch_size) + " on " + std::to_string(dist::size()) + " rank(s) x " +
      std::to_string(a.threads) + " thread(s)");
  // Collective; the NCCL backend agrees its own errors (no GPU, NCCL init) across ranks.
  const std::unique_ptr<GradSync> sync =
      a.backend == "nccl" ? make_nccl_grad_sync(dist::local_rank()) : make_mpi_grad_sync();
  if (a.device == "cuda") a.options.device = torch::Device(torch::kCUDA, static_cast<int16_t>(dist::local_rank()));
  CheckpointPlan plan;
  plan.path = ckpt_path;
  plan.every_epochs = a.checkpoint_every_epochs;
  plan.every_seconds = a.checkpoint_seconds;
  plan.fingerprint = fingerprint;
  const TrainHistory h = fit(*model, *source, a.options, *sync, plan, resume ? &*resume : nullptr);
  outcome.history = h;
  if (h.stop_signal != 0) {
    dist::barrier();
    return outcome;
  }

  model->to(torch::kCPU);  // model files are device-neutral
  if (dist::is_root()) outcome.checkpoint_bytes = write_model_file(a, store_meta, *model, h, *source);
  dist::barrier();
  return outcome;
}

}  // namespace simbi::train
