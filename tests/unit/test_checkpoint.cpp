// Training checkpoints: the encoding round trip, the fingerprint checks (other config, changed data),
// and that fit() resumed from a checkpoint — at an epoch boundary and at a step inside an epoch —
// continues exactly as the uninterrupted run (same losses and weights, bit for bit, on one rank).
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <limits>
#include <string>

#include "simbi/core/error.hpp"
#include "simbi/estimators/estimator.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/train/checkpoint.hpp"
#include "simbi/train/trainer.hpp"

namespace simbi {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("simbi_" + std::to_string(::getpid()) + "_" + name)).string();
}

nlohmann::json tiny_cpvae() {
  return {{"method", "cpvae"},     {"theta_dim", 2},      {"x_dim", 2},           {"latent_dim", 2},
          {"encoder_hidden", {8}}, {"prior_hidden", {8}}, {"decoder_hidden", {8}}};
}

train::TrainingData toy_data() {
  torch::manual_seed(3);
  train::TrainingData d;
  d.theta = torch::randn({300, 2});
  d.x = d.theta + 0.1 * torch::randn({300, 2});
  return d;
}

// The fingerprint of training `config` with `o` on `data` (held in memory) from store `store`.
nlohmann::json fingerprint_of(const nlohmann::json& config, const train::TrainOptions& o, const std::string& store,
                              const train::TrainingData& data) {
  return train::training_fingerprint(config, o, train::in_memory_data_fingerprint(store, data));
}

train::TrainOptions toy_options(int64_t epochs, double ema_decay = 0.0) {
  train::TrainOptions o;
  o.ema_decay = ema_decay;
  o.batch_size = 32;
  o.lr = 1e-2;
  o.max_epochs = epochs;
  o.seed = 4;
  o.progress = false;
  return o;
}

std::shared_ptr<estimators::Estimator> fresh_model(uint64_t init_seed) {
  torch::manual_seed(init_seed);
  auto m = estimators::make_estimator(tiny_cpvae());
  torch::manual_seed(99);  // the training noise starts from the same state in every run
  return m;
}

void expect_same_parameters(estimators::Estimator& a, estimators::Estimator& b) {
  auto pb = b.named_parameters();
  for (const auto& p : a.named_parameters()) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
}

TEST(Checkpoint, EncodeDecodeRoundTrip) {
  train::TrainState s;
  s.epoch = 7;
  s.next_row = 64;
  s.epoch_loss_sum = 12.5;
  s.epoch_seconds = 0.25;
  s.last_decay_epoch = 3;
  s.history.train_loss = {3.0, 2.0};
  s.history.val_loss = {3.5, 2.5};
  s.history.epoch_seconds = {0.1, 0.1};
  s.history.lr = {1e-3, 5e-4};
  s.history.best_epoch = 1;
  s.history.best_val_loss = 2.5;
  s.history.steps = 20;
  s.history.resumes.push_back({{"epoch", 2}, {"row", 0}, {"ranks", 2}});
  s.model = {{"enc.layers.0.weight", torch::randn({4, 3})}, {"zscore.mean", torch::randn({3})}};
  s.best = {{"enc.layers.0.weight", torch::randn({4, 3})}};
  s.optimizer = {torch::randn({15}), torch::rand({15}), 20, 5e-4};
  s.rng = {torch::randint(0, 255, {5056}, torch::kUInt8), torch::randint(0, 255, {5056}, torch::kUInt8)};
  s.fingerprint = {{"estimator", tiny_cpvae()}};
  const train::TrainState d = train::decode_checkpoint(train::encode_checkpoint(s), "x.ckpt");
  EXPECT_EQ(d.epoch, 7);
  EXPECT_EQ(d.next_row, 64);
  EXPECT_EQ(d.epoch_loss_sum, 12.5);
  EXPECT_EQ(d.epoch_seconds, 0.25);
  EXPECT_EQ(d.last_decay_epoch, 3);
  EXPECT_EQ(d.history.val_loss, s.history.val_loss);
  EXPECT_EQ(d.history.lr, s.history.lr);
  EXPECT_EQ(d.history.best_epoch, 1);
  EXPECT_EQ(d.history.best_val_loss, 2.5);
  EXPECT_EQ(d.history.steps, 20);
  EXPECT_EQ(d.history.resumes, s.history.resumes);
  ASSERT_EQ(d.model.size(), 2u);
  EXPECT_EQ(d.model[0].first, "enc.layers.0.weight");
  EXPECT_TRUE(torch::equal(d.model[1].second, s.model[1].second));
  EXPECT_TRUE(torch::equal(d.best[0].second, s.best[0].second));
  EXPECT_TRUE(torch::equal(d.optimizer.v, s.optimizer.v));
  EXPECT_EQ(d.optimizer.t, 20);
  EXPECT_EQ(d.optimizer.lr, 5e-4);
  ASSERT_EQ(d.rng.size(), 2u);
  EXPECT_TRUE(torch::equal(d.rng[1], s.rng[1]));
  EXPECT_EQ(d.fingerprint, s.fingerprint);
  // Before the first validation the best loss is +inf (null in JSON) and must come back as +inf.
  s.history.best_val_loss = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(std::isinf(train::decode_checkpoint(train::encode_checkpoint(s), "x.ckpt").history.best_val_loss));
}

