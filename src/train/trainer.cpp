#include "simbi/train/trainer.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>

#include "data_order.hpp"
#include "simbi/core/error.hpp"
#include "simbi/core/log.hpp"
#include "simbi/core/random.hpp"
#include "simbi/core/stop_signal.hpp"
#include "simbi/core/text.hpp"
#include "simbi/core/timing.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/sim_store.hpp"
#include "simbi/store/usable_rows.hpp"
#include "simbi/train/batch_exchange.hpp"
#include "simbi/train/checkpoint.hpp"
#include "simbi/train/flat_adamw.hpp"
#include "simbi/train/training_source.hpp"

namespace simbi::train {

namespace {

using detail::index_tensor;

using NamedState = NamedTensors;

NamedState snapshot(torch::nn::Module& m) {
  NamedState s;
  torch::NoGradGuard no_grad;
  // Copies on the CPU, wherever the model is (checkpoints are written from them).
  for (const auto& p : m.named_parameters()) s.emplace_back(p.key(), p.value().detach().to(torch::kCPU, false, true));
  for (const auto& b : m.named_buffers()) s.emplace_back(b.key(), b.value().detach().to(torch::kCPU, false, true));
  return s;
}

void restore(torch::nn::Module& m, const NamedState& s) {
  torch::NoGradGuard no_grad;
  auto params = m.named_parameters();
  auto buffers = m.named_buffers();
  for (const auto& [name, value] : s) {
    if (auto* p = params.find(name))
      p->copy_(value);
    else if (auto* b = buffers.find(name))
      b->copy_(value);
  }
}

// Standard-normal noise [hi - lo, dim] for rows lo..hi of a global batch of `rows`, from a stream keyed
// by (seed, key): every rank draws the whole batch and keeps its rows, so an example's noise depends on
// its position in the global batch only, never on the number of ranks. Undefined when dim = 0.
torch::Tensor batch_noise(uint64_t seed, uint64_t key, int64_t rows, int64_t dim, int64_t lo, int64_t hi) {
  if (dim == 0) return {};
  const uint64_t stream = mix64(mix64(seed + static_cast<uint64_t>(StreamPurpose::training_noise)) + key);
  at::Generator gen = at::detail::createCPUGenerator(stream);
  return torch::randn({rows, dim}, gen, torch::kFloat).slice(0, lo, hi);
}

// The key of a training step: its epoch and the position of its first row (0 is validation's).
uint64_t step_key(int64_t epoch, int64_t begin) {
  return mix64(static_cast<uint64_t>(epoch + 1)) + static_cast<uint64_t>(begin);
}

// torch's default CPU generator (the reparameterisation noise of the losses) as bytes, and back.
std::string generator_state() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  const torch::Tensor state = gen.get_state();
  return std::string(static_cast<const char*>(state.data_ptr()), static_cast<size_t>(state.numel()));
}

void set_generator_state(const torch::Tensor& state) {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

torch::Tensor bytes_tensor(const std::string& bytes) {
  return torch::from_blob(const_cast<char*>(bytes.data()), {static_cast<int64_t>(bytes.size())}, torch::kUInt8).clone();
}

// What the per-step agreement decides (allreduce max over ranks): a stop signal on any rank wins
// (kStopBase + its number), then a checkpoint that rank 0's clock says is due.
constexpr double kCheckpointDue = 1.0, kStopBase = 1000.0;

}  // namespace

nlohmann::json TrainOptions::to_json() const {
  nlohmann::json j = {{"batch_size", batch_size},
                      {"lr", lr},
                      {"weight_decay", weight_decay},
                      {"max_epochs", max_epochs},
                      {"patience", patience},
                      {"lr_decay_patience", lr_decay_patience},
                      {"kl_warmup_epochs", kl_warmup_epochs},
                      {"lr_decay_factor", lr_decay_factor},
                      {"lr_schedule", lr_schedule},
                      {"lr_warmup_epochs", lr_warmup_epochs},
                      {"clip_norm", clip_norm},
                      {"validation_fraction", validation_fraction},
                      {"seed", seed}};
  // Only when on: the fingerprints of runs without an average stay those of models trained before it existed.
  if (ema_decay > 0) j["ema_decay"] = ema_decay;
  if (!warm_start.empty()) j["warm_start"] = warm_start;
  if (atoms > 0) j["atoms"] = atoms;
  return j;
}

nlohmann::json TrainHistory::to_json() const {
  return {{"train_loss", train_loss},
          {"val_loss", val_loss},
          {"epoch_seconds", epoch_seconds},
          {"lr", lr},
          {"best_epoch", best_epoch + 1},
          {"best_val_loss", best_val_loss},
          {"val_log_prob", std::isfinite(val_log_prob) ? nlohmann::json(val_log_prob) : nlohmann::json()},
          {"train_rows", train_rows},
          {"val_rows", val_rows},
          {"seconds", seconds},
          {"allreduce_seconds", allreduce_seconds},
          {"steps", steps},
          {"stop_reason", stop_reason},
          {"step_seconds",
           {{"data", data_seconds},
            {"forward", forward_seconds},
            {"backward", backward_seconds},
            {"allreduce", allreduce_seconds},
            {"optimizer", optimizer_seconds}}},
          {"checkpoints", {{"written", checkpoints}, {"seconds", checkpoint_seconds}}},
          {"control_seconds", control_seconds},
          {"resumes", resumes}};
}

TrainHistory TrainHistory::from_json(const nlohmann::json& j) {
  TrainHistory h;
  j.at("train_loss").get_to(h.train_loss);
  j.at("val_loss").get_to(h.val_loss);
  j.at("epoch_seconds").get_to(h.epoch_seconds);
  j.at("lr").get_to(h.lr);
  h.best_epoch = j.at("best_epoch").get<int64_t>() - 1;
  // JSON has no infinity (written as null): the best loss before the first validation.
  const nlohmann::json& best = j.at("best_val_loss");
  h.best_val_loss = best.is_number() ? best.get<double>() : std::numeric_limits<double>::infinity();
  // Absent in checkpoints and models written before it was measured; null where there is none.
  const nlohmann::json lp = j.value("val_log_prob", nlohmann::json());
  h.val_log_prob = lp.is_number() ? lp.get<double>() : std::numeric_limits<double>::quiet_NaN();
  h.train_rows = j.at("train_rows").get<int64_t>();
  h.val_rows = j.at("val_rows").get<int64_t>();
  h.seconds = j.at("seconds").get<double>();
  h.allreduce_seconds = j.at("allreduce_seconds").get<double>();
  h.steps = j.at("steps").get<int64_t>();
  h.stop_reason = j.at("stop_reason").get<std::string>();
  const nlohmann::json& t = j.at("step_seconds");
  h.data_seconds = t.at("data").get<double>();
  h.forward_seconds = t.at("forward").get<double>();
  h.backward_seconds = t.at("backward").get<double>();
  h.optimizer_seconds = t.at("optimizer").get<double>();
  h.checkpoints = j.at("checkpoints").at("written").get<int64_t>();
  h.checkpoint_seconds = j.at("checkpoints").at("seconds").get<double>();
  h.control_seconds = j.at("control_seconds").get<double>();
  h.resumes = j.at("resumes");
  return h;
}

TrainingData load_training_data(const std::string& store_path, int64_t rows_end) {
  const store::SimStore s = store::SimStore::open_read(store_path);
  const int64_t n = s.meta().budget;
  Matrix theta, x;
  std::vector<uint8_t> status;
  s.read_rows(0, n, theta, x, status);
  if (rows_end > 0 && rows_end < n) std::fill(status.begin() + rows_end, status.end(), store::kNotSimulated);
  const std::vector<int64_t> keep = store::usable_rows(status, theta, x);
  require(!keep.empty(), ErrorKind::format,
          store_path + ": no usable rows to train on (" + std::to_string(n) +
              " rows, none simulated successfully; check the simulator or finish the store with --resume)");
  TrainingData d;
  const torch::Tensor all_theta = torch::from_blob(theta.data(), {n, theta.cols()}, torch::kFloat);
  const torch::Tensor all_x = torch::from_blob(x.data(), {n, x.cols()}, torch::kFloat);
  const torch::Tensor idx = index_tensor(keep, 0, keep.size());
  d.theta = all_theta.index_select(0, idx).clone();
  d.x = all_x.index_select(0, idx).clone();
  d.dropped_rows = n - static_cast<int64_t>(keep.size());
  return d;
}

void check_options(const TrainOptions& o) {
  // Every comparison is false for NaN, so NaN is refused with the range; infinities are refused by name.
  require(o.batch_size > 0, ErrorKind::invalid_argument,
          "--batch-size must be at least 1, got " + std::to_string(o.batch_size));
  require(o.lr > 0 && std::isfinite(o.lr), ErrorKind::invalid_argument,
          "--lr must be a finite number > 0, got " + format_number(o.lr, "%g"));
  require(o.weight_decay >= 0 && std::isfinite(o.weight_decay), ErrorKind::invalid_argument,
          "--weight-decay must be a finite number >= 0, got " + format_number(o.weight_decay, "%g"));
  require(o.max_epochs > 0, ErrorKind::invalid_argument,
          "--max-epochs must be at least 1, got " + std::to_string(o.max_epochs));
  require(o.patience > 0, ErrorKind::invalid_argument,
          "--patience must be at least 1 (epochs without improvement), got " + std::to_string(o.patience));
  require(o.kl_warmup_epochs >= 0, ErrorKind::invalid_argument,
          "--kl-warmup-epochs must be 0 (off) or positive, got " + std::to_string(o.kl_warmup_epochs));
  require(o.lr_decay_patience >= 0, ErrorKind::invalid_argument,
          "--lr-decay-patience must be 0 (off) or positive, got " + std::to_string(o.lr_decay_patience));
  require(o.lr_decay_factor > 0 && o.lr_decay_factor < 1, ErrorKind::invalid_argument,
          "--lr-decay-factor must be in (0, 1), got " + format_number(o.lr_decay_factor, "%g"));
  require(o.validation_fraction > 0 && o.validation_fraction < 1, ErrorKind::invalid_argument,
          "--validation-fraction must be in (0, 1), got " + format_number(o.validation_fraction, "%g"));
  require(o.lr_schedule == "constant" || o.lr_schedule == "cosine", ErrorKind::invalid_argument,
          "--lr-schedule must be constant or cosine, got '" + o.lr_schedule + "'");
  require(o.lr_warmup_epochs >= 0, ErrorKind::invalid_argument,
          "--lr-warmup-epochs must be 0 (off) or positive, got " + std::to_string(o.lr_warmup_epochs));
  require(o.lr_schedule != "cosine" || o.lr_decay_patience == 0, ErrorKind::invalid_argument,
          "--lr-schedule cosine and --lr-decay-patience exclude each other (pick one way to lower the rate)");
  require(o.clip_norm >= 0 && std::isfinite(o.clip_norm), ErrorKind::invalid_argument,
          "--clip-norm must be 0 (off) or a finite number > 0, got " + format_number(o.clip_norm, "%g"));
  require(o.atoms == 0 || o.atoms >= 2, ErrorKind::invalid_argument,
          "--atoms must be 0 (off) or at least 2, got " + std::to_string(o.atoms));
  require(o.ema_decay == 0 || (o.ema_decay > 0 && o.ema_decay < 1), ErrorKind::invalid_argument,
          "--ema-decay must be 0 (off) or in (0, 1), got " + format_number(o.ema_decay, "%g"));
  require(o.max_seconds > 0, ErrorKind::invalid_argument,
          "the time limit must be positive, got " + format_number(o.max_seconds, "%g") + " s");
}

namespace {

// The scheduled learning rate of `epoch` (0-based); NaN when the schedule leaves the rate alone (constant
// after the warm-up, where the plateau decay may have lowered it).
double scheduled_lr(const TrainOptions& o, int64_t epoch) {
  if (epoch < o.lr_warmup_epochs)
    return o.lr * static_cast<double>(epoch + 1) / static_cast<double>(o.lr_warmup_epochs);
  if (o.lr_schedule != "cosine") return epoch == o.lr_warmup_epochs && epoch > 0 ? o.lr : std::nan("");
  const double span = static_cast<double>(std::max<int64_t>(1, o.max_epochs - o.lr_warmup_epochs));
  return 0.5 * o.lr * (1.0 + std::cos(M_PI * static_cast<double>(epoch - o.lr_warmup_epochs) / span));
}

// Hands a batch-coupled estimator the exchange for the duration of fit() (and takes it back after).
class ExchangeScope {
 public:
  explicit ExchangeScope(estimators::Estimator& model) : model_(model) {
    if (!model.couples_batch()) return;
    exchange_ = make_mpi_batch_exchange();
    model.set_batch_exchange(exchange_.get());
  }
  ~ExchangeScope() {
    if (exchange_) model_.set_batch_exchange(nullptr);
  }
  ExchangeScope(const ExchangeScope&) = delete;
  ExchangeScope& operator=(const ExchangeScope&) = delete;

