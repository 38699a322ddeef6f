// The in-memory training source: every rank holds every usable row; each global batch is the same
// rows on any number of ranks (rank r takes its slice), so training is rank-count invariant.
#include <utility>

#include "data_order.hpp"
#include "simbi/core/error.hpp"
#include "simbi/train/checkpoint.hpp"
#include "simbi/train/trainer.hpp"
#include "simbi/train/training_source.hpp"

namespace simbi::train {

namespace {

using detail::index_tensor;
using detail::my_slice;
using detail::permutation;

class InMemorySource final : public TrainingSource {
 public:
  InMemorySource(TrainingData data, const std::string& store_path, uint64_t seed, double validation_fraction)
      : seed_(seed), dropped_(data.dropped_rows) {
    const int64_t n = data.theta.size(0);
    require(n >= 2, ErrorKind::format, "training needs at least 2 usable rows, got " + std::to_string(n));
    fingerprint_ = in_memory_data_fingerprint(store_path, data);
    // Split by seed: the first n_val rows of a seeded permutation are the validation set.
    const std::vector<int64_t> order = permutation(n, seed, StreamPurpose::shuffle, 0);
    n_val_ = detail::validation_count(n, validation_fraction);
    const torch::Tensor val_idx = index_tensor(order, 0, static_cast<size_t>(n_val_));
    const torch::Tensor train_idx = index_tensor(order, static_cast<size_t>(n_val_), order.size());
    train_theta_ = data.theta.index_select(0, train_idx);
    train_x_ = data.x.index_select(0, train_idx);
    n_train_ = train_theta_.size(0);
    // This rank's share of the validation rows.
    std::tie(val_lo_, val_hi_) = my_slice(n_val_);
    const torch::Tensor my_val_idx = val_idx.slice(0, val_lo_, val_hi_);
    val_theta_ = data.theta.index_select(0, my_val_idx);
    val_x_ = data.x.index_select(0, my_val_idx);
  }

  std::string mode() const override { return "memory"; }
  int64_t train_rows() const override { return n_train_; }
  int64_t val_rows() const override { return n_val_; }
  int64_t dropped_rows() const override { return dropped_; }
  std::pair<torch::Tensor, torch::Tensor> standardization_rows() override { return {train_theta_, train_x_}; }
  int64_t steps(int64_t /*epoch*/, int64_t batch_size) const override {
    return (n_train_ + batch_size - 1) / batch_size;
  }
  int64_t epoch_rows(int64_t /*epoch*/, int64_t /*batch_size*/) const override { return n_train_; }

  void begin_epoch(int64_t epoch, int64_t first_step, int64_t batch_size) override {
    perm_ = permutation(n_train_, seed_, StreamPurpose::shuffle, 1 + static_cast<uint64_t>(epoch));
    batch_size_ = batch_size;
    next_begin_ = first_step * batch_size;
  }

  Batch next_batch() override {
    require(next_begin_ < n_train_, ErrorKind::internal, "InMemorySource: more batches asked for than the epoch has");
    Batch b;
    b.rows = std::min(batch_size_, n_train_ - next_begin_);
    std::tie(b.lo, b.hi) = my_slice(b.rows);
    if (b.hi > b.lo) {
      const torch::Tensor idx =
          index_tensor(perm_, static_cast<size_t>(next_begin_ + b.lo), static_cast<size_t>(next_begin_ + b.hi));
      b.theta = train_theta_.index_select(0, idx);
      b.x = train_x_.index_select(0, idx);
    }
    next_begin_ += batch_size_;
    return b;
  }

  void for_each_validation_piece(const std::function<void(const ValidationPiece&)>& f) override {
    if (val_hi_ == val_lo_) return;
    f({val_theta_, val_x_, 0, n_val_, val_lo_});
  }

  nlohmann::json fingerprint() const override { return fingerprint_; }

 private:
  uint64_t seed_;
  int64_t dropped_;
  nlohmann::json fingerprint_;
  torch::Tensor train_theta_, train_x_, val_theta_, val_x_;
  int64_t n_train_ = 0, n_val_ = 0, val_lo_ = 0, val_hi_ = 0;
  std::vector<int64_t> perm_;
  int64_t batch_size_ = 1, next_begin_ = 0;
};

}  // namespace

std::unique_ptr<TrainingSource> make_in_memory_source(TrainingData data, const std::string& store_path,
                                                      uint64_t seed, double validation_fraction) {
  return std::make_unique<InMemorySource>(std::move(data), store_path, seed, validation_fraction);
}

}  // namespace simbi::train
