// The streaming training source: each rank reads only its shard of the store, one window of chunks at
// a time, so memory per rank is bounded by the window, not the store.
//  - Units are the store's chunks (chunk_rows rows; their usable-row counts come from one pass over
//    /status). A seeded chunk permutation splits validation from training chunks.
//  - Epoch e: the training chunks in a seeded order, dealt round-robin to the ranks. Each rank reads
//    its chunks in windows of --stream-buffer-mb, shuffles each window's rows (seeded), and serves its
//    slice of every global batch from that stream. Every rank computes every rank's row count from the
//    chunk counts, so all agree on the number of steps (the smallest shard's) without communicating.
//  - A resume at step s re-creates the epoch's stream and skips s local batches (whole windows are
//    skipped by count, without reading).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "data_order.hpp"
#include "simbi/core/error.hpp"
#include "simbi/store/sim_store.hpp"
#include "simbi/train/checkpoint.hpp"
#include "simbi/train/training_source.hpp"

namespace simbi::train {

namespace {

using detail::permutation;
using detail::slice_of;

// Rows for the z-score statistics (and the data hash of the fingerprint) when streaming.
constexpr int64_t kStandardizationRows = int64_t{1} << 17;

class StreamingSource final : public TrainingSource {
 public:
  StreamingSource(const std::string& path, uint64_t seed, double validation_fraction, int64_t buffer_bytes)
      : path_(path), seed_(seed), store_(store::SimStore::open_read(path)) {
    const store::SimStoreMeta& m = store_.meta();
    chunk_ = m.chunk_rows;
    require(chunk_ > 0, ErrorKind::format, path + ": chunk_rows attribute is " + std::to_string(chunk_) + ", expected > 0");
    const int64_t n_chunks = (m.budget + chunk_ - 1) / chunk_;
    require(n_chunks >= 2, ErrorKind::invalid_argument,
            path + ": --data-loading stream needs a store of at least 2 chunks, this one has " +
                std::to_string(n_chunks) + " (" + std::to_string(m.budget) + " rows of " + std::to_string(chunk_) +
                "); use --data-loading memory");
    count_usable_rows(n_chunks);

    const std::vector<int64_t> order = permutation(n_chunks, seed, StreamPurpose::shuffle, 0);
    const int64_t n_val = detail::validation_count(n_chunks, validation_fraction);
    val_chunks_.assign(order.begin(), order.begin() + n_val);
    train_chunks_.assign(order.begin() + n_val, order.end());
    for (int64_t c : train_chunks_) n_train_ += usable_[static_cast<size_t>(c)];
    for (int64_t c : val_chunks_) n_val_ += usable_[static_cast<size_t>(c)];
    require(n_train_ > 0 && n_val_ > 0, ErrorKind::format,
            path + ": no usable rows to train on in " + (n_train_ == 0 ? "the training" : "the validation") +
                " chunks (" + std::to_string(n_train_ + n_val_) + " usable rows of " + std::to_string(m.budget) +
                "; finish the store with simulate --resume)");
    const int64_t row_bytes = 4 * (m.theta_dim + m.x_dim);
    window_chunks_ = std::max<int64_t>(1, buffer_bytes / std::max<int64_t>(1, chunk_ * row_bytes));

    // The standardization sample: training chunks in split order until ~130k rows (or one window).
    std::vector<int64_t> sample;
    for (int64_t rows = 0, i = 0; i < static_cast<int64_t>(train_chunks_.size()) &&
                                  rows < kStandardizationRows && i < std::max<int64_t>(1, window_chunks_);
         ++i) {
      sample.push_back(train_chunks_[static_cast<size_t>(i)]);
      rows += usable_[static_cast<size_t>(train_chunks_[static_cast<size_t>(i)])];
    }
    std::tie(std_theta_, std_x_) = read_chunks(sample, 0, sample.size());
    fingerprint_ = {{"store", path},
                    {"rows", n_train_ + n_val_},
                    {"dropped_rows", dropped_},
                    {"hash", hash_rows(std_theta_, std_x_)},
                    {"created", m.created},
                    {"loading", "stream"}};
  }

  std::string mode() const override { return "stream"; }
  int64_t train_rows() const override { return n_train_; }
  int64_t val_rows() const override { return n_val_; }
  int64_t dropped_rows() const override { return dropped_; }
  std::pair<torch::Tensor, torch::Tensor> standardization_rows() override { return {std_theta_, std_x_}; }