 private:
  estimators::Estimator& model_;
  std::unique_ptr<estimators::BatchExchange> exchange_;
};

// One run of fit(): what lives across epochs, and the parts of an epoch, one method each. Collective:
// every rank runs the same methods in the same order (the MPI calls are the sync's, the exchange's and
// dist's).
class TrainingLoop {
 public:
  TrainingLoop(estimators::Estimator& model, TrainingSource& source, const TrainOptions& o, GradSync& sync,
               const CheckpointPlan& plan, const TrainState* resume);
  TrainHistory run();

 private:
  struct Epoch {
    int64_t index = 0;
    bool continued = false;         // resumed inside this epoch
    double seconds_before = 0.0;    // of this epoch, before the resume
    SteadyClock::time_point start;  // of this epoch in this process
    int64_t rows = 0;               // training rows of this epoch (all ranks)
    double loss_sum = 0.0;          // this rank's summed losses (rank 0 also the sum before a resume)
  };

  void continue_from(const TrainState& resume);
  // The epoch's optimizer steps; false when a stop signal ended them (after the checkpoint).
  bool train_epoch(Epoch& e);
  void train_step(Epoch& e, int64_t step);
  // At a step boundary, every `poll_every_` steps: the ranks agree whether to stop or checkpoint now.
  // False when they stop (after the checkpoint).
  bool agree_at_step(const Epoch& e, int64_t step);
  double validation_loss();
  // The weights validation and the best-weights snapshot see: the average with --ema-decay, else the
  // current ones. evaluated_weights() swaps the average in (a no-op without one); training_weights()
  // swaps the optimizer's weights back.
  void evaluated_weights();
  void training_weights();
  void update_average();
  // History, best weights, learning-rate decay, progress and the end-of-epoch checkpoint; true when
  // training ends here.
  bool end_epoch(const Epoch& e, double train_loss, double val_loss);
  void write_checkpoint(int64_t epoch, int64_t next_row, double local_loss_sum, double epoch_seconds);
  TrainHistory finish(bool stopped);
  double validation_log_prob();
  torch::Tensor on_device(const torch::Tensor& t) const { return t.defined() ? t.to(o_.device) : t; }

