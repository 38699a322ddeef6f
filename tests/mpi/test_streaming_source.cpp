// The streaming training source under 2 ranks, on a real store: one epoch gives every rank disjoint
// training rows (no row twice, none from the validation chunks), every rank's batch slice has its
// size, a resume at step s continues the same stream, and epochs differ while a seed repeats.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <set>
#include <utility>

#include "simbi/dist/world.hpp"
#include "simbi/store/simulation_run.hpp"
#include "simbi/train/training_source.hpp"

namespace simbi::train {
namespace {

constexpr int64_t kBudget = 5000, kChunk = 100, kBatch = 64;
constexpr uint64_t kSeed = 11;
// Four chunks of two_moons rows (θ and x: 16 bytes a row) per window: an epoch spans several windows.
constexpr int64_t kBuffer = 4 * kChunk * 16;

const std::string& store_path() {
  static const std::string path = [] {
    std::string dir;
    if (dist::is_root()) {
      std::string tmpl = (std::filesystem::temp_directory_path() / "simbi_stream_test_XXXXXX").string();
      dir = mkdtemp(tmpl.data());
    }
    dist::broadcast(dir);
    sim::Task task = sim::make_task("two_moons");
    store::SimulationOptions o;
    o.out = dir + "/sims.h5";
    o.budget = kBudget;
    o.seed = 5;
    o.chunk_rows = kChunk;
    store::run_simulation(o, task);
    return o.out;
  }();
  return path;
}

// A row's identity: the bytes of its θ (two uniform floats: distinct across 5000 draws).
using RowKey = std::pair<float, float>;

std::string keys_of(const torch::Tensor& theta) {
  const torch::Tensor c = theta.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel()) * sizeof(float));
}

std::vector<RowKey> decode(const std::string& bytes) {
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), bytes.size());
  std::vector<RowKey> keys;
  for (size_t i = 0; i + 1 < v.size(); i += 2) keys.emplace_back(v[i], v[i + 1]);
  return keys;
}

// Rows of all ranks (on rank 0; empty elsewhere).
std::vector<RowKey> gather_rows(const std::string& mine) {
  std::vector<RowKey> all;
  for (const std::string& part : dist::gather(mine))
    for (const RowKey& k : decode(part)) all.push_back(k);
  return all;
}

TEST(StreamingSource, AnEpochDealsDisjointTrainingRowsAndNeverAValidationRow) {
  auto source = make_streaming_source(store_path(), kSeed, 0.1, kBuffer);
  EXPECT_EQ(source->train_rows(), 4500);  // 45 of 50 chunks
  EXPECT_EQ(source->val_rows(), 500);
  EXPECT_EQ(source->dropped_rows(), 0);
  const int64_t steps = source->steps(0, kBatch);
  // 45 chunks dealt round-robin: 23 and 22 chunks, 32 rows per step each: the smaller shard decides.
  EXPECT_EQ(steps, 2200 / 32);
  EXPECT_EQ(source->epoch_rows(0, kBatch), steps * kBatch);

  source->begin_epoch(0, 0, kBatch);
  std::string train;
  for (int64_t s = 0; s < steps; ++s) {
    const Batch b = source->next_batch();
    ASSERT_EQ(b.rows, kBatch);
    ASSERT_EQ(b.hi - b.lo, kBatch / 2);
    ASSERT_EQ(b.lo, dist::rank() * kBatch / 2);
    ASSERT_EQ(b.theta.size(0), kBatch / 2);
    ASSERT_EQ(b.x.size(0), kBatch / 2);
    train += keys_of(b.theta);
  }
  std::string val;
  int64_t pieces = 0;
  source->for_each_validation_piece([&](const ValidationPiece& v) {
    EXPECT_EQ(v.noise_rows, v.theta.size(0));
    val += keys_of(v.theta);
    ++pieces;
  });
  EXPECT_EQ(pieces, dist::rank() == 0 ? 3 : 2);  // 5 validation chunks, round-robin
  const std::vector<RowKey> train_rows = gather_rows(train), val_rows = gather_rows(val);
  if (dist::is_root()) {
    const std::set<RowKey> train_set(train_rows.begin(), train_rows.end()), val_set(val_rows.begin(), val_rows.end());
    EXPECT_EQ(static_cast<int64_t>(train_set.size()), steps * kBatch) << "a training row came twice in one epoch";
    EXPECT_EQ(static_cast<int64_t>(val_set.size()), 500);
    for (const RowKey& k : train_rows) ASSERT_EQ(val_set.count(k), 0u) << "a validation row was trained on";
  }
}

TEST(StreamingSource, ResumeAtAStepContinuesTheSameStream) {
  auto whole = make_streaming_source(store_path(), kSeed, 0.1, kBuffer);
  auto resumed = make_streaming_source(store_path(), kSeed, 0.1, kBuffer);
  const int64_t epoch = 3, first = 29;  // step 29 is inside the third window
  whole->begin_epoch(epoch, 0, kBatch);
  for (int64_t s = 0; s < first; ++s) whole->next_batch();
  resumed->begin_epoch(epoch, first, kBatch);
  for (int64_t s = first; s < whole->steps(epoch, kBatch); ++s) {
    const Batch a = whole->next_batch(), b = resumed->next_batch();
    ASSERT_TRUE(torch::equal(a.theta, b.theta)) << "step " << s;
    ASSERT_TRUE(torch::equal(a.x, b.x)) << "step " << s;
  }
}

TEST(StreamingSource, EpochsDifferAndASeedRepeats) {
  auto a = make_streaming_source(store_path(), kSeed, 0.1, kBuffer);
  auto b = make_streaming_source(store_path(), kSeed, 0.1, kBuffer);
  auto other_seed = make_streaming_source(store_path(), kSeed + 1, 0.1, kBuffer);
  a->begin_epoch(0, 0, kBatch);
  b->begin_epoch(0, 0, kBatch);
  const Batch first = a->next_batch();
  EXPECT_TRUE(torch::equal(first.theta, b->next_batch().theta));
  a->begin_epoch(1, 0, kBatch);
  EXPECT_FALSE(torch::equal(first.theta, a->next_batch().theta));
  other_seed->begin_epoch(0, 0, kBatch);
  EXPECT_FALSE(torch::equal(first.theta, other_seed->next_batch().theta));
  // The standardization rows are the same on every rank.
  const std::vector<std::string> sample = dist::gather(keys_of(a->standardization_rows().first));
  if (dist::is_root()) EXPECT_EQ(sample[0], sample[1]);
}

TEST(StreamingSource, AStoreOfOneChunkIsAClearError) {
  try {
    make_streaming_source(store_path(), kSeed, 0.1, kBuffer);  // fine
    sim::Task task = sim::make_task("two_moons");
    store::SimulationOptions o;
    o.out = store_path() + ".one_chunk.h5";
    o.budget = 50;
    o.chunk_rows = 100;
    store::run_simulation(o, task);
    make_streaming_source(o.out, kSeed, 0.1, kBuffer);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs a store of at least 2 chunks"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace simbi::train