  int64_t steps(int64_t epoch, int64_t batch_size) const override {
    require(batch_size >= dist::size(), ErrorKind::invalid_argument,
            "--batch-size " + std::to_string(batch_size) + " is smaller than the number of ranks (" +
                std::to_string(dist::size()) + ")");
    const std::vector<int64_t> order = epoch_order(epoch);
    int64_t steps = std::numeric_limits<int64_t>::max();
    for (int64_t r = 0; r < dist::size(); ++r) {
      const auto [lo, hi] = slice_of(batch_size, r, dist::size());
      steps = std::min(steps, shard_rows(order, r) / (hi - lo));
    }
    return steps;
  }
  int64_t epoch_rows(int64_t epoch, int64_t batch_size) const override { return steps(epoch, batch_size) * batch_size; }

  void begin_epoch(int64_t epoch, int64_t first_step, int64_t batch_size) override {
    epoch_ = epoch;
    batch_size_ = batch_size;
    std::tie(lo_, hi_) = detail::my_slice(batch_size);
    const std::vector<int64_t> order = epoch_order(epoch);
    shard_.clear();
    for (size_t i = static_cast<size_t>(dist::rank()); i < order.size(); i += static_cast<size_t>(dist::size()))
      shard_.push_back(train_chunks_[static_cast<size_t>(order[i])]);
    // Skip the rows of the steps already done: whole windows by count, then into the window.
    int64_t skip = first_step * (hi_ - lo_);
    window_ = 0;
    while (window_ * window_chunks_ < static_cast<int64_t>(shard_.size()) && window_rows(window_) <= skip)
      skip -= window_rows(window_++);
    load_window();
    offset_ = skip;
  }

  Batch next_batch() override {
    Batch b;
    b.rows = batch_size_;
    b.lo = lo_;
    b.hi = hi_;
    std::vector<torch::Tensor> thetas, xs;
    for (int64_t need = hi_ - lo_; need > 0;) {
      if (offset_ == window_theta_.size(0)) {
        ++window_;
        require(window_ * window_chunks_ < static_cast<int64_t>(shard_.size()), ErrorKind::internal,
                "StreamingSource: the shard ran out of rows before the epoch's last step");
        // Copy the old window's rows out (less than a batch) so it is freed before the next is read.
        for (torch::Tensor& t : thetas) t = t.clone();
        for (torch::Tensor& t : xs) t = t.clone();
        load_window();
      }
      const int64_t take = std::min(need, window_theta_.size(0) - offset_);
      thetas.push_back(window_theta_.slice(0, offset_, offset_ + take));
      xs.push_back(window_x_.slice(0, offset_, offset_ + take));
      offset_ += take;
      need -= take;
    }
    b.theta = thetas.size() == 1 ? thetas[0] : torch::cat(thetas);
    b.x = xs.size() == 1 ? xs[0] : torch::cat(xs);
    return b;
  }

  void for_each_validation_piece(const std::function<void(const ValidationPiece&)>& f) override {
    for (size_t i = static_cast<size_t>(dist::rank()); i < val_chunks_.size(); i += static_cast<size_t>(dist::size())) {
      const int64_t chunk = val_chunks_[i];
      auto [theta, x] = read_chunks(val_chunks_, i, i + 1);
      if (theta.size(0) == 0) continue;
      // A fixed key per chunk, apart from the training steps' keys.
      f({theta, x, mix64(0x76616c6964ULL + static_cast<uint64_t>(chunk)), theta.size(0), 0});
    }
  }

  nlohmann::json fingerprint() const override { return fingerprint_; }

 private:
  // Usable rows (status ok) per chunk, from /status read about 1 MB at a time.
  void count_usable_rows(int64_t n_chunks) {
    const int64_t budget = store_.meta().budget;
    usable_.assign(static_cast<size_t>(n_chunks), 0);
    const int64_t piece = chunk_ * std::max<int64_t>(1, (int64_t{1} << 20) / chunk_);
    for (int64_t first = 0; first < budget; first += piece) {
      const std::vector<uint8_t> status = store_.read_status(first, std::min(piece, budget - first));
      for (size_t i = 0; i < status.size(); ++i)
        if (status[i] == store::kOk) ++usable_[static_cast<size_t>((first + static_cast<int64_t>(i)) / chunk_)];
    }
    dropped_ = budget - std::accumulate(usable_.begin(), usable_.end(), int64_t{0});
  }

  std::vector<int64_t> epoch_order(int64_t epoch) const {
    return permutation(static_cast<int64_t>(train_chunks_.size()), seed_, StreamPurpose::shuffle,
                       1 + static_cast<uint64_t>(epoch));
  }

  int64_t shard_rows(const std::vector<int64_t>& order, int64_t rank) const {
    int64_t rows = 0;
    for (size_t i = static_cast<size_t>(rank); i < order.size(); i += static_cast<size_t>(dist::size()))
      rows += usable_[static_cast<size_t>(train_chunks_[static_cast<size_t>(order[i])])];
    return rows;
  }