  estimators::Estimator& model_;
  TrainingSource& source_;
  const TrainOptions& o_;
  GradSync& sync_;
  const CheckpointPlan& plan_;
  const TrainState* resume_;
  const SteadyClock::time_point t_start_ = SteadyClock::now();
  int64_t theta_cols_ = 0, x_cols_ = 0;
  int64_t noise_dim_ = 0;
  bool coupled_ = false;  // a batch-coupled loss (contrastive) runs on every rank at every step
  // The KL warm-up's last epoch: early stopping and the learning-rate decay count from the next one.
  int64_t warmed_up_ = 0;
  std::unique_ptr<ExchangeScope> exchange_scope_;
  std::unique_ptr<FlatAdamW> optimizer_;
  torch::Tensor ema_, held_;  // the averaged flat weights; the optimizer's while the average is swapped in
  TrainHistory h_;
  NamedState best_state_;
  int64_t last_decay_epoch_ = -1, start_epoch_ = 0, start_row_ = 0;
  double start_loss_sum_ = 0.0, start_epoch_seconds_ = 0.0, seconds_before_ = 0.0, allreduce_before_ = 0.0;
  SteadyClock::time_point last_checkpoint_ = SteadyClock::now();
  double last_print_ = -1e9;
  int64_t poll_every_ = 1;  // steps between agreements; the same on every rank (broadcast from rank 0)
};

TrainingLoop::TrainingLoop(estimators::Estimator& model, TrainingSource& source, const TrainOptions& o, GradSync& sync,
                           const CheckpointPlan& plan, const TrainState* resume)
    : model_(model), source_(source), o_(o), sync_(sync), plan_(plan), resume_(resume) {
  {
    const auto [theta, x] = source.standardization_rows();
    // A warm start keeps the standardization its weights were trained with.
    if (o.warm_start.empty()) model.fit_standardization(theta, x);
    theta_cols_ = theta.size(1);
    x_cols_ = x.size(1);
  }
  // Rows and noise are made on the CPU and moved to the model's device (a no-op on the CPU).
  model.to(o.device);
  noise_dim_ = model.noise_dim();
  coupled_ = model.couples_batch();
  warmed_up_ = o.kl_warmup_epochs - 1;
  exchange_scope_ = std::make_unique<ExchangeScope>(model);
  std::vector<torch::Tensor> params = model.parameters();
  if (resume) restore(model, resume->model);
  sync.broadcast_parameters(params);
  AdamWOptions adam;
  adam.lr = o.lr;
  adam.weight_decay = o.weight_decay;
  optimizer_ = std::make_unique<FlatAdamW>(params, adam);
  if (o.ema_decay > 0) ema_ = optimizer_->flat_params().detach().clone();
  if (resume)
    continue_from(*resume);
  else
    best_state_ = snapshot(model);
  h_.train_rows = source.train_rows();
  h_.val_rows = source.val_rows();
}

void TrainingLoop::continue_from(const TrainState& resume) {
  optimizer_->load_state(resume.optimizer);
  if (ema_.defined()) {
    require(resume.ema.defined() && resume.ema.numel() == ema_.numel(), ErrorKind::format,
            "checkpoint has no weight average of " + std::to_string(ema_.numel()) + " values for --ema-decay");
    ema_.copy_(resume.ema);
  }
  best_state_ = resume.best;
  h_ = resume.history;
  h_.stop_reason.clear();
  last_decay_epoch_ = resume.last_decay_epoch;
  start_epoch_ = resume.epoch;
  start_row_ = resume.next_row;
  start_loss_sum_ = resume.epoch_loss_sum;
  start_epoch_seconds_ = resume.epoch_seconds;
  seconds_before_ = h_.seconds;
  allreduce_before_ = h_.allreduce_seconds;
  h_.resumes.push_back({{"epoch", start_epoch_ + 1}, {"row", start_row_}, {"ranks", dist::size()}});
  // For losses that draw from torch's generator (noise_dim() = 0; the VAEs' noise is keyed by batch
  // position instead): the same rank count continues every rank's stream exactly; another one cannot,
  // so each rank starts a fresh stream.
  if (static_cast<int>(resume.rng.size()) == dist::size()) {
    set_generator_state(resume.rng[static_cast<size_t>(dist::rank())]);
  } else {
    torch::manual_seed(mix64(mix64(o_.seed) + static_cast<uint64_t>(start_epoch_)) +
                       static_cast<uint64_t>(dist::rank()));
  }
}

TrainHistory TrainingLoop::run() {
  for (int64_t epoch = start_epoch_; epoch < o_.max_epochs; ++epoch) {
    Epoch e;
    e.index = epoch;
    e.start = SteadyClock::now();
    e.continued = resume_ && epoch == start_epoch_;
    e.seconds_before = e.continued ? start_epoch_seconds_ : 0.0;
    if (!train_epoch(e)) return finish(true);
    const double train_loss = sync_.allreduce_sum(e.loss_sum) / static_cast<double>(e.rows);
    evaluated_weights();
    const double val_loss = validation_loss();
    training_weights();
    if (end_epoch(e, train_loss, val_loss)) break;
  }
  return finish(false);
}

bool TrainingLoop::train_epoch(Epoch& e) {
  const int64_t epoch = e.index;
  model_.train();
  if (const double lr = scheduled_lr(o_, epoch); std::isfinite(lr)) optimizer_->set_lr(lr);
  // The KL weight of this epoch. Early stopping and the learning-rate decay count from the first
  // full-weight epoch: while the weight ramps up, the (full-weight) validation loss may rise.
  model_.set_kl_weight(epoch < warmed_up_ ? static_cast<double>(epoch + 1) / static_cast<double>(o_.kl_warmup_epochs)
                                          : 1.0);
  const int64_t steps = source_.steps(epoch, o_.batch_size);
  require(steps > 0, ErrorKind::invalid_argument,
          "--batch-size " + std::to_string(o_.batch_size) + " is larger than the " +
              std::to_string(source_.train_rows()) + " training rows" +
              (source_.mode() == "stream" ? " (of the smallest rank's shard)" : ""));
  e.rows = source_.epoch_rows(epoch, o_.batch_size);
  const int64_t first_step = e.continued ? (start_row_ + o_.batch_size - 1) / o_.batch_size : 0;
  source_.begin_epoch(epoch, first_step, o_.batch_size);
  // The loss summed before a mid-epoch checkpoint is counted once (on rank 0).
  e.loss_sum = e.continued && dist::is_root() ? start_loss_sum_ : 0.0;
  const auto t_steps = SteadyClock::now();
  int64_t epoch_steps = 0;
  for (int64_t step = first_step; step < steps; ++step) {
    train_step(e, step);
    ++epoch_steps;
    if (plan_.path.empty() || h_.steps % poll_every_ != 0) continue;
    if (!agree_at_step(e, step)) return false;
  }
  if (!plan_.path.empty()) {  // agree about every poll_seconds
    int64_t k =
        std::llround(plan_.poll_seconds * static_cast<double>(epoch_steps) / std::max(1e-9, seconds_since(t_steps)));
    k = std::clamp<int64_t>(k, 1, 1000);
    dist::broadcast(k);
    poll_every_ = k;
  }
  return true;
}

void TrainingLoop::train_step(Epoch& e, int64_t step) {
  const int64_t begin = step * o_.batch_size;
  auto t = SteadyClock::now();
  auto lap = [&t](double& into) {
    const auto now = SteadyClock::now();
    into += std::chrono::duration<double>(now - t).count();
    t = now;
  };
  optimizer_->zero_grad();
  const Batch batch = source_.next_batch();
  const int64_t rows = batch.rows;
  if (batch.hi > batch.lo || coupled_) {
    const bool empty = batch.hi == batch.lo;
    const torch::Tensor theta_b = on_device(empty ? torch::empty({0, theta_cols_}) : batch.theta);
    const torch::Tensor x_b = on_device(empty ? torch::empty({0, x_cols_}) : batch.x);
    lap(h_.data_seconds);
    const torch::Tensor noise =
        on_device(batch_noise(o_.seed, step_key(e.index, begin), rows, noise_dim_, batch.lo, batch.hi));
    const torch::Tensor losses = model_.loss_with_noise(theta_b, x_b, noise);
    // Sum over this rank's rows divided by the global batch: summing gradients over ranks then
    // gives exactly the gradient of the global batch mean.
    const torch::Tensor summed = losses.sum();
    e.loss_sum += summed.item<double>();
    lap(h_.forward_seconds);
    (summed / static_cast<double>(rows)).backward();
    lap(h_.backward_seconds);
  }
  sync_.allreduce_sum_flat(optimizer_->flat_grads());
  t = SteadyClock::now();  // allreduce time is counted by the sync itself
  if (o_.clip_norm > 0) optimizer_->clip_grad_norm(o_.clip_norm);
  optimizer_->step();
  update_average();
  lap(h_.optimizer_seconds);
  ++h_.steps;
}

void TrainingLoop::update_average() {
  if (!ema_.defined()) return;
  torch::NoGradGuard no_grad;
  const double t = static_cast<double>(optimizer_->steps());
  const double d = std::min(o_.ema_decay, (1.0 + t) / (10.0 + t));
  ema_.mul_(d).add_(optimizer_->flat_params(), 1.0 - d);
}

void TrainingLoop::evaluated_weights() {
  if (!ema_.defined()) return;
  torch::NoGradGuard no_grad;
  held_ = optimizer_->flat_params().detach().clone();
  optimizer_->flat_params().copy_(ema_);
}

void TrainingLoop::training_weights() {
  if (!held_.defined()) return;
  torch::NoGradGuard no_grad;
  optimizer_->flat_params().copy_(held_);
  held_ = torch::Tensor();
}

bool TrainingLoop::agree_at_step(const Epoch& e, int64_t step) {
  const auto t = SteadyClock::now();
  // Step boundary: all ranks agree whether to stop (a signal on any rank) or checkpoint now.
  double action = stop_signal() != 0 ? kStopBase + stop_signal() : 0.0;
  if (action == 0.0 && plan_.every_seconds > 0 && dist::is_root() &&
      seconds_since(last_checkpoint_) >= plan_.every_seconds)
    action = kCheckpointDue;
  action = dist::allreduce_max(action);
  h_.control_seconds += seconds_since(t);
  if (action == 0.0) return true;
  write_checkpoint(e.index, std::min((step + 1) * o_.batch_size, e.rows), e.loss_sum,
                   e.seconds_before + seconds_since(e.start));
  if (action < kStopBase) return true;
  h_.stop_signal = static_cast<int>(action - kStopBase);
  return false;
}

double TrainingLoop::validation_loss() {
  model_.eval();
  model_.set_kl_weight(1.0);
  double val_sum = 0.0;
  {
    torch::NoGradGuard no_grad;
    source_.for_each_validation_piece([&](const ValidationPiece& v) {
      const torch::Tensor noise =
          on_device(batch_noise(o_.seed, v.noise_key, v.noise_rows, noise_dim_, v.lo, v.lo + v.theta.size(0)));
      val_sum += model_.loss_with_noise(on_device(v.theta), on_device(v.x), noise).sum().item<double>();
    });
  }
  return sync_.allreduce_sum(val_sum) / static_cast<double>(source_.val_rows());
}

// Collective (an allreduce on every rank; the estimator's kind is the same on all of them).
double TrainingLoop::validation_log_prob() {
  auto* density = dynamic_cast<estimators::PosteriorDensity*>(&model_);
  if (density == nullptr || source_.val_rows() == 0) return std::numeric_limits<double>::quiet_NaN();
  model_.eval();
  double sum = 0.0;
  {
    torch::NoGradGuard no_grad;
    source_.for_each_validation_piece([&](const ValidationPiece& v) {
      if (v.theta.size(0) > 0) sum += density->log_prob(on_device(v.theta), on_device(v.x)).sum().item<double>();
    });
  }
  const double mean = sync_.allreduce_sum(sum) / static_cast<double>(source_.val_rows());
  return std::isfinite(mean) ? mean : std::numeric_limits<double>::quiet_NaN();
}

bool TrainingLoop::end_epoch(const Epoch& e, double train_loss, double val_loss) {
  const int64_t epoch = e.index;
  h_.lr.push_back(optimizer_->lr());
  h_.train_loss.push_back(train_loss);
  h_.val_loss.push_back(val_loss);
  h_.epoch_seconds.push_back(e.seconds_before + seconds_since(e.start));
  require(std::isfinite(train_loss) && std::isfinite(val_loss), ErrorKind::numeric,
          "training diverged at epoch " + std::to_string(epoch + 1) + " (loss is not finite); try a smaller --lr");
  if (val_loss < h_.best_val_loss) {
    h_.best_val_loss = val_loss;
    h_.best_epoch = epoch;
    evaluated_weights();
    best_state_ = snapshot(model_);
    training_weights();
  }
  if (o_.lr_decay_patience > 0 &&
      epoch - std::max({h_.best_epoch, last_decay_epoch_, warmed_up_}) >= o_.lr_decay_patience) {
    optimizer_->set_lr(optimizer_->lr() * o_.lr_decay_factor);
    last_decay_epoch_ = epoch;
    if (o_.progress) {
      char line[120];
      std::snprintf(line, sizeof line, "epoch %lld: no improvement for %lld epochs, learning rate -> %.3g",
                    static_cast<long long>(epoch + 1), static_cast<long long>(o_.lr_decay_patience), optimizer_->lr());
      log::info(line);
    }
  }
  const double elapsed = seconds_since(t_start_);
  const bool patience_over = epoch - std::max(h_.best_epoch, warmed_up_) >= o_.patience;
  // Ranks must agree: any rank over the limit stops all.
  const bool out_of_time =
      std::isfinite(o_.max_seconds) && sync_.allreduce_sum(elapsed >= o_.max_seconds ? 1.0 : 0.0) > 0.0;
  const bool last = patience_over || out_of_time || epoch + 1 == o_.max_epochs;
  if (o_.progress && (elapsed - last_print_ >= 2.0 || last || epoch == start_epoch_)) {
    last_print_ = elapsed;
    char line[200];
    std::snprintf(line, sizeof line, "epoch %lld: train %.4f  val %.4f  (best %.4f at epoch %lld)  %.2f s/epoch",
                  static_cast<long long>(epoch + 1), train_loss, val_loss, h_.best_val_loss,
                  static_cast<long long>(h_.best_epoch + 1), h_.epoch_seconds.back());
    log::info(line);
  }
  if (patience_over) {
    h_.stop_reason = "early stopping: no improvement for " + std::to_string(o_.patience) + " epochs";
    return true;
  }
  if (out_of_time) {
    h_.stop_reason = "time limit reached";
    return true;
  }
  if (!last && !plan_.path.empty() && plan_.every_epochs > 0 && (epoch + 1) % plan_.every_epochs == 0)
    write_checkpoint(epoch + 1, 0, 0.0, 0.0);
  return false;
}

// Collective: every rank contributes its loss so far and generator state; rank 0 writes (an I/O error
// there is agreed, so no rank is left waiting).
void TrainingLoop::write_checkpoint(int64_t epoch, int64_t next_row, double local_loss_sum, double epoch_seconds) {
  const auto t0 = SteadyClock::now();
  const double loss_sum_all = sync_.allreduce_sum(local_loss_sum);
  const std::vector<std::string> rng = dist::gather(generator_state());
  ++h_.checkpoints;
  dist::run_agreed([&] {
    if (!dist::is_root()) return;
    TrainState s;
    s.epoch = epoch;
    s.next_row = next_row;
    s.epoch_loss_sum = loss_sum_all;
    s.epoch_seconds = epoch_seconds;
    s.last_decay_epoch = last_decay_epoch_;
    s.history = h_;
    s.history.seconds = seconds_before_ + seconds_since(t_start_);
    s.history.allreduce_seconds = allreduce_before_ + sync_.seconds_in_allreduce();
    s.model = snapshot(model_);
    s.best = best_state_;
    s.optimizer = optimizer_->state();
    if (ema_.defined()) s.ema = ema_.clone();
    for (const std::string& r : rng) s.rng.push_back(bytes_tensor(r));
    s.fingerprint = plan_.fingerprint;
    store::write_file_atomically(plan_.path, encode_checkpoint(s));
  });
  h_.checkpoint_seconds += seconds_since(t0);
  last_checkpoint_ = SteadyClock::now();
}

TrainHistory TrainingLoop::finish(bool stopped) {
  if (stopped) {
    h_.stop_reason = std::string("stopped by ") + signal_name(h_.stop_signal);
  } else {
    if (h_.stop_reason.empty()) h_.stop_reason = "max epochs reached";
    restore(model_, best_state_);
    h_.val_log_prob = validation_log_prob();
  }
  h_.seconds = seconds_before_ + seconds_since(t_start_);
  h_.allreduce_seconds = allreduce_before_ + sync_.seconds_in_allreduce();
  return h_;
}

}  // namespace

TrainHistory fit(estimators::Estimator& model, const TrainingData& data, const TrainOptions& o, GradSync& sync,
                 const CheckpointPlan& plan, const TrainState* resume) {
  check_options(o);
  const std::unique_ptr<TrainingSource> source = make_in_memory_source(data, "", o.seed, o.validation_fraction);
  return fit(model, *source, o, sync, plan, resume);
}

TrainHistory fit(estimators::Estimator& model, TrainingSource& source, const TrainOptions& o, GradSync& sync,
                 const CheckpointPlan& plan, const TrainState* resume) {
  check_options(o);
  TrainingLoop loop(model, source, o, sync, plan, resume);
  return loop.run();
}

}  // namespace simbi::train