TEST(Checkpoint, ForeignBytesAreAFormatError) {
  try {
    train::decode_checkpoint("not a zip file", "bad.ckpt");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::format);
    EXPECT_NE(std::string(e.what()).find("bad.ckpt: not a simbi training checkpoint"), std::string::npos) << e.what();
  }
}

// One flipped bit in a tensor's bytes is a checksum error naming the file, not a silently different resume.
TEST(Checkpoint, AFlippedByteIsAChecksumError) {
  train::TrainState s;
  s.model = {{"w", torch::full({1000}, 1.5f)}};  // 1.5f = 00 00 c0 3f: easy to find in the bytes
  s.best = s.model;
  s.optimizer = {torch::zeros({1000}), torch::zeros({1000}), 1, 1e-3};
  s.fingerprint = {{"estimator", tiny_cpvae()}};
  const std::string good = train::encode_checkpoint(s);
  EXPECT_EQ(train::decode_checkpoint(good, "x.ckpt").format_version, train::kCheckpointVersion);
  const std::string pattern("\x00\x00\xc0\x3f\x00\x00\xc0\x3f", 8);
  const size_t at = good.find(pattern);
  ASSERT_NE(at, std::string::npos);
  std::string bad = good;
  bad[at + 4 * 100 + 2] ^= 0x01;  // 1.5 -> 1.5000001 in one weight
  try {
    train::decode_checkpoint(bad, "bad.ckpt");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::format);
    EXPECT_NE(std::string(e.what()).find("bad.ckpt: checksum mismatch (file corrupted): stored "), std::string::npos)
        << e.what();
  }
}