  int64_t window_rows(int64_t w) const {
    int64_t rows = 0;
    const size_t end = std::min(shard_.size(), static_cast<size_t>((w + 1) * window_chunks_));
    for (size_t i = static_cast<size_t>(w * window_chunks_); i < end; ++i) rows += usable_[static_cast<size_t>(shard_[i])];
    return rows;
  }

  // Window `window_` of this rank's shard, its rows in a seeded order (scattered straight into place,
  // so a window costs its own size once; the previous one is released first).
  void load_window() {
    const size_t begin = static_cast<size_t>(window_ * window_chunks_);
    const size_t end = std::min(shard_.size(), begin + static_cast<size_t>(window_chunks_));
    const uint64_t key = mix64(mix64(static_cast<uint64_t>(epoch_) + 1) + mix64(static_cast<uint64_t>(dist::rank()) + 1) +
                               static_cast<uint64_t>(window_));
    window_theta_ = window_x_ = torch::Tensor();
    std::tie(window_theta_, window_x_) = read_chunks(shard_, begin, end, key);
    offset_ = 0;
  }

  // The usable rows of chunks[begin, end): in that order, or (shuffle_key != 0) row i at position
  // perm[i] of a seeded permutation.
  std::pair<torch::Tensor, torch::Tensor> read_chunks(const std::vector<int64_t>& chunks, size_t begin, size_t end,
                                                      uint64_t shuffle_key = 0) {
    const store::SimStoreMeta& m = store_.meta();
    int64_t rows = 0;
    for (size_t i = begin; i < end; ++i) rows += usable_[static_cast<size_t>(chunks[i])];
    std::vector<int64_t> place;
    if (shuffle_key != 0) place = permutation(rows, seed_, StreamPurpose::shuffle, shuffle_key);
    torch::Tensor theta = torch::empty({rows, m.theta_dim}), x = torch::empty({rows, m.x_dim});
    float* t_out = theta.data_ptr<float>();
    float* x_out = x.data_ptr<float>();
    Matrix t_in, x_in;
    std::vector<uint8_t> status;
    int64_t row = 0;
    for (size_t i = begin; i < end; ++i) {
      const int64_t first = chunks[i] * chunk_;
      store_.read_rows(first, std::min(chunk_, m.budget - first), t_in, x_in, status);
      for (int64_t r = 0; r < t_in.rows(); ++r) {
        if (status[static_cast<size_t>(r)] != store::kOk) continue;
        require(row < rows, ErrorKind::format, path_ + ": /status changed while training read it");
        const float* t_row = t_in.data() + r * m.theta_dim;
        const float* x_row = x_in.data() + r * m.x_dim;
        const bool finite = std::all_of(t_row, t_row + m.theta_dim, [](float v) { return std::isfinite(v); }) &&
                            std::all_of(x_row, x_row + m.x_dim, [](float v) { return std::isfinite(v); });
        require(finite, ErrorKind::format,
                path_ + ": row " + std::to_string(first + r) +
                    " has status ok but a non-finite value (a foreign or edited store?); fix it or use "
                    "--data-loading memory, which drops such rows");
        const int64_t to = place.empty() ? row : place[static_cast<size_t>(row)];
        std::copy(t_row, t_row + m.theta_dim, t_out + to * m.theta_dim);
        std::copy(x_row, x_row + m.x_dim, x_out + to * m.x_dim);
        ++row;
      }
    }
    require(row == rows, ErrorKind::format, path_ + ": /status changed while training read it");
    return {theta, x};
  }

  std::string path_;
  uint64_t seed_;
  store::SimStore store_;
  int64_t chunk_ = 0, window_chunks_ = 1;
  std::vector<int64_t> usable_;  // usable rows per chunk
  std::vector<int64_t> train_chunks_, val_chunks_;
  int64_t n_train_ = 0, n_val_ = 0, dropped_ = 0;
  torch::Tensor std_theta_, std_x_;
  nlohmann::json fingerprint_;
  // The epoch in progress on this rank.
  int64_t epoch_ = 0, batch_size_ = 1, lo_ = 0, hi_ = 0;
  std::vector<int64_t> shard_;
  int64_t window_ = 0, offset_ = 0;
  torch::Tensor window_theta_, window_x_;
};

}  // namespace

std::unique_ptr<TrainingSource> make_streaming_source(const std::string& store_path, uint64_t seed,
                                                      double validation_fraction, int64_t buffer_bytes) {
  return std::make_unique<StreamingSource>(store_path, seed, validation_fraction, buffer_bytes);
}

}  // namespace simbi::train