TEST(Checkpoint, FingerprintNamesWhatChanged) {
  const train::TrainingData data = toy_data();
  const train::TrainOptions o = toy_options(10);
  const nlohmann::json base = fingerprint_of(tiny_cpvae(), o, "s.h5", data);
  // max_epochs may change on resume; nothing else may.
  EXPECT_NO_THROW(
      train::check_fingerprint(base, fingerprint_of(tiny_cpvae(), toy_options(50), "s.h5", data), "m.ckpt"));
  auto message = [&](const nlohmann::json& now) {
    try {
      train::check_fingerprint(base, now, "m.ckpt");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  nlohmann::json wider = tiny_cpvae();
  wider["encoder_hidden"] = {16};
  EXPECT_NE(message(fingerprint_of(wider, o, "s.h5", data))
                .find("checkpoint m.ckpt was written for cpvae with encoder_hidden = [8], not cpvae with "
                      "encoder_hidden = [16]"),
            std::string::npos)
      << message(fingerprint_of(wider, o, "s.h5", data));
  nlohmann::json upvae = tiny_cpvae();
  upvae["method"] = "upvae";
  EXPECT_NE(message(fingerprint_of(upvae, o, "s.h5", data)).find("written for cpvae, not upvae"), std::string::npos);
  train::TrainOptions other_lr = o;
  other_lr.lr = 5e-3;
  EXPECT_NE(message(fingerprint_of(tiny_cpvae(), other_lr, "s.h5", data)).find("lr = 0.01, not cpvae with lr = 0.005"),
            std::string::npos);
  // One changed value in x, and one row fewer: "store ... changed".
  train::TrainingData changed = data;
  changed.x = data.x.clone();
  changed.x[17][1] = 0.5f;
  EXPECT_NE(message(fingerprint_of(tiny_cpvae(), o, "s.h5", changed))
                .find("store s.h5 changed since checkpoint m.ckpt was written (300 usable rows then, 300 now; "
                      "different contents)"),
            std::string::npos)
      << message(fingerprint_of(tiny_cpvae(), o, "s.h5", changed));
  changed.theta = data.theta.slice(0, 0, 299);
  changed.x = data.x.slice(0, 0, 299);
  EXPECT_NE(message(fingerprint_of(tiny_cpvae(), o, "s.h5", changed)).find("300 usable rows then, 299 now"),
            std::string::npos);
  // The same data under another path (a moved store) is fine.
  EXPECT_NO_THROW(train::check_fingerprint(base, fingerprint_of(tiny_cpvae(), o, "moved.h5", data), "m.ckpt"));
}

// Trains 3 epochs with checkpoints, resumes a freshly initialised model from the file to 6 epochs, and
// compares with 6 uninterrupted epochs.
void check_resume_is_exact(double every_seconds, int64_t expected_epoch, int64_t expected_row, double ema = 0.0) {
  const train::TrainingData data = toy_data();
  auto sync = train::make_mpi_grad_sync();
  auto uninterrupted = fresh_model(1);
  const train::TrainHistory full = train::fit(*uninterrupted, data, toy_options(6, ema), *sync);

  const std::string path = temp_path("resume.ckpt");
  train::CheckpointPlan plan;
  plan.path = path;
  plan.every_seconds = every_seconds;
  plan.poll_seconds = 0.0;  // agree at every step, so a timed checkpoint lands on the last step
  plan.fingerprint = fingerprint_of(tiny_cpvae(), toy_options(6, ema), "toy", data);
  auto first = fresh_model(1);
  const train::TrainHistory part = train::fit(*first, data, toy_options(3, ema), *sync, plan);
  ASSERT_EQ(part.val_loss.size(), 3u);
  EXPECT_GT(part.checkpoints, 0);
  const train::TrainState state = train::decode_checkpoint(store::read_whole_file(path), path);
  EXPECT_EQ(state.epoch, expected_epoch);
  EXPECT_EQ(state.next_row, expected_row);
  EXPECT_EQ(state.ema.defined(), ema > 0);

  auto resumed = fresh_model(2);  // other initial weights: everything must come from the checkpoint
  const train::TrainHistory rest = train::fit(*resumed, data, toy_options(6, ema), *sync, plan, &state);
  std::filesystem::remove(path);
  ASSERT_EQ(rest.val_loss.size(), full.val_loss.size());
  for (size_t e = 0; e < full.val_loss.size(); ++e) {
    EXPECT_EQ(rest.train_loss[e], full.train_loss[e]) << "epoch " << e;
    EXPECT_EQ(rest.val_loss[e], full.val_loss[e]) << "epoch " << e;
  }
  EXPECT_EQ(rest.best_epoch, full.best_epoch);
  EXPECT_EQ(rest.steps, full.steps);
  ASSERT_EQ(rest.resumes.size(), 1u);
  EXPECT_EQ(rest.resumes[0]["epoch"], expected_epoch + 1);
  expect_same_parameters(*resumed, *uninterrupted);
}

TEST(Checkpoint, ResumeAtAnEpochBoundaryContinuesExactly) {
  // Epoch-end checkpoints: the last one is after epoch 2 (the 3rd epoch ends the run, none then).
  check_resume_is_exact(0.0, 2, 0);
}

TEST(Checkpoint, ResumeInsideAnEpochContinuesExactly) {
  // A checkpoint at every step: the last one is after the last step of epoch 3, before its validation.
  check_resume_is_exact(1e-9, 2, 270);
}

TEST(Checkpoint, ResumeWithAWeightAverageContinuesExactly) {
  // The average is part of the state: without it the resumed run would validate other weights.
  check_resume_is_exact(1e-9, 2, 270, 0.9);
}

}  // namespace
}  // namespace simbi
